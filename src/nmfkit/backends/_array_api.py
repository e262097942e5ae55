"""Generic backend over the array API standard (via ``array_api_compat``).

Serves every library ``array_api_compat.array_namespace`` knows: CuPy, PyTorch (as
the base of :class:`~nmfkit.backends.TorchBackend`), array-api-strict, dpnp, ...
Arrays stay on their own device; the only host transfers are :meth:`to_numpy`
(called on small arrays) and :meth:`from_numpy` (seeded draws, small starts).
"""

from __future__ import annotations

import math

import numpy as np

from ._base import Backend

__all__ = ["ArrayAPIBackend", "library_name"]


def library_name(xp) -> str:
    """A short name for an array-API namespace (``"cupy"``, ``"torch"``, ...)."""
    import array_api_compat as c

    for name, test in (("numpy", c.is_numpy_namespace), ("torch", c.is_torch_namespace),
                       ("cupy", c.is_cupy_namespace),
                       ("array_api_strict", c.is_array_api_strict_namespace)):
        if test(xp):
            return name
    return xp.__name__.split(".")[-1]


class ArrayAPIBackend(Backend):
    """Arrays of any array-API library, computed on their own device.

    Parameters
    ----------
    xp : module
        The namespace, as returned by ``array_api_compat.array_namespace``.
    device : object
        The device of the arrays (``array_api_compat.device(x)``).
    """

    def __init__(self, xp, device):
        self.xp = xp
        self.device = device
        self.name = library_name(xp)

    # -- creation and transfer ---------------------------------------------------------
    def as_input(self, X, name: str = "X", dtype=None):
        """``X`` as a float array of this library for the solvers (checked, on its device).

        Real floating dtypes stay (``dtype`` forces float32 / float64), integers and
        booleans become float64; complex or non-numeric dtypes raise NMFInputError.
        """
        from ..exceptions import NMFInputError, NMFInputTypeError

        xp = self.xp
        if xp.isdtype(X.dtype, "complex floating"):
            raise NMFInputError(f"Complex data not supported: {name} is complex; pass real "
                                f"numbers (abs({name}) or {name}.real)")
        if not xp.isdtype(X.dtype, ("real floating", "integral", "bool")):
            raise NMFInputTypeError(f"{name} has dtype {X.dtype}, which is not numeric; convert "
                                    "it to a float dtype")
        if dtype is not None:
            return self.astype(X, np.dtype(dtype))
        return X if X.dtype in (xp.float32, xp.float64) else self.astype(X, "float64")

    def asarray(self, a, dtype=None):
        dtype = None if dtype is None else self.as_dtype(dtype)
        if isinstance(a, np.ndarray):
            return self.from_numpy(a, dtype)
        return self.xp.asarray(a, dtype=dtype, device=self.device)

    def from_numpy(self, a, dtype=None):
        a = np.ascontiguousarray(a)
        dtype = self.as_dtype(a.dtype if dtype is None else dtype)
        return self.xp.asarray(a, dtype=dtype, device=self.device)

    def to_numpy(self, a):
        return _host(a)

    def zeros(self, shape, dtype):
        return self.xp.zeros(shape, dtype=self.as_dtype(dtype), device=self.device)

    def ones(self, shape, dtype):
        return self.xp.ones(shape, dtype=self.as_dtype(dtype), device=self.device)

    def full(self, shape, value, dtype):
        return self.xp.full(shape, value, dtype=self.as_dtype(dtype), device=self.device)

    def eye(self, n, dtype):
        return self.xp.eye(n, dtype=self.as_dtype(dtype), device=self.device)

    def arange(self, n):
        return self.xp.arange(n, dtype=self.xp.int64, device=self.device)

    def index(self, idx):
        if isinstance(idx, (np.ndarray, list, tuple, range)):
            return self.from_numpy(np.asarray(idx, dtype=np.int64))
        return self.xp.astype(idx, self.xp.int64)

    # -- dtypes ---------------------------------------------------------------------
    def as_dtype(self, dtype):
        if isinstance(dtype, (str, type, np.dtype)):
            return getattr(self.xp, np.dtype(dtype).name)
        return dtype

    def np_dtype(self, dtype):
        inner = getattr(dtype, "_np_dtype", None)  # array-api-strict
        if inner is not None:
            return np.dtype(inner)
        try:
            return np.dtype(dtype)
        except TypeError:
            return np.dtype(str(dtype).split(".")[-1])

    def astype(self, a, dtype):
        dtype = self.as_dtype(dtype)
        return a if a.dtype == dtype else self.xp.astype(a, dtype)

    def eps(self, dtype) -> float:
        return float(self.xp.finfo(self.as_dtype(dtype)).eps)

    # -- elementwise ---------------------------------------------------------------
    def clamp_min_(self, a, value):
        a[...] = self.xp.clip(a, min=value)
        return a

    def clamp_min(self, a, value):
        return self.xp.clip(a, min=value)

    def mul_(self, a, b):
        a *= b
        return a

    def div_(self, a, b):
        a /= b
        return a

    def add_(self, a, b):
        a += b
        return a

    def sub_(self, a, b):
        a -= b
        return a

    def multiply(self, a, b, out=None):
        return a * b

    def divide(self, a, b, out=None):
        return a / b

    def maximum(self, a, b):
        return self.xp.maximum(a, b)

    def minimum(self, a, b):
        return self.xp.minimum(a, b)

    def abs(self, a):
        return self.xp.abs(a)

    def exp(self, a):
        return self.xp.exp(a)

    def log(self, a):
        return self.xp.log(a)

    def log1p(self, a):
        return self.xp.log1p(a)

    def sqrt(self, a):
        return self.xp.sqrt(a)

    def xlogy(self, x, y):
        """``x * log(y)`` with ``0 * log(0) = 0``."""
        zero = x == 0
        return self.xp.where(zero, 0.0, x * self.xp.log(self.xp.where(zero, 1.0, y)))

    def isnan(self, a):
        return self.xp.isnan(a)

    def isfinite(self, a):
        return self.xp.isfinite(a)

    def where(self, cond, a, b):
        return self.xp.where(cond, a, b)

    def nan_to_zero(self, a):
        return self.xp.where(self.xp.isnan(a), 0.0, a)

    # -- reductions -------------------------------------------------------------------
    def sum(self, a, axis=None):
        if a.dtype == self.xp.bool:
            a = self.xp.astype(a, self.xp.int64)
        return self.xp.sum(a, axis=axis)

    def max(self, a, axis=None):
        return self.xp.max(a, axis=axis)

    def min(self, a, axis=None):
        return self.xp.min(a, axis=axis)

    def any(self, a, axis=None):
        return self.xp.any(a, axis=axis)

    def all(self, a, axis=None):
        return self.xp.all(a, axis=axis)

    def norm2(self, a) -> float:
        a = self.xp.astype(a, self.xp.float64)
        return float(self.xp.sum(a * a))

    def sumsq(self, a) -> float:
        return float(self.xp.sum(a * a))

    def vdot(self, a, b) -> float:
        f64 = self.xp.float64
        return float(self.xp.sum(self.xp.astype(a, f64) * self.xp.astype(b, f64)))

    def size(self, a) -> int:
        return math.prod(a.shape)

    # -- shape and order ------------------------------------------------------------
    def copy(self, a):
        return self.xp.asarray(a, copy=True)

    def contiguous(self, a):
        f = getattr(self.xp, "ascontiguousarray", None)  # CuPy; the standard has no layouts
        return a if f is None else f(a)

    def reshape(self, a, shape):
        return self.xp.reshape(a, shape)

    def mT(self, a):
        return self.xp.matrix_transpose(a)

    def stack(self, arrays, axis=0):
        return self.xp.stack(arrays, axis=axis)

    def concat(self, arrays, axis=0):
        return self.xp.concat(arrays, axis=axis)

    def take(self, a, idx, axis=0):
        return self.xp.take(a, self.index(idx), axis=axis)

    def flatnonzero(self, a):
        return self.xp.nonzero(a)[0]

    def cumsum(self, a, axis=0):
        if a.dtype == self.xp.bool:
            a = self.xp.astype(a, self.xp.int64)
        return self.xp.cumulative_sum(a, axis=axis)

    def argsort(self, a, descending=False):
        return self.xp.argsort(a, descending=descending, stable=True)

    def put_(self, a, idx, values):
        # the standard has no integer-array assignment: one row at a time (idx is short:
        # restarts, components)
        idx = self.to_numpy(self.index(idx)) if not isinstance(idx, (list, tuple, range)) else idx
        for j, i in enumerate(idx):
            a[int(i), ...] = values[j, ...]
        return a

    def matmul(self, a, b, out=None):
        return a @ b

    def diag(self, a):
        return self.xp.asarray(self.xp.linalg.diagonal(a), copy=True)

    # -- linear algebra -------------------------------------------------------------
    def solve(self, A, B):
        return self.xp.linalg.solve(A, B)

    def cholesky(self, A):
        return self.xp.linalg.cholesky(A)

    def inv(self, A):
        return self.xp.linalg.inv(A)

    def pinv(self, A):
        return self.xp.linalg.pinv(A)

    def qr(self, A):
        return tuple(self.xp.linalg.qr(A, mode="reduced"))

    def svd(self, A):
        return tuple(self.xp.linalg.svd(A, full_matrices=False))


def _host(a) -> np.ndarray:
    """A NumPy copy of an array of any supported library (from any device)."""
    import array_api_compat as c

    if isinstance(a, np.ndarray):
        return a
    if c.is_torch_array(a):
        return a.detach().cpu().numpy()
    if c.is_cupy_array(a):
        return a.get()
    if c.is_array_api_strict_namespace(c.array_namespace(a)):
        import array_api_strict

        return np.asarray(a.to_device(array_api_strict.Device("CPU_DEVICE")))
    try:
        return np.asarray(a)
    except (TypeError, RuntimeError, ValueError):
        return np.from_dlpack(c.to_device(a, "cpu"))
