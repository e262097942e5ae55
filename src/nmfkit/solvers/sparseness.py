r"""Hoyer's sparseness constraint: the measure, the exact projection and the fitting step.

**Sparseness** of a vector :math:`x \in \mathbb{R}^n` (Hoyer, JMLR 5:1457–1469, 2004):

.. math:: s(x) = \frac{\sqrt{n} - \|x\|_1 / \|x\|_2}{\sqrt{n} - 1} \in [0, 1],

0 when every entry is equal, 1 when a single entry is non-zero. A target ``s`` at a given
L2 norm fixes the L1 norm: :math:`\|x\|_1 = \|x\|_2 (\sqrt{n} - (\sqrt{n} - 1) s)`.

**Projection**: the non-negative vector with given L1 and L2 norms nearest (in Euclidean
distance) to a vector ``x``. :func:`project_l1l2` (used by the fit) finds it in closed form
after one sort per row: it is ``c · max(x − α, 0)`` (Thom & Palm), and the support size
follows from the ratio ``‖·‖₁/‖·‖₂``, which grows with it. :func:`project_hoyer` is Hoyer's
algorithm (his ``projfunc``), the reference and the fallback for exact ties:
project onto the hyperplane ``Σ v = L1``; then repeatedly move from the centre ``m`` of the
current face (``L1 / (n − |Z|)`` off the zero set ``Z``, 0 on it) along ``v − m`` out to the
sphere ``‖v‖ = L2``; if an entry went negative, fix every non-positive entry at 0 (add it to
``Z``), shift the others back onto the hyperplane and repeat. ``Z`` grows at every pass, so
it ends in at most ``n`` passes; Thom & Palm (Neurocomputing 105, 2013) prove the result is
the Euclidean projection. Here every row of a matrix is projected at once (one pass per
iteration for all rows; a row that is done is left alone), and the step out to the sphere is
written as ``v = m + (v − m)·sqrt((L2² − ‖m‖²) / ‖v − m‖²)`` (``m ⊥ v − m`` on the
hyperplane), which is the larger root of Hoyer's quadratic without its rounding to a complex
number.

**Step** (:class:`SparsenessStep`): one iteration of Hoyer's ``nmfsc`` in nmfkit's
orientation (``X ≈ W H``, ``X`` samples × features). A constrained block takes a projected
gradient step ``project(B − μ ∇_B)`` with backtracking (μ halved until the objective does not
increase, then multiplied by 1.2 for the next iteration); an unconstrained block takes the
engine's update (:func:`nmfkit.solvers.make_step`, MU or HALS, on that block alone). Columns of
``W`` are kept at unit L2 norm (their scale moved into ``H``), rows of ``H`` keep their current
norm: this is Hoyer's gauge with his ``W`` = our ``Hᵀ`` (basis images) and his ``H`` = our
``Wᵀ`` (coefficients).
"""

from __future__ import annotations

import math

import numpy as np

from ..backends import Backend, get_namespace
from .engine import make_step

__all__ = ["hoyer_sparseness", "l1_for_sparseness", "project_hoyer", "project_l1l2",
           "project_sparseness",
           "SparsenessStep"]


def hoyer_sparseness(A, axis: int = -1):
    """Hoyer's sparseness of every vector of ``A`` along ``axis`` (NumPy float64 array).

    A zero vector gets sparseness 0.
    """
    A = np.asarray(get_namespace(A).to_numpy(A) if not isinstance(A, np.ndarray) else A,
                   dtype=np.float64)
    n = A.shape[axis]
    if n == 1:
        return np.ones(np.delete(A.shape, axis % A.ndim))
    l1 = np.abs(A).sum(axis=axis)
    l2 = np.sqrt((A * A).sum(axis=axis))
    ratio = np.divide(l1, l2, out=np.full_like(l1, math.sqrt(n)), where=l2 > 0)
    return (math.sqrt(n) - ratio) / (math.sqrt(n) - 1.0)


def l1_for_sparseness(n: int, s: float) -> float:
    """The L1 norm of a unit-L2 vector of length ``n`` with Hoyer sparseness ``s``."""
    return math.sqrt(n) - (math.sqrt(n) - 1.0) * float(s)


def _first_free(Z, b: Backend, dt):
    """One-hot (0/1 in ``dt``) of the first index outside ``Z`` in each row."""
    free = ~Z
    return b.astype((b.cumsum(b.astype(free, dt), axis=1) == 1) & free, dt)



def _row_targets(b, L1, L2, m, dt):
    """The L1 and L2 targets as one value per row (numbers broadcast), in ``dt``."""
    def rows(v):
        return b.full((m,), float(v), dt) if np.isscalar(v) else b.astype(b.asarray(v), dt)
    return rows(L1), rows(L2)

def project_hoyer(S, L1, L2, backend: Backend | None = None, max_passes: int | None = None):
    """Hoyer's iterative algorithm (``projfunc``) for :func:`project_l1l2`, row by row.

    Parameters
    ----------
    S : array (m, n)
        Rows to project (NumPy or torch; any sign).
    L1, L2 : arrays (m,) or floats
        The targets of each row, with ``L2 <= L1 <= sqrt(n) L2`` (feasible).

    Returns
    -------
    array (m, n), the projections (``>= 0``; exact up to rounding).
    """
    b = backend or get_namespace(S)
    m, n = S.shape
    dt = S.dtype
    L1, L2 = _row_targets(b, L1, L2, m, dt)
    L1c, L2sq = L1[:, None], (L2 * L2)[:, None]
    v = S + (L1c - b.sum(S, axis=1)[:, None]) / n       # onto the hyperplane Σ v = L1
    Z = b.zeros((m, n), dt) > 1                          # fixed at zero (none yet)
    done = b.zeros((m,), dt) > 1
    zero = b.zeros((1, 1), dt)
    for _ in range(max_passes or n + 1):
        nz = n - b.sum(b.astype(Z, dt), axis=1)[:, None]
        nz = b.maximum(nz, b.ones(nz.shape, dt))
        mid = b.where(Z, zero, L1c / nz)
        w = v - mid
        ww = b.sum(w * w, axis=1)[:, None]
        tiny = ww <= 1e-30 * L2sq
        if bool(b.any(tiny)):  # v is the face's centre: any direction in the face will do
            onehot = _first_free(Z, b, dt)
            w = b.where(tiny, onehot - b.where(Z, zero, 1.0 / nz), w)
            ww = b.sum(w * w, axis=1)[:, None]
        r2 = b.clamp_min(L2sq - L1c * L1c / nz, 0.0)
        v_new = mid + w * b.sqrt(r2 / ww)
        v = b.where(done[:, None], v, v_new)
        neg = b.any(v < 0, axis=1) & ~done
        done = done | ~neg
        if not bool(b.any(neg)):
            break
        Z = Z | ((v <= 0) & neg[:, None])
        v = b.where(Z, zero, v)
        nz = n - b.sum(b.astype(Z, dt), axis=1)[:, None]
        nz = b.maximum(nz, b.ones(nz.shape, dt))
        shift = (L1c - b.sum(v, axis=1)[:, None]) / nz
        v = b.where(Z | done[:, None], v, v + shift)
    return b.clamp_min(v, 0.0)


def _sort_desc(S, b: Backend):
    if b.name == "numpy":
        return -np.sort(-S, axis=1)
    if b.name == "torch":
        import torch

        return torch.sort(S, dim=1, descending=True).values
    return b.xp.sort(S, axis=1, descending=True)


def _support_size(Y, rho, b: Backend):
    """Per row, the support size t of the projection: ``1 + #{t < n : r_t < ρ}`` where
    ``r_t`` is ``‖v‖₁/‖v‖₂`` of ``v = max(y − y_{t+1}, 0)`` (increasing in t)."""
    m, n = Y.shape
    t = b.astype(b.arange(n - 1), Y.dtype)[None, :] + 1.0           # 1 .. n-1
    P = b.cumsum(Y, axis=1)[:, :-1]
    Q = b.cumsum(Y * Y, axis=1)[:, :-1]
    nxt = Y[:, 1:]                                                   # y_{t+1}
    l1 = P - t * nxt
    l2sq = b.clamp_min(Q - 2.0 * nxt * P + t * nxt * nxt, 0.0)
    ok = l2sq > 0
    r = b.where(ok, l1 / b.sqrt(b.where(ok, l2sq, b.ones(l2sq.shape, l2sq.dtype))),
                b.zeros(l2sq.shape, l2sq.dtype))
    return 1.0 + b.sum(b.astype(r < rho[:, None], Y.dtype), axis=1)


def project_l1l2(S, L1, L2, backend: Backend | None = None):
    """Nearest non-negative vectors with L1 norm ``L1`` and L2 norm ``L2``, row by row.

    The projection has the form ``v = c · max(x − α, 0)`` (Thom & Palm 2013) whose ratio
    ``‖v‖₁/‖v‖₂`` grows with the support: one sort of each row finds the support size,
    then ``c`` and ``α`` are closed-form. Rows whose result misses the norms by more
    than max(1e-8, 100 ε) (relative; exact ties at the threshold) are redone by Hoyer's
    iterative algorithm (:func:`project_hoyer`, the reference). O(n log n) per row.

    Parameters
    ----------
    S : array (m, n)
        Rows to project (NumPy, torch or an array-API library; any sign).
    L1, L2 : arrays (m,) or floats
        The targets of each row, with ``L2 <= L1 <= sqrt(n) L2`` (feasible).

    Returns
    -------
    array (m, n), the projections (``>= 0``; exact up to rounding).
    """
    b = backend or get_namespace(S)
    m, n = S.shape
    dt = S.dtype
    L1, L2 = _row_targets(b, L1, L2, m, dt)
    if n == 1:
        return b.reshape(L1, (m, 1)) + 0.0
    Y = _sort_desc(S, b)
    t = _support_size(Y, L1 / L2, b)                                  # (m,)
    thresh = b.sum(Y * b.astype(b.cumsum(b.ones(Y.shape, dt), axis=1) == t[:, None], dt), axis=1)
    supp = S >= thresh[:, None]
    zero = b.zeros((1, 1), dt)
    cnt = b.sum(b.astype(supp, dt), axis=1)
    mean = b.sum(b.where(supp, S, zero), axis=1) / cnt
    dev = b.where(supp, S - mean[:, None], zero)
    ssd = b.sum(dev * dev, axis=1)
    r2 = b.clamp_min(L2 * L2 - L1 * L1 / cnt, 0.0)
    good = ssd > 0
    safe = b.where(good, ssd, b.ones(ssd.shape, dt))
    c = b.where(good, b.sqrt(r2 / safe), b.zeros(ssd.shape, dt))
    v = b.where(supp, (L1 / cnt)[:, None] + c[:, None] * dev, zero)
    v = b.clamp_min(v, 0.0)
    e1 = b.abs(b.sum(v, axis=1) - L1) / L1
    e2 = b.abs(b.sqrt(b.sum(v * v, axis=1)) - L2) / L2
    tol = max(1e-8, 100.0 * b.eps(dt))
    bad = b.flatnonzero((e1 > tol) | (e2 > tol) | ~good & (r2 > 0))
    if int(bad.shape[0]):
        fixed = project_hoyer(b.take(S, bad), b.take(L1, bad), b.take(L2, bad), b)
        b.put_(v, bad, fixed)
    return v


def project_sparseness(S, s: float, norms=None, backend: Backend | None = None):
    """Project every row of ``S`` (m, n) onto Hoyer sparseness ``s`` at L2 norm ``norms``
    (per row; default 1): :func:`project_l1l2` with ``L1 = norm · l1_for_sparseness(n, s)``."""
    b = backend or get_namespace(S)
    m, n = S.shape
    if norms is None:
        norms = b.ones((m,), S.dtype)
    return project_l1l2(S, norms * l1_for_sparseness(n, s), norms, b)


def _rows_of(A, b, columns: bool):
    """The vectors a constraint acts on as one (R·k, len) matrix: rows of H, columns of W."""
    M = b.mT(A) if columns else A
    R, k, n = M.shape
    return b.reshape(b.contiguous(M), (R * k, n))


def _back(M, shape, b, columns: bool):
    R, k = shape[0], (shape[2] if columns else shape[1])
    M = b.reshape(M, (R, k, M.shape[1]))
    return b.contiguous(b.mT(M)) if columns else M


class SparsenessStep:
    """One iteration of sparseness-constrained NMF on the blocks ``W`` then ``H``.

    Parameters
    ----------
    term : Term
        The Frobenius data term on ``("W", "H")`` (dense or sparse target, no element weights).
    backend : Backend
    sparseness_W, sparseness_H : float or None
        Target sparseness of every column of ``W`` / every row of ``H``; None: unconstrained
        (the engine's ``solver`` update).
    solver : {"mu", "hals"}
        The engine update of an unconstrained block.
    """

    max_halvings = 20  # μ down by 10⁶: no decrease within that is taken as a stationary point

    def __init__(self, term, backend: Backend, sparseness_W=None, sparseness_H=None,
                 solver: str = "hals"):
        self.term, self.b = term, backend
        self.targets = {"W": sparseness_W, "H": sparseness_H}
        self.engine = {blk: make_step([term], backend, solver=solver, blocks=(blk,))
                       for blk in ("W", "H") if self.targets[blk] is None}
        self.mu = {}

    # -- the constraint ------------------------------------------------------------------
    def project(self, blk, A, norms=None):
        """Project ``A`` (R, ·, ·) onto its block's constraint (``W``: unit columns)."""
        b, s, columns = self.b, self.targets[blk], blk == "W"
        M = _rows_of(A, b, columns)
        if norms is None:
            norms = b.ones((M.shape[0],), M.dtype) if columns else b.sqrt(b.sum(M * M, axis=1))
        norms = b.clamp_min(norms, 1e-30)
        return _back(project_sparseness(M, s, norms, b), A.shape, b, columns)

    def normalise(self, state):
        """Columns of ``W`` to unit L2 norm, their scale moved into the rows of ``H``."""
        b = self.b
        W, H = state["W"], state["H"]
        nrm = b.sqrt(b.sum(W * W, axis=1))                # (R, k)
        nrm = b.where(nrm > 0, nrm, b.ones(nrm.shape, nrm.dtype))
        state["W"] = b.contiguous(W / nrm[:, None, :])
        state["H"] = b.contiguous(H * nrm[:, :, None])

    def prepare(self, state):
        """The start made feasible: unit columns of ``W``, then each constrained block projected."""
        self.normalise(state)
        for blk in ("W", "H"):
            if self.targets[blk] is not None:
                state[blk] = self.project(blk, state[blk])
        return state

    # -- one iteration --------------------------------------------------------------------
    def __call__(self, state, idx, want_loss):
        for blk in ("W", "H"):
            if self.targets[blk] is None:
                eng = self.engine[blk]
                if hasattr(eng, "prepare"):
                    eng.prepare(state)
                eng(state, idx, False)
                state[blk] = self.b.contiguous(state[blk])
            else:
                self._projected_gradient(state, idx, blk)
            if blk == "W":
                self.normalise(state)
        return None

    def _quadratic(self, state, blk):
        """``(G, N)`` with ``f(B) = const − ⟨N, B⟩ + ½⟨G, ·⟩`` for the block ``B = blk``."""
        b = self.b
        _, N = self.term.raw_parts(state, blk)
        other = state["H"] if blk == "W" else state["W"]
        G = other @ b.mT(other) if blk == "W" else b.mT(other) @ other
        return G, b.contiguous(N)

    def _f(self, blk, B, G, N):
        b = self.b
        gram = b.mT(B) @ B if blk == "W" else B @ b.mT(B)   # k × k: ½⟨G, gram⟩ is the quadratic
        quad = b.sum(G * gram, axis=(1, 2))
        val = 0.5 * quad - b.sum(N * B, axis=(1, 2))
        return np.asarray(b.to_numpy(val), dtype=np.float64)

    def _projected_gradient(self, state, idx, blk):
        """``B ← project(B − μ ∇B)``, μ per restart halved until ``f`` does not increase."""
        b = self.b
        B = state[blk]
        G, N = self._quadratic(state, blk)
        grad = (B @ G if blk == "W" else G @ B) - N
        R = B.shape[0]
        if blk not in self.mu:
            lip = np.asarray(b.to_numpy(b.sqrt(b.sum(G * G, axis=(1, 2)))), dtype=np.float64)
            self.mu[blk] = np.zeros(int(np.max(idx)) + 1 if len(idx) else R)
            self.mu[blk][idx] = 1.0 / np.maximum(lip, 1e-300)
        mu = self.mu[blk][idx].copy()
        norms = None if blk == "W" else b.sqrt(b.sum(_rows_of(B, b, False) ** 2, axis=1))
        f0 = self._f(blk, B, G, N)
        new = B
        pending = np.ones(R, dtype=bool)
        for _ in range(self.max_halvings):
            step = b.from_numpy(mu.reshape(-1, 1, 1), dtype=B.dtype)
            cand = self.project(blk, B - step * grad, norms)
            ok = (self._f(blk, cand, G, N) <= f0) & pending
            if ok.any():
                keep = b.from_numpy(ok.reshape(-1, 1, 1).astype(np.float64), dtype=B.dtype) > 0
                new = b.where(keep, cand, new)
            pending &= ~ok
            if not pending.any():
                break
            mu = np.where(pending, mu / 2.0, mu)
        # no acceptable step (a stationary point): keep the step size for the next iteration
        self.mu[blk][idx] = np.where(pending, self.mu[blk][idx], mu * 1.2)
        state[blk] = b.contiguous(new)
