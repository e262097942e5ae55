"""Sparse kernels: products with a CSR matrix and ``A B`` evaluated only at its non-zeros.

``sddmm`` (sampled dense-dense matrix product) is what keeps KL / β NMF on sparse
counts at O(nnz·k) work and memory: ``(A B)`` is never formed densely. Rows are
processed in chunks so the gathered ``(nnz_chunk, k)`` temporaries stay bounded.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["SparseInfo", "sddmm", "csr_like"]

#: Elements of the (nnz_chunk, k) temporaries per chunk: bounds extra memory.
_CHUNK_ELEMENTS = 1 << 18


class SparseInfo:
    """A CSR matrix with the row index of each stored entry, computed once.

    Parameters
    ----------
    X : scipy.sparse matrix, shape (m, n)
        Converted to canonical CSR (sorted indices, no duplicates).
    """

    def __init__(self, X):
        X = sp.csr_matrix(X)
        X.sum_duplicates()
        X.sort_indices()
        self.X = X
        self.shape = X.shape
        self.data = X.data
        self.indices = X.indices
        self.indptr = X.indptr
        counts = np.diff(X.indptr)
        self.rows = np.repeat(np.arange(X.shape[0], dtype=np.int64), counts)
        self._T = None

    @property
    def T(self) -> "SparseInfo":
        """The transpose, as its own CSR (cached)."""
        if self._T is None:
            self._T = SparseInfo(self.X.T.tocsr())
            self._T._T = self
        return self._T


def sddmm(info: SparseInfo, A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``(A @ B)[i, j]`` for every stored entry ``(i, j)`` of ``info.X``, in CSR order.

    Parameters
    ----------
    info : SparseInfo
        Pattern of the sparse matrix, shape (m, n).
    A : ndarray, shape (m, k)
    B : ndarray, shape (k, n)

    Returns
    -------
    ndarray, shape (nnz,)
    """
    nnz = info.data.shape[0]
    k = A.shape[1]
    out = np.empty(nnz, dtype=np.result_type(A.dtype, B.dtype))
    Bt = np.ascontiguousarray(B.T)
    step = max(1, _CHUNK_ELEMENTS // max(k, 1))
    for start in range(0, nnz, step):
        stop = min(nnz, start + step)
        rows = info.rows[start:stop]
        cols = info.indices[start:stop]
        np.einsum("ij,ij->i", A[rows], Bt[cols], out=out[start:stop])
    return out


def csr_like(info: SparseInfo, values: np.ndarray):
    """A CSR matrix with ``info``'s pattern and the given stored values."""
    return sp.csr_matrix((values, info.indices, info.indptr), shape=info.shape)
