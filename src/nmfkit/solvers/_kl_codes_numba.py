"""The optional compiled Hessians of :mod:`nmfkit.solvers.kl_codes` (numba).

For every row ``i`` of a block, ``∇²f_i = Σ_p q_p h_p h_pᵀ`` over the row's stored
positives ``p`` (``q = m x / y²``, ``h_p`` the column of ``H`` at the entry's feature): a
k × k sum of ``nnz_i`` rank-one terms. The vectorised path forms it as one sparse product
with the ``n × k²`` matrix of all products ``h_jf h_lf``, which scipy computes one output
column at a time on one thread; here each row gathers its columns of ``H`` into a
contiguous ``k × nnz_i`` buffer and forms the upper triangle with unit-stride dot products,
rows in parallel (``prange``). Measured (2,000 × 20,000 counts, 12.6 % non-zero, k = 20,
2-core machine): the exact transform 22.6 s → 5.4 s (``BENCHMARKS.md``, "Exact KL
transform").
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["row_hessians"]


@njit(cache=True, fastmath=True)
def _hessian_row(i, indptr, q, Hc, out):
    lo, hi = indptr[i], indptr[i + 1]
    L = hi - lo
    k = Hc.shape[1]
    G = np.empty((k, L))
    for p in range(L):
        for j in range(k):
            G[j, p] = Hc[lo + p, j]
    ga = np.empty(L)
    for a in range(k):
        for p in range(L):
            ga[p] = G[a, p] * q[lo + p]
        for b in range(a, k):
            s = 0.0
            for p in range(L):
                s += ga[p] * G[b, p]
            out[i, a, b] = s
            out[i, b, a] = s


@njit(cache=True, parallel=True)
def _hessians(indptr, q, Hc, out):
    for i in prange(out.shape[0]):
        _hessian_row(i, indptr, q, Hc, out)


def row_hessians(indptr, q, Hc):
    """``(b, k, k)``: ``Σ_p q_p h_p h_pᵀ`` per row of a CSR block (``indptr``), ``q`` and
    ``Hc`` (nnz × k, the columns of ``H`` at the stored entries) aligned with its entries."""
    b, k = indptr.size - 1, Hc.shape[1]
    out = np.empty((b, k, k))
    _hessians(np.ascontiguousarray(indptr, dtype=np.int64), np.ascontiguousarray(q, dtype=np.float64),
              np.ascontiguousarray(Hc, dtype=np.float64), out)
    return out
