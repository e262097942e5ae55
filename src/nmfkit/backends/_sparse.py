"""Sparse kernels: products with a CSR matrix and ``A B`` evaluated only at its non-zeros.

Everything works on **row blocks** of the CSR matrix, so no temporary grows with
the matrix: a block of rows ``r0:r1`` is handled either

* **dense** when it is dense enough (at least :data:`DENSE_BLOCK_DENSITY` of its
  entries stored): ``A[r0:r1] @ B`` is formed as a small dense block by BLAS and read
  at the stored positions. On count data of a few % density this is several times
  faster than gathering, because BLAS runs near peak and the gather is memory bound;
* **sparse** otherwise: the rows of ``A`` and columns of ``B`` of each stored entry
  are gathered and multiplied (SDDMM, O(nnz·k)).

A block holds at most :data:`BLOCK_ELEMENTS` dense entries, so the extra memory
of any kernel here is a few MB whatever the size of ``X``. No per-entry row index
is stored for the whole matrix (it would cost 8 bytes per stored entry): blocks
derive their local indices from ``indptr`` and cache them only when small.
"""

from __future__ import annotations

import weakref

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

__all__ = ["SparseInfo", "RowBlock", "iter_block_values", "sddmm", "csr_like", "BLOCK_ELEMENTS", "DENSE_BLOCK_DENSITY"]

#: Dense entries of one row block (8 MB in float64).
BLOCK_ELEMENTS = 1 << 18
#: A block at least this dense is evaluated with dense BLAS products.
DENSE_BLOCK_DENSITY = 1.0 / 40.0
#: Bytes of cached per-entry indices (int32) kept for all blocks together.
_INDEX_CACHE_BYTES = 64 << 20


@dataclass
class RowBlock:
    """Rows ``r0:r1`` of a CSR matrix, stored entries ``lo:hi`` of its arrays."""

    r0: int
    r1: int
    lo: int
    hi: int
    dense: bool
    _index: np.ndarray | None = field(default=None, repr=False)

    def index(self, info: "SparseInfo", cache: bool) -> np.ndarray:
        """Per stored entry: the flat position in the block (dense) or its local row (sparse)."""
        if self._index is not None:
            return self._index
        counts = np.diff(info.indptr[self.r0 : self.r1 + 1])
        rows = np.repeat(np.arange(self.r1 - self.r0, dtype=np.int64), counts)
        if self.dense:
            rows *= info.shape[1]
            rows += info.indices[self.lo : self.hi]
        idx = rows.astype(np.int32) if (self.r1 - self.r0) * info.shape[1] < 2**31 else rows
        if cache:
            self._index = idx
        return idx


class SparseInfo:
    """A canonical CSR matrix and its partition into row blocks.

    Parameters
    ----------
    X : scipy.sparse matrix, shape (m, n)
        Converted to canonical CSR (sorted indices, no duplicates); a canonical CSR
        input is used as is, without a copy.
    """

    def __init__(self, X):
        X = X if sp.isspmatrix_csr(X) or isinstance(X, sp.csr_array) else sp.csr_matrix(X)
        if not X.has_canonical_format:
            X = X.copy()
            X.sum_duplicates()
            X.sort_indices()
        self.X = X
        self.shape = X.shape
        self.data = X.data
        self.indices = X.indices
        self.indptr = X.indptr
        self._T = None
        self._parent = None  # the matrix this is the transpose of (held weakly: no cycle)
        self._blocks = None

    @property
    def nnz(self) -> int:
        return int(self.data.shape[0])

    @property
    def T(self) -> "SparseInfo":
        """The transpose, as its own CSR (cached; costs a copy of ``X``)."""
        parent = self._parent() if self._parent is not None else None
        if parent is not None:
            return parent
        if self._T is None:
            self._T = SparseInfo(self.X.T.tocsr())
            self._T._parent = weakref.ref(self)
        return self._T

    @property
    def blocks(self) -> list[RowBlock]:
        """The row blocks (computed once)."""
        if self._blocks is None:
            m, n = self.shape
            rows = max(1, BLOCK_ELEMENTS // max(n, 1))
            out = []
            for r0 in range(0, m, rows):
                r1 = min(m, r0 + rows)
                lo, hi = int(self.indptr[r0]), int(self.indptr[r1])
                dense = (hi - lo) >= DENSE_BLOCK_DENSITY * (r1 - r0) * n
                out.append(RowBlock(r0, r1, lo, hi, dense))
            self._blocks = out
            self._cache_index = self.nnz * 4 <= _INDEX_CACHE_BYTES
        return self._blocks

    def gather_values(self, blk: RowBlock, A, Bt):
        """``(A B)`` at the stored entries of a sparse block, by gathering (``Bt = Bᵀ``)."""
        rows = blk.index(self, self._cache_index)
        return np.einsum("ij,ij->i", A[blk.r0 : blk.r1][rows], Bt[self.indices[blk.lo : blk.hi]])


def iter_block_values(info: SparseInfo, A: np.ndarray, B: np.ndarray):
    """Yield ``(blk, y)`` with ``y = (A B)`` at the stored entries of each row block.

    ``y`` may live in a buffer reused by the next block: use it before advancing.
    """
    Bt = np.ascontiguousarray(B.T)
    dtype = np.result_type(A.dtype, B.dtype)
    buf = vals = None
    for blk in info.blocks:
        if blk.dense:
            size = (blk.r1 - blk.r0) * info.shape[1]
            if buf is None or buf.size < size:
                buf = np.empty(size, dtype=dtype)
                vals = np.empty(max(BLOCK_ELEMENTS, size), dtype=dtype)
            Y = np.matmul(A[blk.r0 : blk.r1], B, out=buf[:size].reshape(blk.r1 - blk.r0, -1))
            y = vals[: blk.hi - blk.lo]
            np.take(Y.ravel(), blk.index(info, info._cache_index), out=y, mode="clip")
            yield blk, y
        else:
            yield blk, info.gather_values(blk, A, Bt)


def sddmm(info: SparseInfo, A: np.ndarray, B: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``(A @ B)[i, j]`` for every stored entry ``(i, j)`` of ``info.X``, in CSR order.

    Parameters
    ----------
    info : SparseInfo
        Pattern of the sparse matrix, shape (m, n).
    A : ndarray, shape (m, k)
    B : ndarray, shape (k, n)
    out : ndarray, shape (nnz,), optional
        Where to write the result.

    Returns
    -------
    ndarray, shape (nnz,)
    """
    if out is None:
        out = np.empty(info.nnz, dtype=np.result_type(A.dtype, B.dtype))
    for blk, y in iter_block_values(info, A, B):
        out[blk.lo : blk.hi] = y
    return out


def csr_like(info: SparseInfo, values: np.ndarray):
    """A CSR matrix with ``info``'s pattern and the given stored values."""
    return sp.csr_matrix((values, info.indices, info.indptr), shape=info.shape)
