"""The optional compiled kernel of :mod:`nmfkit.solvers.kl_cd` (numba), one row at a time.

The same decisions as the vectorised NumPy path (per row: coordinates in order,
``inner`` projected Newton steps each, the check of the final point and its
multiplicative / no-move fallbacks), written as loops over each row's stored entries,
rows in parallel (``prange``) above ``PARALLEL_WORK`` (entries × k). Only the entries where
``M ⊙ X > 0`` are visited (the others enter through the linear sums ``M Bᵀ``), so
dense, weighted and sparse data all cost O(nnz · k) per sweep. A row's columns of ``B``
are first gathered into a contiguous buffer, forming ``y = (A B)`` at its entries on the
way (no separate product), so every pass is a unit-stride loop the compiler vectorises.
Each Newton step is **one** pass over the row: it applies the previous step's pending
change to ``y`` and forms the sums of the next step (one division per entry); the
gradient at a coordinate's final point, which decides whether it needs the exact check
(logarithms), is accumulated in the next coordinate's first pass, and most steps that
overshoot are certified without it by the trapezoid bound (``kl_cd._between``). The
row's share of the divergence after its sweep is summed in the same call.

Measured (mouse10k 7,548 cells x 1,000 genes, 7 % non-zero, k = 8, one outer
iteration = both half-steps, one thread, loaded 2-core machine): 23 ms CPU, against
100 ms with a separate ``y`` product and loss pass and every overshoot checked with
logarithms.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..losses import EPSILON

__all__ = ["cd_left_numba"]

_FLAGS = dict(cache=True, fastmath=True, error_model="numpy")


@njit(**_FLAGS)
def _pass(xw, y, d, bprev, bj):
    """``y += d·bprev``; then (Σ q·bprev, Σ q·bj, Σ q·bj²/y) with ``q = w x / y``."""
    gc = 0.0
    n_ = 0.0
    h = 0.0
    for p in range(y.shape[0]):
        yy = y[p] + d * bprev[p]
        y[p] = yy
        r = 1.0 / max(yy, EPSILON)
        q = xw[p] * r
        gc += q * bprev[p]
        n_ += q * bj[p]
        h += q * r * bj[p] * bj[p]
    return gc, n_, h


@njit(**_FLAGS)
def _shift(y, d, bj):
    for p in range(y.shape[0]):
        y[p] += d * bj[p]


@njit(cache=True)
def _rise(xw, y, bj, a0, a, s, l1, l2):
    """``f(a) − f(a0)`` of one coordinate, ``y`` at ``a`` (exact arithmetic: no fastmath)."""
    d = a - a0
    out = d * (s + l1) + 0.5 * l2 * (a * a - a0 * a0)
    for p in range(y.shape[0]):
        out += xw[p] * np.log1p(max(-d * bj[p] / max(y[p], EPSILON), -1.0 + 1e-16))
    return out


@njit(cache=True)
def _settle(xw, y, bj, a0, a, s, l1, l2, nmu, gc):
    """The final value of a coordinate that ended at ``a`` (``y`` at ``a``)."""
    g = s + l1 + l2 * a - gc
    if (a <= a0 and g >= 0.0) or (a >= a0 and g <= 0.0):
        return a  # between the start and the minimiser: f did not rise
    if a < a0 and g + (s + l1 + l2 * a0 - nmu) >= 0.0:
        return a  # a step down past the minimiser that the trapezoid bound certifies
    if _rise(xw, y, bj, a0, a, s, l1, l2) <= 0.0:
        return a
    den = s + l1 + l2 * a0
    alt = a0 * nmu / den if den > 0 else a0
    _shift(y, alt - a, bj)
    if _rise(xw, y, bj, a0, alt, s, l1, l2) <= 0.0:
        return alt
    _shift(y, a0 - alt, bj)
    return a0


@njit(cache=True)
def _row(xw, y, a_row, G, s, l1, l2, inner):
    """Coordinate descent on one row: ``G`` (k, L) the columns of ``B`` at its entries."""
    k = G.shape[0]
    d, bprev = 0.0, G[0]
    pa0, pa, pnmu, pj = 0.0, 0.0, 0.0, -1
    for j in range(k + 1):
        # j == k only applies the last pending change and settles the last coordinate:
        # the sums of ``bj`` it forms are not used, so any column serves
        bj = G[j] if j < k else G[0]
        a0 = a_row[j] if j < k else 0.0
        a = a0
        nmu = 0.0
        for t in range(inner if j < k else 1):
            gc, n_, h = _pass(xw, y, d, bprev, bj)
            d = 0.0
            if t == 0 and pj >= 0:
                final = _settle(xw, y, G[pj], pa0, pa, s[pj], l1, l2, pnmu, gc)
                if final != pa:
                    a_row[pj] = final
                    gc, n_, h = _pass(xw, y, 0.0, bprev, bj)
            if j == k:
                break
            if t == 0:
                nmu = n_
            g = s[j] + l1 + l2 * a - n_
            h += l2
            if h > 0:
                new = max(a - g / h, 0.0)
            elif g > 0:
                new = 0.0
            else:
                new = a
            d, bprev = new - a, bj
            a = new
        if j < k:
            a_row[j] = a
            pa0, pa, pnmu, pj = a0, a, nmu, j


@njit(cache=True, fastmath=True)
def _sweep_row(i, indptr, cols, xw, x, A, Bt, S, l1, l2, inner, part, want_loss):
    """Row ``i``: gather its columns of ``B`` and ``y = (A B)`` at its entries, run
    :func:`_row`, and with ``want_loss`` leave in ``part[i]`` its share of the divergence
    after the sweep, ``Σ xw log(x / y) + Σ_j A_ij S_ij`` (the caller subtracts ``Σ xw``;
    one logarithm per entry, so it is skipped when the caller does not need it)."""
    k = A.shape[1]
    lo, hi = indptr[i], indptr[i + 1]
    L = hi - lo
    G = np.empty((k, L), dtype=Bt.dtype)
    y = np.empty(L, dtype=Bt.dtype)
    for p in range(L):
        c = cols[lo + p]
        acc = 0.0
        for j in range(k):
            g = Bt[c, j]
            G[j, p] = g
            acc += A[i, j] * g
        y[p] = acc
    s = S[0] if S.shape[0] == 1 else S[i]  # no weights: one row of sums for every row
    _row(xw[lo:hi], y, A[i], G, s, l1, l2, inner)
    if not want_loss:
        return
    out = 0.0
    for p in range(L):
        out += xw[lo + p] * np.log(max(x[lo + p] / max(y[p], EPSILON), 1e-38))
    for j in range(k):
        out += A[i, j] * s[j]
    part[i] = out


# Two drivers, not one function compiled twice: numba's on-disk cache keys a compiled
# function by its Python function, so ``njit(parallel=True)`` and ``njit()`` of the same
# function shared one cache entry and the "parallel" sweep loaded the serial code (measured:
# CPU time = wall time on an idle 2-core machine until they were split).
@njit(cache=True)
def _sweep_serial(indptr, cols, xw, x, A, Bt, S, l1, l2, inner, part, want_loss):
    for i in range(A.shape[0]):
        _sweep_row(i, indptr, cols, xw, x, A, Bt, S, l1, l2, inner, part, want_loss)


@njit(cache=True, parallel=True)
def _sweep_parallel(indptr, cols, xw, x, A, Bt, S, l1, l2, inner, part, want_loss):
    for i in prange(A.shape[0]):
        _sweep_row(i, indptr, cols, xw, x, A, Bt, S, l1, l2, inner, part, want_loss)


#: Work of a sweep (stored entries × components) from which the rows run in parallel
#: threads (``prange``; the results are the same: rows are independent and their shares
#: of the loss are summed in order). Measured serial → parallel ms per outer iteration of
#: ``KLCDStep`` (k = 10, idle 2-core machine, ``numba`` threading layer "omp"): pbmc68k rows
#: [:50] (0.12 M updates per sweep) 1.01 → 0.78, [:100] 1.43 → 0.85, [:400] 4.3 → 3.2, all
#: 700 rows (1.7 M) 7.1 → 5.3; mouse10k 9,999 × 715 (6.9 M) 34.4 → 19–25. So the cores are
#: used as BLAS uses them, from about 1 ms of work per sweep, where starting the threads
#: (tens of µs) stops mattering. On a machine where another process holds the cores the
#: parallel sweep loses 10–20 % (pbmc68k 8.0 → 9.7 ms: the waiting thread spins); there,
#: set ``NUMBA_NUM_THREADS=1`` as one sets ``OPENBLAS_NUM_THREADS`` for BLAS.
PARALLEL_WORK = 100_000


def stored_entries(tgt):
    """``(info, xw, x, Σ xw, holes)``: the entries of ``M ⊙ X`` that are not zero (a
    :class:`~nmfkit.backends._sparse.SparseInfo` holding ``M ⊙ X``) and ``X`` at the same
    entries. Entries where ``M ⊙ X = 0`` enter the 1-D problems only through the linear
    sums ``s = M Bᵀ``, so a dense or weighted ``X`` costs O(nnz(M ⊙ X) · k) per sweep too.
    ``holes`` is ``1 − M`` as a CSR matrix where at most half its entries are not zero
    (a hold-out mask): then ``M Bᵀ = 1 Bᵀ − (1 − M) Bᵀ`` costs O(nnz(1 − M) · k) instead
    of a dense product; else None."""
    import scipy.sparse as sp

    from ..backends._sparse import SparseInfo

    if tgt.sparse:
        info = tgt.info
        return info, info.data, info.data, float(info.data.sum()), None
    MX = sp.csr_matrix(np.asarray(tgt.MX))
    MX.eliminate_zeros()
    info = SparseInfo(MX)
    if tgt.M is None:
        return info, info.data, info.data, float(info.data.sum()), None
    M = np.asarray(tgt.M)
    rows = np.repeat(np.arange(MX.shape[0]), np.diff(info.indptr))
    x = np.ascontiguousarray(np.asarray(tgt.X)[rows, info.indices])
    holes = sp.csr_matrix(1.0 - M) if np.count_nonzero(M != 1) <= M.size // 2 else None
    return info, info.data, x, float(info.data.sum()), holes


def _sums(tgt, B, holes, dtype):
    """``S = M Bᵀ`` (one row for every row without weights)."""
    if tgt.M is None:
        return B.sum(axis=1)[None, :]
    if holes is not None:
        return np.ascontiguousarray(B.sum(axis=1)[None, :] - holes @ B.T, dtype=dtype)
    return np.ascontiguousarray(np.asarray(tgt.M) @ B.T, dtype=dtype)


def cd_left_numba(tgt, A, B, pen, inner: int, entries, want_loss: bool = True):
    """One CD sweep of ``A`` (m × k NumPy, in place) for the target ``tgt``, whose
    :func:`stored_entries` are ``entries``; returns its KL divergence after the sweep
    (computed in the same pass; 0.0 without ``want_loss``)."""
    info, xw, x, total, holes = entries
    B = np.ascontiguousarray(B)
    S = _sums(tgt, B, holes, A.dtype)
    part = np.empty(A.shape[0])
    sweep = _sweep_parallel if info.nnz * A.shape[1] >= PARALLEL_WORK else _sweep_serial
    sweep(info.indptr, info.indices, xw, x, A, np.ascontiguousarray(B.T), S, pen.l1, pen.l2,
          int(inner), part, bool(want_loss))
    if not want_loss:
        return 0.0
    return float(part.sum()) - total
