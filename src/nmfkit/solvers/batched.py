r"""Batched restarts: R runs of one problem ``X ≈ W_r H_r`` in one computation.

The expensive part of an NMF iteration is reading ``X`` for the products
``X H_rᵀ`` and ``Xᵀ W_r``. Here the R factors are stacked so that one product
serves every restart:

.. math::
    X \,[H_1; \dots; H_R]^\top \in \mathbb{R}^{m \times Rk}, \qquad
    X^\top [W_1, \dots, W_R] \in \mathbb{R}^{n \times Rk},

one GEMM per half-iteration instead of R (a wide GEMM also runs closer to peak
than R thin ones). The cheap parts are vectorised over the restart axis: factors
live as stacks ``Wt (R, k, m)`` / ``H (R, k, n)`` with Grams ``(R, k, k)``, and the
HALS coordinate sweeps loop over the k components only (batched ``matmul``, which
``torch`` tensors support as well as NumPy arrays).

Algorithms (each restart follows the sequential solver step for step, so the
batched and one-after-another results agree to rounding):

- ``"hals"`` (Frobenius): :class:`~nmfkit.solvers.hals.HALSStep` with its
  Gillis-Glineur inner sweeps; the inner stopping rule is applied per restart.
- ``"mu"`` with β = 2: multiplicative updates on stacked products.
- ``"mu"`` with any other β: the ``(X / W_r H_r)``-type products are different for
  every restart, so these run restart by restart (no saving over sequential runs;
  kept so that every loss has a batched path).

Stopping is per restart, as in :func:`nmfkit.solvers.run`: a restart whose relative
decrease fell below ``tol`` (or whose loss became non-finite) is **frozen** at that
iteration and leaves the batch; the others go on. ``max_time`` stops all of them.
No element weights (missing values) and no penalties.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import List, Optional

import numpy as np

from ..backends import single_threaded_blas
from ..losses import EPSILON, Target, beta_divergence
from .mu import mu_update_left

__all__ = ["BatchedOutcome", "run_batched"]


@dataclass
class BatchedOutcome:
    """Per-restart results of :func:`run_batched` (lists indexed by restart)."""

    W: list
    H: list
    loss: np.ndarray
    loss_history: List[tuple]
    loss_iters: List[tuple]
    n_iter: np.ndarray
    converged: np.ndarray
    stop_reason: List[str]
    elapsed: float


def _swap(a):
    """Swap the last two axes (NumPy and torch)."""
    return a.swapaxes(-1, -2)


def _take(a, idx, full: bool):
    return a if full else a[idx]


def _put(a, idx, sub, full: bool):
    if not full:
        a[idx] = sub


def _stacked_right(X, B):
    """``X @ B_rᵀ`` for every r as one GEMM: B (R, k, n) -> (R, k, m), C-contiguous."""
    R, k, n = B.shape
    P = X @ _swap(B.reshape(R * k, n))  # (m, R k)
    return _contig(P.T.reshape(R, k, -1))


def _contig(a):
    if isinstance(a, np.ndarray):
        return np.ascontiguousarray(a)
    return a.contiguous()


def _frob_losses(norm2, AtX, B, AtA, BBt):
    """Batched :func:`~nmfkit.losses.frobenius_from_products`, as a NumPy vector."""
    val = norm2 - 2.0 * (AtX * B).sum((1, 2)) + (AtA * BBt).sum((1, 2))
    val = np.asarray(val.cpu() if hasattr(val, "cpu") else val, dtype=np.float64)
    return 0.5 * np.maximum(val, 0.0)


def _sweeps(At, Rm, G, max_sweeps: int, inner_tol: float):
    """HALS sweeps on every restart of the stacks ``At (R, k, m)`` (in place).

    Restart r leaves the sweeps when its change falls below ``inner_tol²`` times its
    first change, exactly as :func:`~nmfkit.solvers.hals.hals_sweeps` does alone.
    """
    nR, k, _ = At.shape
    d = np.asarray(G.diagonal(0, 1, 2).cpu() if hasattr(G, "cpu") else G.diagonal(0, 1, 2),
                   dtype=np.float64)  # (R, k)
    active = np.arange(nR)
    first = None
    for sweep in range(1, max_sweeps + 1):
        full = active.size == nR
        A = _take(At, active, full)
        Rs, Gs = _take(Rm, active, full), _take(G, active, full)
        da = d[active]
        prev = A.copy() if max_sweeps > 1 and isinstance(A, np.ndarray) else (
            A.clone() if max_sweeps > 1 else None)
        for j in range(k):
            dj = da[:, j]
            ok = dj > 0
            if not ok.any():
                continue
            # a restart with G_jj <= 0 skips component j (division by inf adds 0)
            dj = np.where(ok, dj, np.inf)
            if isinstance(A, np.ndarray):
                dj = dj.astype(A.dtype)
            else:
                dj = A.new_tensor(dj)
            g = Rs[:, j, :] - (Gs[:, j : j + 1, :] @ A)[:, 0, :]
            row = A[:, j, :]
            row += g / dj[:, None]
            if isinstance(row, np.ndarray):
                np.maximum(row, 0.0, out=row)
            else:
                row.clamp_(min=0.0)
        _put(At, active, A, full)
        if max_sweeps == 1:
            break
        diff = A - prev
        change = (diff * diff).sum((1, 2))
        change = np.asarray(change.cpu() if hasattr(change, "cpu") else change, dtype=np.float64)
        if first is None:
            first = change
            continue
        keep = ~(change <= inner_tol * inner_tol * first)
        active, first = active[keep], first[keep]
        if active.size == 0:
            break


class _HALS:
    """State: ``Wt (R, k, m)``, ``H (R, k, n)``; see :class:`~nmfkit.solvers.hals.HALSStep`."""

    returns_loss = True

    def __init__(self, t: Target, Ws, Hs, inner_alpha=0.5, inner_tol=0.1, max_inner=20):
        self.t = t
        xp = _xp(Ws[0])
        self.Wt = _contig(xp.stack([_swap(W) for W in Ws]))
        self.H = _contig(xp.stack(list(Hs)))
        m, n = t.shape
        k = self.H.shape[1]

        def budget(r, c):
            rho = 1.0 + c / (k + 1.0) + c / max(r, 1)
            return max(1, min(max_inner, 1 + int(inner_alpha * rho)))

        self.budget_W, self.budget_H = budget(m, n), budget(n, m)
        self.inner_tol = inner_tol
        self.eps = t.backend.eps(t.X.dtype)

    def factors(self, r):
        return self.Wt[r].T, self.H[r]

    def initial_losses(self):
        """All starting objectives from one stacked product (one pass over X)."""
        t, Wt, H = self.t, self.Wt, self.H
        losses = _frob_losses(t.norm2, _stacked_right(t.X, H), Wt, Wt @ _swap(Wt), H @ _swap(H))
        for i in np.flatnonzero(losses < 1e3 * self.eps * t.norm2):
            losses[i] = beta_divergence(t, Wt[i].T, H[i], 2.0)
        return losses

    def step(self, idx, full, want_loss):
        t = self.t
        Wt, H = _take(self.Wt, idx, full), _take(self.H, idx, full)
        Rw = _stacked_right(t.X, H)
        with single_threaded_blas():
            _sweeps(Wt, Rw, H @ _swap(H), self.budget_W, self.inner_tol)
        Rh = _stacked_right(t.X.T, Wt)
        Gw = Wt @ _swap(Wt)
        with single_threaded_blas():
            _sweeps(H, Rh, Gw, self.budget_H, self.inner_tol)
        _put(self.Wt, idx, Wt, full)
        _put(self.H, idx, H, full)
        losses = _frob_losses(t.norm2, Rh, H, Gw, H @ _swap(H))
        for i in np.flatnonzero(losses < 1e3 * self.eps * t.norm2):
            # near-exact fit: the product formula cancels; evaluate the residual directly
            losses[i] = beta_divergence(t, Wt[i].T, H[i], 2.0)
        return losses


def _clone(a):
    return a.copy() if isinstance(a, np.ndarray) else a.clone()


def _column(v, like):
    """A per-restart vector as an (R, 1, 1) array of ``like``'s kind and dtype."""
    if isinstance(like, np.ndarray):
        return v.astype(like.dtype)[:, None, None]
    return like.new_tensor(v)[:, None, None]


class _Extrapolated:
    """Safeguarded extrapolation per restart around a state that returns losses.

    The batched form of :class:`~nmfkit.solvers.accelerate.Extrapolated`: each restart
    has its own β; a restart whose extrapolated step did not lower its objective is put
    back where it was (``no_progress``: no loss recorded, no convergence test) and takes
    a plain step with the next batch, exactly as the sequential wrapper does.
    """

    returns_loss = True

    def __init__(self, inner, beta0=0.25, eta=3.0, gamma=1.2, gamma_bar=1.1):
        self.inner = inner
        nR = inner.H.shape[0]
        self.beta = np.full(nR, beta0)
        self.beta_bar = np.ones(nR)
        self.eta, self.gamma, self.gamma_bar = eta, gamma, gamma_bar
        self.prev = None
        self.loss = None
        self.no_progress = np.zeros(nR, dtype=bool)
        self.after_reject = np.zeros(nR, dtype=bool)
        self.n_steps = np.zeros(nR, dtype=int)
        self.n_failed = np.zeros(nR, dtype=int)

    def factors(self, r):
        return self.inner.factors(r)

    def initial_losses(self):
        self.loss = np.asarray(self.inner.initial_losses(), dtype=np.float64)
        return self.loss.copy()

    def _extrapolated(self, cur, prev, beta):
        out = cur - prev
        out *= _column(beta, cur)
        out += cur
        if isinstance(out, np.ndarray):
            return np.maximum(out, 0.0, out=out)
        return out.clamp_(min=0.0)

    def step(self, idx, full, want_loss):
        inner = self.inner
        self.n_steps[idx] += 1
        if self.prev is None:
            self.prev = (_clone(inner.Wt), _clone(inner.H))
            self.no_progress = np.zeros(idx.size, dtype=bool)
            L = np.asarray(inner.step(idx, full, True), dtype=np.float64)
            self.loss[idx] = L
            return L
        beta = self.beta[idx]
        if full:  # swap buffers instead of copying the stacks
            Wc, Hc = inner.Wt, inner.H
            inner.Wt = self._extrapolated(Wc, self.prev[0], beta)
            inner.H = self._extrapolated(Hc, self.prev[1], beta)
            L = np.asarray(inner.step(idx, full, True), dtype=np.float64)
            self.prev = (Wc, Hc)
        else:
            Wc, Hc = _clone(inner.Wt[idx]), _clone(inner.H[idx])
            inner.Wt[idx] = self._extrapolated(Wc, self.prev[0][idx], beta)
            inner.H[idx] = self._extrapolated(Hc, self.prev[1][idx], beta)
            L = np.asarray(inner.step(idx, full, True), dtype=np.float64)
            self.prev[0][idx] = Wc
            self.prev[1][idx] = Hc
        ok = L <= self.loss[idx]
        bad = idx[~ok]
        grow = idx[ok & ~self.after_reject[idx]]  # the plain step after a rejection keeps β
        self.beta_bar[grow] = np.minimum(1.0, self.gamma_bar * self.beta_bar[grow])
        self.beta[grow] = np.minimum(self.beta_bar[grow], self.gamma * self.beta[grow])
        self.after_reject[idx] = ~ok
        self.no_progress = ~ok
        if bad.size:
            # rejected: back to the current point; prev = it, so the next step is plain
            self.n_failed[bad] += 1
            self.beta_bar[bad] = self.beta[bad]
            self.beta[bad] = self.beta[bad] / self.eta
            keep = bad if full else np.flatnonzero(~ok)
            inner.Wt[bad] = Wc[keep]
            inner.H[bad] = Hc[keep]
            L[~ok] = self.loss[bad]
        self.loss[idx] = L
        return L


class _MUFrobenius:
    """State: ``W (R, m, k)``, ``H (R, k, n)``; see :class:`~nmfkit.solvers.mu.MUStep` (β = 2)."""

    returns_loss = False

    def __init__(self, t: Target, Ws, Hs):
        self.t = t
        xp = _xp(Ws[0])
        self.W = _contig(xp.stack(list(Ws)))
        self.H = _contig(xp.stack(list(Hs)))
        self.eps = t.backend.eps(t.X.dtype)

    def factors(self, r):
        return self.W[r], self.H[r]

    def step(self, idx, full, want_loss):
        t = self.t
        W, H = _take(self.W, idx, full), _take(self.H, idx, full)
        nR, m, k = W.shape
        N = _swap(_stacked_right(t.X, H))  # (R, m, k)
        P = W @ (H @ _swap(H))
        W *= N / _where0(P)
        WtW = _swap(W) @ W
        Wt = _contig(_swap(W))
        Nh = _swap(_stacked_right(t.X.T, Wt))  # (R, n, k) = Xᵀ W_r
        Ph = _swap(H) @ WtW
        Ht = _swap(H)
        Ht *= Nh / _where0(Ph)
        _put(self.W, idx, W, full)
        _put(self.H, idx, H, full)
        if not want_loss:
            return None
        losses = _frob_losses(t.norm2, _swap(Nh), H, WtW, H @ _swap(H))
        for i in np.flatnonzero(losses < 1e3 * self.eps * t.norm2):
            losses[i] = beta_divergence(t, W[i], H[i], 2.0)
        return losses


def _where0(P):
    if isinstance(P, np.ndarray):
        return np.where(P == 0, EPSILON, P)
    return P.masked_fill(P == 0, EPSILON)


class _MUBeta:
    """Any β: restart by restart (its products depend on ``W_r H_r``)."""

    returns_loss = False

    def __init__(self, t: Target, Ws, Hs, beta: float):
        self.t, self.beta = t, beta
        self.W = [t.backend.copy(W) for W in Ws]
        self.H = [t.backend.copy(H) for H in Hs]

    def factors(self, r):
        return self.W[r], self.H[r]

    def step(self, idx, full, want_loss):
        t, beta = self.t, self.beta
        losses = []
        for r in idx:
            W = mu_update_left(t, self.W[r], self.H[r], beta)
            Ht = mu_update_left(t.T, self.H[r].T, W.T, beta)
            self.W[r], self.H[r] = W, Ht.T
            if want_loss:
                losses.append(beta_divergence(t, W, self.H[r], beta))
        return np.array(losses) if want_loss else None


def _xp(a):
    if isinstance(a, np.ndarray):
        return np
    import torch

    return torch


def run_batched(target: Target, W0s, H0s, *, beta: float, solver: str, max_iter: int = 200,
                tol: float = 1e-4, max_time: Optional[float] = None,
                loss_every: Optional[int] = None, verbose: int = 0,
                accelerate: bool = False) -> BatchedOutcome:
    """Run R restarts of ``X ≈ W H`` from the starts ``(W0s[r], H0s[r])`` together.

    Parameters
    ----------
    target : Target
        The data term; no element weights.
    W0s, H0s : sequences of R arrays, shapes (m, k) and (k, n)
    beta : float
    solver : {"hals", "mu"}
    max_iter, tol, max_time
        As in :class:`~nmfkit.solvers.LoopOptions`, applied per restart (a converged
        restart is frozen); ``max_time`` bounds the whole batch.
    loss_every : int, optional
        Iterations between loss checks (default 1 for HALS, 10 for MU, as ``nmf``).
    accelerate : bool
        Safeguarded extrapolation per restart (HALS only), as ``nmf(accelerate=True)``.

    Returns
    -------
    BatchedOutcome
    """
    if target.M is not None:
        raise ValueError("batched restarts take no element weights")
    if solver == "hals" and beta != 2:
        raise ValueError("HALS minimises the Frobenius loss only")
    nR = len(W0s)
    if loss_every is None:
        loss_every = 1 if solver == "hals" else 10
    start = time.perf_counter()
    if solver == "hals":
        state = _HALS(target, W0s, H0s)
        if accelerate:
            state = _Extrapolated(state)
    elif beta == 2:
        state = _MUFrobenius(target, W0s, H0s)
    else:
        state = _MUBeta(target, W0s, H0s, beta)

    def objective(r):
        W, H = state.factors(r)
        return beta_divergence(target, W, H, beta)

    if hasattr(state, "initial_losses"):
        hist = [[float(v)] for v in state.initial_losses()]
    else:
        hist = [[objective(r)] for r in range(nR)]
    iters = [[0] for _ in range(nR)]
    last = np.array([h[0] for h in hist])
    active = np.ones(nR, dtype=bool)
    n_iter = np.zeros(nR, dtype=int)
    stale = np.zeros(nR, dtype=bool)  # last iteration was a rejected extrapolation
    reason = ["max_iter"] * nR
    bar = None
    if verbose:
        from tqdm.auto import tqdm

        bar = tqdm(total=max_iter, desc=f"restarts[{solver}]x{nR}", disable=None, leave=False)
    try:
        for it in range(1, max_iter + 1):
            idx = np.flatnonzero(active)
            if idx.size == 0:
                break
            check = it % loss_every == 0 or it == max_iter
            losses = state.step(idx, idx.size == nR, check)
            n_iter[idx] = it
            skip = getattr(state, "no_progress", None)
            for pos, r in enumerate(idx):
                # a rejected extrapolation hands back the previous point: nothing to record
                stale[r] = skip is not None and bool(skip[pos])
                if (losses is None and not check) or stale[r]:
                    continue
                loss = float(losses[pos])
                hist[r].append(loss)
                iters[r].append(it)
                if not math.isfinite(loss):
                    reason[r], active[r] = "nonfinite", False
                    continue
                if check and tol > 0:
                    decrease = (last[r] - loss) / max(abs(last[r]), 1e-300)
                    if decrease < tol:
                        reason[r], active[r] = "tol", False
                        continue
                if check:
                    last[r] = loss
            if bar is not None:
                bar.update(1)
            if max_time is not None and time.perf_counter() - start >= max_time:
                for r in np.flatnonzero(active):
                    reason[r] = "max_time"
                active[:] = False
                break
    finally:
        if bar is not None:
            bar.close()
    for r in range(nR):
        if iters[r][-1] != n_iter[r] and n_iter[r] > 0 and not stale[r]:
            hist[r].append(objective(r))
            iters[r].append(int(n_iter[r]))
    Ws, Hs = [], []
    for r in range(nR):
        W, H = state.factors(r)
        Ws.append(target.backend.contiguous(W))
        Hs.append(target.backend.contiguous(H))
    return BatchedOutcome(
        W=Ws, H=Hs, loss=np.array([h[-1] for h in hist]),
        loss_history=[tuple(h) for h in hist], loss_iters=[tuple(i) for i in iters],
        n_iter=n_iter, converged=np.array([s == "tol" for s in reason]), stop_reason=reason,
        elapsed=time.perf_counter() - start,
    )
