r"""The one HALS engine: Frobenius terms, Gillis–Glineur inner sweeps, a restart axis.

Fast HALS (Cichocki & Phan 2009) with the inner iterations of Gillis & Glineur
(2012). For a block ``A`` (stacked (R, m, k)) bound by Frobenius terms with weights
``w_t > 0``, the expensive products ``R = Σ_t w_t B_t X_tᵀ`` and
``G = Σ_t w_t B_t B_tᵀ`` are formed once per half-step (one GEMM with ``X`` for all
restarts) and reused for several cheap sweeps over the columns of the block:

.. math::
    a_j \leftarrow \max\Big(0,\; a_j + \frac{r_j - G_{j\cdot} A - l_1 - l_2 a_j}{G_{jj} + l_2}\Big),

the exact minimiser in column ``a_j``. Sweeps repeat while the change is above
``inner_tol`` times the first sweep's change (per restart), at most ``1 + ⌊α ρ⌋``
times (ρ = cost of the products / cost of a sweep).

Element weights (missing values) are handled by majorisation: with ``M ∈ [0, 1]``
(scaled by its maximum otherwise), ``X̃ = M ⊙ X + (1 − M) ⊙ (A B)`` gives a surrogate
whose HALS step never increases the weighted objective (the EM view of missing data).
"""

from __future__ import annotations

import os

import numpy as np

from ..backends import single_threaded_blas
from ..losses import frobenius_values, stacked_left, stacked_right
from .mu import BlockPenalty

__all__ = ["HALSStep", "block_products", "checked_right_products", "complete_data", "hals_sweep", "hals_sweeps", "inner_budget", "inner_stop",
           "sweep_scales"]


_POOL = None


def _pool():
    global _POOL
    if _POOL is None:
        from concurrent.futures import ThreadPoolExecutor

        _POOL = ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1)),
                                   thread_name_prefix="nmfkit")
    return _POOL


def _checked_rows(X, Bt, out, r_start, r_stop, rows):
    for r0 in range(r_start, r_stop, rows):
        blk = X[r0 : min(r_stop, r0 + rows)]
        lo, hi = blk.min(), blk.max()
        if not (lo >= 0 and hi < np.inf):
            return False
        np.matmul(blk, Bt, out=out[r0 : r0 + blk.shape[0]])
    return True


def checked_right_products(X, B, rows: int = 64):
    """``B @ Xᵀ`` (k × m) for a dense NumPy ``X``, checking ``X`` on the way.

    ``X`` is read in blocks of rows: each block's min and max are taken while it is in
    cache, then it is multiplied, so ``X`` comes from memory once instead of twice
    (validation scan + product). The row range is split between a few threads (NumPy
    releases the GIL), each with a one-thread BLAS. Returns None if some entry is
    negative, NaN or infinite (the caller then runs the full validation, which says
    which).
    """
    m = X.shape[0]
    out = np.empty((m, B.shape[0]), dtype=np.result_type(X.dtype, B.dtype))
    Bt = B.T
    workers = _pool()._max_workers if m >= 8 * rows else 1
    bounds = np.linspace(0, m, workers + 1).astype(int)
    with single_threaded_blas():
        if workers == 1:
            ok = _checked_rows(X, Bt, out, 0, m, rows)
        else:
            futures = [_pool().submit(_checked_rows, X, Bt, out, int(lo), int(hi), rows)
                       for lo, hi in zip(bounds[:-1], bounds[1:])]
            ok = all([f.result() for f in futures])
    return np.ascontiguousarray(out.T) if ok else None


def inner_budget(r: int, c: int, k: int, alpha: float = 0.5, max_inner: int = 20) -> int:
    """Gillis–Glineur sweeps per half-step, ``1 + ⌊α ρ⌋`` with ``ρ = 1 + c/(k+1) + c/r``."""
    rho = 1.0 + c / (k + 1.0) + c / max(r, 1)
    return max(1, min(max_inner, 1 + int(alpha * rho)))


def sweep_scales(G, backend, penalty: BlockPenalty = BlockPenalty()) -> np.ndarray:
    """The divisors ``G_jj + l2`` of every restart (R, k) as float64 (``inf`` where <= 0:
    a component with ``G_jj <= 0`` is skipped, it adds 0)."""
    d = backend.to_numpy(backend.diag(G)).astype(np.float64) + penalty.l2
    return np.where(d > 0, d, np.inf)


def hals_sweep(At, Rm, G, d, backend, penalty: BlockPenalty = BlockPenalty(), track: bool = False):
    """One coordinate sweep over the rows of every restart of ``At`` (R, k, r), in place.

    ``d`` is :func:`sweep_scales` of ``G``. With ``track``, returns the squared change of
    every restart (float64 (R,)), what the inner stopping rule compares; else None. A
    row-partitioned problem (mini-batch, Dask) runs this on each block of ``W`` and
    sums the changes: the same rule as one block.
    """
    b = backend
    k = At.shape[1]
    l1, l2 = penalty.l1, penalty.l2
    dd = b.from_numpy(d, dtype=At.dtype)[:, :, None]  # (R, k, 1)
    prev = b.copy(At) if track else None
    for j in range(k):
        g = Rm[:, j, :] - (G[:, j : j + 1, :] @ At)[:, 0, :]
        if l1:
            g -= l1
        if l2:
            g -= l2 * At[:, j, :]
        row = At[:, j, :]
        row += g / dd[:, j, :]
        b.clamp_min_(row, 0.0)
    if not track:
        return None
    prev -= At
    return b.to_numpy(b.sum(prev * prev, axis=(1, 2))).astype(np.float64)


def hals_sweeps(At, Rm, G, backend, penalty: BlockPenalty = BlockPenalty(), max_sweeps: int = 1,
                inner_tol: float = 0.0) -> int:
    """Coordinate sweeps on the rows of every restart of ``At`` (R, k, r), in place.

    Minimises ``½ tr(A G Aᵀ) − tr(R Aᵀ) + l1 Σ A + ½ l2 ‖A‖²`` over ``A ≥ 0`` for each
    restart; restart r leaves the sweeps once its change falls below ``inner_tol²``
    times its first change. Returns the number of sweeps run.
    """
    b = backend
    nR = At.shape[0]
    d = sweep_scales(G, b, penalty)
    active = np.arange(nR)
    first = None
    sweeps = 0
    for sweeps in range(1, max_sweeps + 1):
        full = active.size == nR
        A = At if full else b.take(At, active)
        Rs, Gs = (Rm, G) if full else (b.take(Rm, active), b.take(G, active))
        change = hals_sweep(A, Rs, Gs, d[active], b, penalty, track=max_sweeps > 1)
        if not full:
            b.put_(At, active, A)
        if change is None:
            break
        if first is None:
            first = change
            continue
        keep = ~inner_stop(change, first, inner_tol)
        active, first = active[keep], first[keep]
        if active.size == 0:
            break
    return sweeps


def inner_stop(change, first, inner_tol: float):
    """The Gillis–Glineur inner rule: a restart stops once its change is at most
    ``inner_tol²`` times its first sweep's change."""
    return change <= inner_tol * inner_tol * first


def complete_data(target, A, B, Mn):
    """``X̃ = M̃ ⊙ X + (1 − M̃) ⊙ (A B)``: the complete data of the EM majorisation of a
    weighted Frobenius term (``M̃``: the weights divided by the largest one)."""
    return Mn * target.X + (1 - Mn) * (A @ B)


def block_products(t, X, state, blk, b):
    """``(Rt, Gt)`` of term ``t`` with data ``X`` (``X`` or ``X̃``) for block ``blk``:
    ``(B Xᵀ, B Bᵀ)`` for the left block, ``(Aᵀ X, Aᵀ A)`` for the right one, each in the
    fastest orientation for ``X``. What a HALS half-step sums over terms (and a row-
    partitioned fit over row blocks)."""
    dense3 = getattr(X, "ndim", 2) == 3
    if blk == t.left:
        B = state[t.right]
        XBt = (X @ b.mT(B)) if dense3 else stacked_right(b, X, B)
        return b.mT(XBt), B @ b.mT(B)
    A = state[t.left]
    if dense3:
        Rt = b.mT(A) @ X
    elif t.target.sparse:
        Rt = b.mT(stacked_right(b, t.target.T.X, b.mT(A)))
    else:
        Rt = stacked_left(b, X, A)  # Aᵀ X: the faster GEMM orientation
    return Rt, b.mT(A) @ A


def _rows_first(b, A):
    """``A`` (R, r, k) as the transpose view of a C-contiguous (R, k, r) stack."""
    return b.mT(b.contiguous(b.mT(A)))


class HALSStep:
    """One outer HALS iteration over ``blocks`` for Frobenius terms with weights > 0.

    Parameters
    ----------
    terms : list of Term
        Frobenius (β = 2) terms with positive weights.
    backend : Backend
    blocks : tuple of str
        Blocks updated, in order.
    penalties : dict
        ``block -> BlockPenalty``.
    inner_alpha, inner_tol, max_inner : float, float, int
        The inner-sweep budget and stopping rule (module docstring); ``inner_alpha=0``
        is plain HALS.

    Calling it updates the state in place and returns the objective of every restart
    (from the products it formed, no extra pass over ``X``) when no term has element
    weights, else None.
    """

    def __init__(self, terms, backend, blocks=("W", "H"), penalties=None, inner_alpha: float = 0.5,
                 inner_tol: float = 0.1, max_inner: int = 20):
        for t in terms:
            if t.beta != 2 or t.weight <= 0:
                raise ValueError("HALS minimises Frobenius terms with positive weights only")
        self.terms, self.b, self.blocks = list(terms), backend, tuple(blocks)
        self.penalties = penalties or {}
        self.weighted = any(t.target.M is not None for t in self.terms)
        self.scale = {}
        for t in self.terms:
            if t.target.M is not None:
                s = float(self.b.item(t.target.M.max()))
                self.scale[id(t)] = (s, t.target.M / s if s != 1.0 else t.target.M)
        # the weighted surrogate is divided by the largest weight: so are the penalties
        self._s = max([s for s, _ in self.scale.values()] or [1.0])
        self._inner = (inner_alpha, inner_tol, max_inner)

    def prepare(self, state):
        """Every block laid out as the transpose view of a C-contiguous (R, k, r) stack."""
        for blk in self.blocks:
            if any(blk == t.left for t in self.terms):
                state[blk] = _rows_first(self.b, state[blk])
            else:
                state[blk] = self.b.contiguous(state[blk])
        return state

    def _data(self, t, state):
        """The term's data: ``X``, or the complete-data ``X̃`` of the majorisation."""
        if t.target.M is None:
            return t.target.X
        return complete_data(t.target, state[t.left], state[t.right], self.scale[id(t)][1])

    def products(self, state, blk):
        """``(Rm, G, products)`` for block ``blk``: Rm (R, k, r), G (R, k, k)."""
        Rm = G = None
        last = []
        for t in self.terms:
            if not t.binds(blk):
                continue
            Rt, Gt = block_products(t, self._data(t, state), state, blk, self.b)
            last.append((t, Rt, Gt))
            w = t.weight
            Rt, Gt = (Rt, Gt) if w == 1.0 else (Rt * w, Gt * w)
            Rm = Rt if Rm is None else Rm + Rt
            G = Gt if G is None else G + Gt
        return self.b.contiguous(Rm), G, last

    def __call__(self, state, idx=None, want_loss=True):
        b = self.b
        last = None
        for blk in self.blocks:
            Rm, G, last = self.products(state, blk)
            A = state[blk]
            At = b.mT(A) if any(blk == t.left for t in self.terms) else A
            p = self.penalties.get(blk, BlockPenalty())
            p = BlockPenalty(p.l1 / self._s, p.l2 / self._s)
            budget = self._budget(At.shape[2], state, blk, At.shape[1])
            with single_threaded_blas():
                hals_sweeps(At, Rm, G, b, p, budget, self._inner[1])
        if self.weighted:
            return None
        return self._loss_from(state, blk, last)

    def _budget(self, r, state, blk, k):
        alpha, _, max_inner = self._inner
        t = next(t for t in self.terms if t.binds(blk))
        m, n = t.target.shape
        c = n if blk == t.left else m
        return inner_budget(r, c, k, alpha, max_inner)

    def _loss_from(self, state, blk, last):
        """Objective after the last half-step, from its products (one per term)."""
        total = 0.0
        for t, Rt, Gt in last:
            A, B = state[t.left], state[t.right]
            b = self.b
            if blk == t.right:  # Rt = Aᵀ X (R, k, n), Gt = AᵀA: the transposed problem
                val = frobenius_values(t.target.T, b.mT(Rt), b.mT(B), B @ b.mT(B), Gt, b.mT(A))
            else:  # Rt = B Xᵀ (R, k, m), Gt = B Bᵀ
                val = frobenius_values(t.target, b.mT(Rt), A, b.mT(A) @ A, Gt, B)
            total = total + t.weight * val
        for name, p in self.penalties.items():
            total = total + penalty_values(state[name], p, self.b)
        return total


def penalty_values(A, p: BlockPenalty, b) -> np.ndarray:
    """``l1 Σ A_r + ½ l2 ‖A_r‖²`` for every restart r (float64)."""
    out = np.zeros(A.shape[0])
    if p.l1:
        out += p.l1 * b.to_numpy(b.sum(A, axis=(1, 2))).astype(np.float64)
    if p.l2:
        out += 0.5 * p.l2 * np.array([b.norm2(A[r, ...]) for r in range(A.shape[0])])
    return out
