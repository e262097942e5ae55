r"""Update steps of background-contrastive NMF (full batch and mini-batch).

The problem (see :mod:`nmfkit.models.contrastive` for the model-level account):
a target ``X`` (n_X × m) and a background ``Y`` (n_Y × m) share the basis ``H``
(k × m, rows summing to one); ``W_X`` and ``W_Y`` are their codes. The objective is

.. math::
    L = \frac{D(X \mid W_X H)}{E_X} - \alpha\,\frac{D(Y \mid W_Y H)}{E_Y}

with ``D`` the Frobenius (½‖·‖², β = 2) or KL (β = 1) divergence over observed
entries and ``E`` each term's normaliser (``½ Σ M X²`` for Frobenius, ``Σ M X``
for KL). One outer iteration is

1. **basis**: a multiplicative step ``H ← H ⊙ (N_X/E_X + α P_Y/E_Y) / (P_X/E_X + α N_Y/E_Y)``
   with ``(P, N)`` the positive / negative parts of each term's gradient (the formulas
   of :func:`nmfkit.losses.grad_parts`, e.g. ``P = Wᵀ W H``, ``N = Wᵀ X`` for Frobenius);
   the background term has weight ``−α`` so its
   parts swap. With the codes fixed this is a majorise-minimise step: the concave
   ``−α D_Y`` is majorised by its tangent, whose positive linear part is bounded by
   ``h ≤ (h²/h₀ + h₀)/2`` (Frobenius) and negative part by ``−h ≤ −h₀ − h₀ log(h/h₀)``
   (KL), which gives exactly this update;
2. **gauge**: each row of ``H`` is scaled to sum to one (the scale moves into both
   code matrices, ``W H`` unchanged) and floored at ``basis_floor``;
3. **codes**: for ``W_X`` and ``W_Y``, ``inner`` multiplicative steps of their own
   divergence, each followed by the optimal per-sample scale
   ``c_i = argmin_c D(x_i | c ŵ_i H)`` (``⟨x, ŷ⟩/‖ŷ‖²`` for Frobenius,
   ``Σx/Σŷ`` for KL). Both lower the divergence, so the background codes track the
   best fit ``argmin_{W_Y} D(Y | W_Y H)``.

The per-sample scale is what keeps the objective bounded (proof in
:mod:`nmfkit.models.contrastive`). Mini-batch epochs run the same three steps on
matching sample batches of both datasets, with the basis parts of each batch
scaled up to the full data (``n / |batch|``) so the step sizes match full batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..losses import EPSILON, Target, beta_divergence, frobenius_from_products, grad_parts

__all__ = ["ContrastiveProblem", "ContrastiveStep", "MiniBatchContrastiveStep", "normaliser"]


def normaliser(t: Target, beta: float) -> float:
    """``E``: the divergence of the zero model for Frobenius (``½ Σ M X²``), ``Σ M X`` for KL."""
    b = t.backend
    if beta == 2:
        return 0.5 * t.norm2
    if t.sparse:
        return float(t.info.data.sum())
    return float(b.item(b.sum(t.MX)))


def _row_sums(t: Target):
    """``Σ_f M_if X_if`` per sample (cached on the term)."""
    cached = getattr(t, "_row_sums", None)
    if cached is None:
        b = t.backend
        if t.sparse:
            cached = b.asarray(np.asarray(t.X.sum(axis=1)).ravel())
        else:
            cached = b.sum(t.MX, axis=1)
        t._row_sums = cached
    return cached


@dataclass
class ContrastiveProblem:
    """Both data terms of one fit and the constants of the guard.

    Attributes
    ----------
    X, Y : Target
        Target and background terms (element weights 0 on missing entries).
    alpha, beta : float
    E_X, E_Y : float
        Normalisers of the two terms (:func:`normaliser`).
    basis_floor : float
        Lower bound of every basis entry (rows of ``H`` sum to one).
    floor_X, floor_Y : float
        Lower bound of code entries (``1e-12`` × the mean row total of the data), so
        that no code decays into float32 subnormals.
    inner : int
        Code steps per outer iteration.
    n_fixed : int
        Leading rows of ``H`` held fixed (the background programs learned beforehand,
        see ``n_background_components`` of :class:`nmfkit.ContrastiveNMF`); only the
        rows after them are updated.
    """

    X: Target
    Y: Target
    alpha: float
    beta: float
    E_X: float
    E_Y: float
    basis_floor: float
    floor_X: float
    floor_Y: float
    inner: int = 1
    n_fixed: int = 0
    size: float = 1.0  # D_X/E_X at the last evaluation (see tol_scale)

    @classmethod
    def build(cls, X: Target, Y: Target, alpha: float, beta: float, basis_floor: float,
              inner: int = 1, n_fixed: int = 0) -> "ContrastiveProblem":
        E_X, E_Y = normaliser(X, beta), normaliser(Y, beta)
        fX = 1e-12 * _mean_row_total(X)
        fY = 1e-12 * _mean_row_total(Y)
        return cls(X, Y, float(alpha), float(beta), E_X, E_Y, float(basis_floor), fX, fY,
                   int(inner), int(n_fixed))

    def update_basis(self, H, parts_X, parts_Y):
        """The basis step (:func:`basis_update`) on the free rows; fixed rows kept."""
        H_new = basis_update(H, parts_X, parts_Y, self.alpha, self.backend)
        if self.n_fixed:
            H_new[: self.n_fixed] = H[: self.n_fixed]
        return H_new

    @property
    def backend(self):
        return self.X.backend

    def terms(self, W_X, W_Y, H) -> tuple[float, float]:
        """The normalised divergences ``(D_X/E_X, D_Y/E_Y)``."""
        return (beta_divergence(self.X, W_X, H, self.beta) / self.E_X,
                beta_divergence(self.Y, W_Y, H, self.beta) / self.E_Y)

    def objective(self, W, H) -> float:
        """``L = D_X/E_X − α D_Y/E_Y`` at codes ``W = (W_X, W_Y)`` and basis ``H``."""
        dX, dY = self.terms(W[0], W[1], H)
        self.size = dX
        return dX - self.alpha * dY

    def tol_scale(self) -> float:
        """The target term ``D_X/E_X`` at the last evaluation.

        The stopping rule measures changes of ``L`` relative to it: ``L`` itself is a
        difference that can sit near 0 (background programs make the two terms close).
        """
        return self.size


def _mean_row_total(t: Target) -> float:
    b = t.backend
    total = float(t.info.data.sum()) if t.sparse else float(b.item(b.sum(t.MX)))
    return max(total / t.shape[0], 1e-300)


def _tiny(b, dtype) -> float:
    return float(np.finfo(np.float32).tiny) if b.eps(dtype) > 1e-10 else 1e-300


# -- codes ---------------------------------------------------------------------------------
def code_step(t: Target, W, H, beta: float, floor: float, inner: int, want_loss: bool = False):
    """``inner`` MU steps of ``D(X | W H)`` in ``W``, each followed by the optimal row scale.

    Returns ``(W, D)`` with ``D`` the divergence at the new codes when it came for free
    (Frobenius without element weights), else ``None``.
    """
    b = t.backend
    tiny = _tiny(b, W.dtype)
    if beta == 2 and t.M is None:
        AHt = t.X @ H.T  # (n, k); dense or sparse X
        G = H @ H.T
        for _ in range(inner):
            W = W * (AHt / b.clamp_min(W @ G, tiny))
            W = b.clamp_min_(W, floor)
            WG = W @ G
            num = b.sum(W * AHt, axis=1)
            den = b.sum(WG * W, axis=1)
            W = W * _scale(b, num, den)[:, None]
        if not want_loss:
            return W, None
        D = frobenius_from_products(t.norm2, AHt.T, W.T, W.T @ W, G, b)
        if D <= 1e3 * b.eps(W.dtype) * t.norm2:  # near-exact fit: avoid cancellation
            D = beta_divergence(t, W, H, beta)
        return W, D
    for _ in range(inner):
        P, N = grad_parts(t, W, H, beta)
        W = W * (N / b.clamp_min(P, tiny))
        W = b.clamp_min_(W, floor)
        W = W * _row_scale(t, W, H, beta, P if beta == 1 else None)[:, None]
    return W, None


def _scale(b, num, den):
    ok = den > 0
    return b.where(ok, num / b.where(ok, den, b.ones(den.shape, den.dtype)),
                   b.ones(den.shape, den.dtype))


def _row_scale(t: Target, W, H, beta: float, P=None):
    """Per-sample ``c_i`` minimising ``D(x_i | c ŵ_i H)`` over observed entries."""
    b = t.backend
    if beta == 1:
        if t.M is None:
            den = W @ b.sum(H, axis=1)
        else:
            MHt = P if P is not None and P.shape == W.shape else t.M @ H.T
            den = b.sum(W * MHt, axis=1)
        return _scale(b, _row_sums(t), den)
    if t.M is None:  # Frobenius without weights: from k-column products
        return _scale(b, b.sum(W * (t.X @ H.T), axis=1), b.sum((W @ (H @ H.T)) * W, axis=1))
    R = W @ H
    return _scale(b, b.sum(t.MX * R, axis=1), b.sum(t.M * R * R, axis=1))


# -- basis ---------------------------------------------------------------------------------
def basis_parts(t: Target, W, H, beta: float, weight: float):
    """``weight ·`` the (positive, negative) gradient parts of ``D(X | W H)`` for ``H``.

    Returned in ``H``'s orientation (k × m; ``P`` is k × 1 for KL without weights).
    Dense terms are computed as ``Wᵀ (·)`` products (BLAS is faster on them than on the
    transposed ``(·)ᵀ W`` form); sparse terms use :func:`nmfkit.losses.grad_parts` on
    the transposed term.
    """
    b = t.backend
    if t.sparse:
        P, N = grad_parts(t.T, H.T, W.T, beta)
        return P.T * weight, N.T * weight
    Wt = W.T
    if beta == 2:
        if t.M is None:
            P, N = (Wt @ W) @ H, Wt @ t.X
        else:
            P, N = Wt @ (t.M * (W @ H)), Wt @ t.MX
    else:
        R = b.clamp_min_(W @ H, EPSILON)
        if t.M is None:
            P, N = b.sum(W, axis=0)[:, None], Wt @ _ratio_(t.X, R, b)
        else:
            P, N = Wt @ t.M, Wt @ (t.MX / R)
    return P * weight, N * weight


def _ratio_(X, R, b):
    """``X / R`` written into ``R`` (a temporary) on NumPy: no new m × n array to fault in."""
    if b.name == "numpy":
        return np.divide(X, R, out=R)
    return X / R


def basis_update(H, parts_X, parts_Y, alpha: float, b):
    """``H ← H ⊙ (N_X + α P_Y) / (P_X + α N_Y)`` (parts already divided by ``E``)."""
    (PX, NX), (PY, NY) = parts_X, parts_Y
    num = NX + alpha * PY if alpha else NX
    den = PX + alpha * NY if alpha else PX
    den = b.clamp_min(den, _tiny(b, H.dtype))  # a (k, 1) column for KL without weights
    return H * (num / den)


def regauge(H, W_X, W_Y, floor: float, b, n_fixed: int = 0):
    """Rows of ``H`` sum to one (scale moved into both codes), then floored at ``floor``.

    The first ``n_fixed`` rows (already in the gauge) are left exactly as they are.
    """
    s = b.sum(H, axis=1)
    s = b.where(s > 0, s, b.ones(s.shape, s.dtype))
    if n_fixed:
        s[:n_fixed] = 1.0
    H = H / s[:, None]
    H = b.clamp_min_(H, floor)
    return b.contiguous(H), W_X * s[None, :], W_Y * s[None, :]


# -- steps for the loop --------------------------------------------------------------------
class ContrastiveStep:
    """One full-batch outer iteration; the loop's ``W`` is the pair ``(W_X, W_Y)``."""

    def __init__(self, problem: ContrastiveProblem):
        self.p = problem

    def prepare(self, W, H):
        """Bring a start to the gauge and to the best per-sample scale (no MU step)."""
        p, b = self.p, self.p.backend
        H, W_X, W_Y = regauge(H, W[0], W[1], p.basis_floor, b, p.n_fixed)
        W_X = W_X * _row_scale(p.X, W_X, H, p.beta)[:, None]
        W_Y = W_Y * _row_scale(p.Y, W_Y, H, p.beta)[:, None]
        return (W_X, W_Y), H

    def __call__(self, W, H):
        p, b = self.p, self.p.backend
        W_X, W_Y = W
        parts_X = basis_parts(p.X, W_X, H, p.beta, 1.0 / p.E_X)
        parts_Y = basis_parts(p.Y, W_Y, H, p.beta, 1.0 / p.E_Y) if p.alpha else (0.0, 0.0)
        H = p.update_basis(H, parts_X, parts_Y)
        H, W_X, W_Y = regauge(H, W_X, W_Y, p.basis_floor, b, p.n_fixed)
        W_X, dX = code_step(p.X, W_X, H, p.beta, p.floor_X, p.inner, want_loss=True)
        W_Y, dY = code_step(p.Y, W_Y, H, p.beta, p.floor_Y, p.inner, want_loss=True)
        loss = None
        if dX is not None and dY is not None:
            loss = dX / p.E_X - p.alpha * dY / p.E_Y
            p.size = dX / p.E_X
        return (W_X, W_Y), H, loss


def _take_rows(t: Target, idx) -> Target:
    X = t.X[idx]
    M = None if t.M is None else t.M[idx]
    return Target(X, M, t.backend)


class MiniBatchContrastiveStep:
    """One epoch over matching sample batches of target and background.

    The target rows are split into ``ceil(n_X / batch_size)`` batches in a random
    order, the background rows into as many; for each pair the codes of the batch are
    updated, then the basis with parts scaled by ``n / |batch|`` (unbiased estimates
    of the full-data parts). The order is drawn from ``rng`` (a NumPy Generator), so
    a seed gives the same epochs on every backend.
    """

    def __init__(self, problem: ContrastiveProblem, batch_size: int, rng: np.random.Generator):
        self.p = problem
        self.batch_size = int(batch_size)
        self.rng = rng
        self.prepare = ContrastiveStep(problem).prepare

    def _index(self, idx: np.ndarray):
        b = self.p.backend
        if b.name == "torch":
            return b.torch.as_tensor(idx, device=b.device)
        return idx

    def __call__(self, W, H):
        p, b = self.p, self.p.backend
        W_X, W_Y = W
        nX, nY = p.X.shape[0], p.Y.shape[0]
        n_batches = max(1, math.ceil(nX / self.batch_size))
        bx = np.array_split(self.rng.permutation(nX), n_batches)
        by = np.array_split(self.rng.permutation(nY), min(n_batches, nY))
        for j, ix_np in enumerate(bx):
            iy_np = by[j % len(by)]
            ix, iy = self._index(ix_np), self._index(iy_np)
            tX, tY = _take_rows(p.X, ix), _take_rows(p.Y, iy)
            wX, _ = code_step(tX, W_X[ix], H, p.beta, p.floor_X, p.inner)
            wY, _ = code_step(tY, W_Y[iy], H, p.beta, p.floor_Y, p.inner)
            W_X[ix] = wX
            W_Y[iy] = wY
            parts_X = basis_parts(tX, wX, H, p.beta, nX / (len(ix_np) * p.E_X))
            parts_Y = (basis_parts(tY, wY, H, p.beta, nY / (len(iy_np) * p.E_Y))
                       if p.alpha else (0.0, 0.0))
            H = p.update_basis(H, parts_X, parts_Y)
            H, W_X, W_Y = regauge(H, W_X, W_Y, p.basis_floor, b, p.n_fixed)
        return (W_X, W_Y), H, None


def start_codes(shape_X, shape_Y, k: int, rng: np.random.Generator, backend,
                dtype) -> tuple[Any, Any, Any]:
    """Uniform random start ``(W_X, W_Y, H)`` drawn in NumPy and moved to the backend.

    The scale is irrelevant: :meth:`ContrastiveStep.prepare` moves every sample to its
    best scale and the basis to the gauge before the first iteration.
    """
    H = rng.random((k, shape_X[1])) + 1e-3
    W_X = rng.random((shape_X[0], k)) + 1e-3
    W_Y = rng.random((shape_Y[0], k)) + 1e-3
    if backend.name == "torch":
        return tuple(backend.from_numpy(A).to(dtype) for A in (W_X, W_Y, H))
    return tuple(backend.from_numpy(A, dtype) for A in (W_X, W_Y, H))


__all__ += ["code_step", "basis_parts", "basis_update", "regauge", "start_codes"]
