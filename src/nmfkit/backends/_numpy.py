"""NumPy/SciPy backend: CPU arrays and ``scipy.sparse`` matrices, in-place ``out=`` kernels."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ._base import Backend

__all__ = ["NumpyBackend"]


class NumpyBackend(Backend):
    """NumPy arrays and scipy.sparse matrices on the CPU."""

    name = "numpy"
    device = "cpu"
    xp = np

    def asarray(self, a, dtype=None):
        return np.asarray(a, dtype=dtype)

    def from_numpy(self, a, dtype=None):
        return np.asarray(a, dtype=dtype)

    def to_numpy(self, a):
        return np.asarray(a)

    def zeros(self, shape, dtype):
        return np.zeros(shape, dtype=dtype)

    def empty(self, shape, dtype):
        return np.empty(shape, dtype=dtype)

    def ones(self, shape, dtype):
        return np.ones(shape, dtype=dtype)

    def full(self, shape, value, dtype):
        return np.full(shape, value, dtype=dtype)

    def eye(self, n, dtype):
        return np.eye(n, dtype=dtype)

    def arange(self, n):
        return np.arange(n, dtype=np.int64)

    def index(self, idx):
        return np.asarray(idx, dtype=np.int64)

    def as_dtype(self, dtype):
        return np.dtype(dtype)

    def np_dtype(self, dtype):
        return np.dtype(dtype)

    def astype(self, a, dtype):
        return a.astype(dtype, copy=False)

    def eps(self, dtype) -> float:
        return float(np.finfo(dtype).eps)

    def clamp_min_(self, a, value):
        """In place ``a = max(a, value)``; returns ``a``."""
        return np.maximum(a, value, out=a)

    def clamp_min(self, a, value):
        return np.maximum(a, value)

    def mul_(self, a, b):
        return np.multiply(a, b, out=a)

    def div_(self, a, b):
        return np.divide(a, b, out=a)

    def add_(self, a, b):
        return np.add(a, b, out=a)

    def sub_(self, a, b):
        return np.subtract(a, b, out=a)

    def multiply(self, a, b, out=None):
        return np.multiply(a, b, out=out)

    def divide(self, a, b, out=None):
        return np.divide(a, b, out=out)

    def maximum(self, a, b):
        return np.maximum(a, b)

    def minimum(self, a, b):
        return np.minimum(a, b)

    def abs(self, a):
        return np.abs(a)

    def exp(self, a):
        return np.exp(a)

    def log(self, a):
        return np.log(a)

    def log1p(self, a):
        return np.log1p(a)

    def sqrt(self, a):
        return np.sqrt(a)

    def xlogy(self, x, y):
        """``x * log(y)`` with ``0 * log(0) = 0``."""
        from scipy.special import xlogy

        return xlogy(x, y)

    def isnan(self, a):
        return np.isnan(a)

    def isfinite(self, a):
        return np.isfinite(a)

    def where(self, cond, a, b):
        return np.where(cond, a, b)

    def nan_to_zero(self, a):
        return np.where(np.isnan(a), 0, a)

    def sum(self, a, axis=None):
        return a.sum(axis=axis)

    def max(self, a, axis=None):
        return a.max(axis=axis)

    def min(self, a, axis=None):
        return a.min(axis=axis)

    def any(self, a, axis=None):
        return np.any(a, axis=axis)

    def all(self, a, axis=None):
        return np.all(a, axis=axis)

    def norm2(self, a) -> float:
        """Squared Frobenius norm, dense or sparse, accumulated in float64."""
        if sp.issparse(a):
            a = a.data
        a = a.ravel() if a.flags.c_contiguous or a.flags.f_contiguous else a.reshape(-1)
        if a.dtype == np.float64:
            return float(a @ a)
        # float32 dot products accumulate in float32 (relative error up to ~n·eps):
        # accumulate chunks in float64 without a full float64 copy
        total = 0.0
        for start in range(0, a.size, 1 << 20):
            c = a[start : start + (1 << 20)].astype(np.float64)
            total += float(c @ c)
        return total

    def sumsq(self, a) -> float:
        """``Σ a²`` of a dense array in its own precision (cheap; for stopping tests)."""
        a = a.ravel() if a.flags.c_contiguous or a.flags.f_contiguous else a.reshape(-1)
        return float(a @ a)

    def vdot(self, a, b) -> float:
        """Sum of the elementwise product of two dense arrays of one shape, in float64."""
        if a.dtype == np.float64 and b.dtype == np.float64:
            return float(np.einsum("ij,ij->", a, b))
        return float(np.einsum("ij,ij->", a, b, dtype=np.float64))

    def size(self, a) -> int:
        return int(a.size)

    def copy(self, a):
        return a.copy()

    def contiguous(self, a):
        return np.ascontiguousarray(a)

    def reshape(self, a, shape):
        return a.reshape(shape)

    def mT(self, a):
        return np.swapaxes(a, -1, -2)

    def stack(self, arrays, axis=0):
        return np.stack(arrays, axis=axis)

    def concat(self, arrays, axis=0):
        return np.concatenate(arrays, axis=axis)

    def take(self, a, idx, axis=0):
        idx = np.asarray(idx)
        if sp.issparse(a):  # rows or columns of a scipy.sparse matrix stay sparse
            return a[idx] if axis == 0 else a[:, idx]
        return np.take(a, idx, axis=axis)

    def flatnonzero(self, a):
        return np.flatnonzero(a)

    def cumsum(self, a, axis=0):
        return np.cumsum(a, axis=axis)

    def argsort(self, a, descending=False):
        return np.argsort(-a if descending else a, kind="stable")

    def put_(self, a, idx, values):
        a[np.asarray(idx)] = values
        return a

    def diag(self, a):
        return np.diagonal(a, axis1=-2, axis2=-1).copy()

    def matmul(self, a, b, out=None):
        return np.matmul(a, b, out=out)

    def solve(self, A, B):
        return np.linalg.solve(A, B)

    def cholesky(self, A):
        return np.linalg.cholesky(A)

    def inv(self, A):
        return np.linalg.inv(A)

    def pinv(self, A):
        return np.linalg.pinv(A)

    def qr(self, A):
        return np.linalg.qr(A, mode="reduced")

    def svd(self, A):
        return np.linalg.svd(A, full_matrices=False)
