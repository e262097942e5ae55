"""The :class:`Backend` interface: every operation the solvers need, in one place.

A solver receives a backend and calls only these methods (plus the operators that
every array library shares: ``+ - * / @``, ``.T`` on 2-D arrays, ``.shape``,
``.dtype``, slicing), so it never branches on the array library. Methods ending in
``_`` work in place and return their first argument.
"""

from __future__ import annotations

import abc
from typing import Any

import numpy as np

__all__ = ["Backend"]


class Backend(abc.ABC):
    """Operations the solvers need, for one array library and device.

    Implementations: :class:`~nmfkit.backends.NumpyBackend` (NumPy/SciPy, in-place
    ``out=`` kernels), :class:`~nmfkit.backends.ArrayAPIBackend` (any array-API
    library through ``array_api_compat``: CuPy, array-api-strict, ...) and
    :class:`~nmfkit.backends.TorchBackend` (the array-API backend with native torch
    kernels where they are faster).

    Attributes
    ----------
    name : str
        ``"numpy"``, ``"torch"``, ``"cupy"``, ``"array_api_strict"``, ...
    device : object
        Where arrays live (``"cpu"`` for NumPy; a ``torch.device``; ...).
    xp : module
        The array-API namespace of the library (NumPy itself for NumPy).
    """

    name = "abstract"
    device: Any = "cpu"
    xp: Any = None

    # -- creation and transfer ---------------------------------------------------------
    @abc.abstractmethod
    def asarray(self, a, dtype=None):
        """``a`` as an array of this backend (no copy when it already is one)."""

    @abc.abstractmethod
    def from_numpy(self, a: np.ndarray, dtype=None):
        """A NumPy array moved to this backend's device (``dtype``: NumPy or backend dtype)."""

    @abc.abstractmethod
    def to_numpy(self, a) -> np.ndarray:
        """A NumPy copy (or view) of a backend array. Moves data to the host: use on small arrays."""

    @abc.abstractmethod
    def zeros(self, shape, dtype):
        """An array of zeros on the device."""

    def as_input(self, X, name: str = "X", dtype=None):
        """``X`` as a float array of this backend for the solvers, or NMFInputError.

        Device backends check their library's specifics here (autograd, sparse layouts,
        complex dtypes), so input validation stays free of library branches; NumPy and
        scipy.sparse data are validated by :mod:`nmfkit._validation` itself.
        """
        return X

    def cast_like(self, a, ref):
        """``a`` as an array of this backend with ``ref``'s dtype (and device); no copy
        when it already is one."""
        return self.astype(self.asarray(a), ref.dtype)

    def empty(self, shape, dtype):
        """An uninitialised array on the device (zeros where the library has no empty)."""
        return self.zeros(shape, dtype)

    @abc.abstractmethod
    def ones(self, shape, dtype):
        """An array of ones on the device."""

    @abc.abstractmethod
    def full(self, shape, value, dtype):
        """An array filled with ``value`` on the device."""

    @abc.abstractmethod
    def eye(self, n: int, dtype):
        """The ``n × n`` identity on the device."""

    @abc.abstractmethod
    def arange(self, n: int):
        """``0, 1, …, n-1`` as an int64 array on the device."""

    @abc.abstractmethod
    def index(self, idx):
        """An integer index array (NumPy array, list or backend array) as an int64 array on the device."""

    # -- dtypes ---------------------------------------------------------------------
    @abc.abstractmethod
    def as_dtype(self, dtype):
        """The backend dtype for a NumPy dtype, a dtype name or a backend dtype."""

    @abc.abstractmethod
    def np_dtype(self, dtype) -> np.dtype:
        """The NumPy dtype equivalent to a backend dtype."""

    @abc.abstractmethod
    def astype(self, a, dtype):
        """``a`` cast to ``dtype`` (no copy when it already has it)."""

    @abc.abstractmethod
    def eps(self, dtype) -> float:
        """Machine epsilon of a floating dtype."""

    # -- elementwise ---------------------------------------------------------------
    @abc.abstractmethod
    def clamp_min_(self, a, value):
        """In place ``a = max(a, value)``; returns ``a``."""

    @abc.abstractmethod
    def clamp_min(self, a, value):
        """``max(a, value)`` as a new array."""

    @abc.abstractmethod
    def mul_(self, a, b):
        """In place ``a *= b``; returns ``a``."""

    @abc.abstractmethod
    def div_(self, a, b):
        """In place ``a /= b``; returns ``a``."""

    @abc.abstractmethod
    def add_(self, a, b):
        """In place ``a += b``; returns ``a``."""

    @abc.abstractmethod
    def sub_(self, a, b):
        """In place ``a -= b``; returns ``a``."""

    @abc.abstractmethod
    def multiply(self, a, b, out=None):
        """``a * b``, written into ``out`` where the library allows (NumPy, torch);
        always use the returned array, which may be new."""

    @abc.abstractmethod
    def divide(self, a, b, out=None):
        """``a / b``, written into ``out`` where the library allows (``out`` may be ``b``:
        ``Q = b.divide(X, Y, out=Y)``); always use the returned array."""

    @abc.abstractmethod
    def maximum(self, a, b):
        """Elementwise maximum (``b`` may be a Python scalar)."""

    @abc.abstractmethod
    def minimum(self, a, b):
        """Elementwise minimum (``b`` may be a Python scalar)."""

    @abc.abstractmethod
    def abs(self, a):
        """Elementwise absolute value."""

    @abc.abstractmethod
    def exp(self, a):
        """Elementwise exponential."""

    @abc.abstractmethod
    def log(self, a):
        """Elementwise natural logarithm."""

    @abc.abstractmethod
    def log1p(self, a):
        """Elementwise ``log(1 + a)``."""

    @abc.abstractmethod
    def sqrt(self, a):
        """Elementwise square root."""

    @abc.abstractmethod
    def xlogy(self, x, y):
        """``x * log(y)`` with ``0 * log(0) = 0``."""

    @abc.abstractmethod
    def isnan(self, a):
        """Elementwise NaN test (a boolean array)."""

    @abc.abstractmethod
    def isfinite(self, a):
        """Elementwise finiteness test (a boolean array)."""

    @abc.abstractmethod
    def where(self, cond, a, b):
        """``a`` where ``cond`` else ``b`` (``a``/``b`` may be Python scalars)."""

    @abc.abstractmethod
    def nan_to_zero(self, a):
        """``a`` with NaN entries replaced by 0."""

    # -- reductions -------------------------------------------------------------------
    @abc.abstractmethod
    def sum(self, a, axis=None):
        """Sum (booleans count as 0/1); an array (0-D without ``axis``)."""

    @abc.abstractmethod
    def max(self, a, axis=None):
        """Maximum; an array (0-D without ``axis``)."""

    @abc.abstractmethod
    def min(self, a, axis=None):
        """Minimum; an array (0-D without ``axis``)."""

    @abc.abstractmethod
    def any(self, a, axis=None):
        """Logical or; an array (0-D without ``axis``: ``bool(b.any(a))`` reads it)."""

    @abc.abstractmethod
    def all(self, a, axis=None):
        """Logical and; an array (0-D without ``axis``)."""

    @abc.abstractmethod
    def norm2(self, a) -> float:
        """Squared Frobenius norm, accumulated in float64."""

    @abc.abstractmethod
    def sumsq(self, a) -> float:
        """``Σ a²`` in the array's own precision (cheap; for stopping tests)."""

    @abc.abstractmethod
    def vdot(self, a, b) -> float:
        """Sum of the elementwise product of two arrays of one shape, in float64."""

    def item(self, a) -> float:
        """A 0-D array (or a number) as a Python float (a device sync)."""
        return float(a)

    @abc.abstractmethod
    def size(self, a) -> int:
        """Number of elements."""

    # -- shape and order ------------------------------------------------------------
    @abc.abstractmethod
    def copy(self, a):
        """A copy of ``a``."""

    @abc.abstractmethod
    def contiguous(self, a):
        """``a`` in C order (no copy when it already is)."""

    @abc.abstractmethod
    def reshape(self, a, shape):
        """``a`` with a new shape."""

    @abc.abstractmethod
    def mT(self, a):
        """``a`` with its last two axes swapped (a view where the library allows)."""

    @abc.abstractmethod
    def stack(self, arrays, axis: int = 0):
        """Arrays of one shape stacked along a new axis."""

    @abc.abstractmethod
    def concat(self, arrays, axis: int = 0):
        """Arrays joined along an existing axis."""

    @abc.abstractmethod
    def take(self, a, idx, axis: int = 0):
        """The entries of ``a`` at integer positions ``idx`` along ``axis`` (any index kind)."""

    @abc.abstractmethod
    def flatnonzero(self, a):
        """Positions of the true (non-zero) entries of a 1-D array, as an index array."""

    @abc.abstractmethod
    def cumsum(self, a, axis: int = 0):
        """Cumulative sum along ``axis`` (booleans count as 0/1)."""

    @abc.abstractmethod
    def argsort(self, a, descending: bool = False):
        """Stable argsort of a 1-D array, as an index array on the device."""

    @abc.abstractmethod
    def put_(self, a, idx, values):
        """In place ``a[idx] = values`` along axis 0 (``idx``: integer positions, any index
        kind; e.g. the active restarts of a stack); returns ``a``."""

    @abc.abstractmethod
    def diag(self, a):
        """The diagonal of the last two axes (a copy): ``(k, k) -> (k,)``, ``(R, k, k) -> (R, k)``."""

    @abc.abstractmethod
    def matmul(self, a, b, out=None):
        """``a @ b``, written into ``out`` where the library allows; use the returned array."""

    # -- linear algebra (batched over leading axes) ---------------------------------------
    @abc.abstractmethod
    def solve(self, A, B):
        """``A⁻¹ B``; raises ``numpy.linalg.LinAlgError``/``RuntimeError`` on singular A
        (libraries that do not raise return non-finite values)."""

    @abc.abstractmethod
    def cholesky(self, A):
        """Lower Cholesky factor; raises (or returns non-finite values) when A is not
        positive definite."""

    @abc.abstractmethod
    def inv(self, A):
        """Matrix inverse."""

    @abc.abstractmethod
    def pinv(self, A):
        """Moore-Penrose pseudo-inverse."""

    @abc.abstractmethod
    def qr(self, A):
        """Reduced QR decomposition ``(Q, R)``."""

    @abc.abstractmethod
    def svd(self, A):
        """Reduced SVD ``(U, S, Vt)`` with singular values in decreasing order."""
