"""Array-library dispatch: everything backend specific, and nothing else.

The namespace is inferred from the inputs (no global switch): NumPy arrays and
``scipy.sparse`` matrices compute on the CPU with NumPy/SciPy; ``torch.Tensor``
inputs compute with PyTorch on the tensor's own device. Solvers call the small
set of operations on :class:`Backend`, so a new array library (CuPy, Dask) is a
new subclass, not a rewrite of the solvers.
"""

from __future__ import annotations

import abc
import sys
from typing import Any

import numpy as np
import scipy.sparse as sp

__all__ = ["Backend", "NumpyBackend", "TorchBackend", "get_namespace", "is_sparse", "is_torch",
           "single_threaded_blas", "to_numpy"]


def is_sparse(X: Any) -> bool:
    """True for a ``scipy.sparse`` matrix or array."""
    return sp.issparse(X)


def is_torch(X: Any) -> bool:
    """True for a ``torch.Tensor`` (without importing torch when it is not loaded)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(X, torch.Tensor)


class Backend(abc.ABC):
    """Operations the solvers need, for one array library and device.

    Subclasses implement them for NumPy/SciPy (:class:`NumpyBackend`) and PyTorch
    (:class:`TorchBackend`); a CuPy or Dask backend is one more subclass.
    """

    name = "abstract"
    device: Any = "cpu"

    @abc.abstractmethod
    def asarray(self, a, dtype=None):
        """``a`` as an array of this backend (no copy when it already is one)."""

    @abc.abstractmethod
    def from_numpy(self, a: np.ndarray, dtype=None):
        """A NumPy array moved to this backend's device."""

    @abc.abstractmethod
    def to_numpy(self, a) -> np.ndarray:
        """A NumPy copy (or view) of a backend array."""

    def item(self, a) -> float:
        return float(a)


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

    def eps(self, dtype) -> float:
        return float(np.finfo(dtype).eps)

    def zeros(self, shape, dtype):
        return np.zeros(shape, dtype=dtype)

    def empty(self, shape, dtype):
        return np.empty(shape, dtype=dtype)

    def divide_(self, a, b):
        """``a / b`` written into ``b`` (which must have the broadcast shape); returns it."""
        return np.divide(a, b, out=b)

    def ones(self, shape, dtype):
        return np.ones(shape, dtype=dtype)

    def copy(self, a):
        return a.copy()

    def clamp_min_(self, a, value):
        """In place ``a = max(a, value)``; returns ``a``."""
        return np.maximum(a, value, out=a)

    def clamp_min(self, a, value):
        return np.maximum(a, value)

    def sum(self, a, axis=None):
        return a.sum(axis=axis)

    def isnan(self, a):
        return np.isnan(a)

    def where(self, cond, a, b):
        return np.where(cond, a, b)

    def nan_to_zero(self, a):
        return np.where(np.isnan(a), 0, a)

    def log(self, a):
        return np.log(a)

    def xlogy(self, x, y):
        """``x * log(y)`` with ``0 * log(0) = 0``."""
        from scipy.special import xlogy

        return xlogy(x, y)

    def sqrt(self, a):
        return np.sqrt(a)

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

    def diag(self, a):
        return np.diagonal(a).copy()

    def contiguous(self, a):
        return np.ascontiguousarray(a)

    def solve(self, A, B):
        return np.linalg.solve(A, B)


class TorchBackend(Backend):
    """PyTorch tensors, computed on their own device."""

    name = "torch"

    def __init__(self, device=None):
        import torch

        self.torch = torch
        self.xp = torch
        self.device = device if device is not None else torch.device("cpu")

    def asarray(self, a, dtype=None):
        return self.torch.as_tensor(a, dtype=dtype, device=self.device)

    def from_numpy(self, a, dtype=None):
        t = self.torch.from_numpy(np.ascontiguousarray(a))
        if dtype is not None:
            t = t.to(dtype)
        return t.to(self.device)

    def to_numpy(self, a):
        return a.detach().cpu().numpy()

    def item(self, a) -> float:
        return float(a.item()) if hasattr(a, "item") else float(a)

    def eps(self, dtype) -> float:
        return float(self.torch.finfo(dtype).eps)

    def zeros(self, shape, dtype):
        return self.torch.zeros(shape, dtype=dtype, device=self.device)

    def empty(self, shape, dtype):
        return self.torch.empty(shape, dtype=dtype, device=self.device)

    def divide_(self, a, b):
        """``a / b`` written into ``b`` (which must have the broadcast shape); returns it."""
        return self.torch.div(a, b, out=b)

    def ones(self, shape, dtype):
        return self.torch.ones(shape, dtype=dtype, device=self.device)

    def copy(self, a):
        return a.clone()

    def clamp_min_(self, a, value):
        return a.clamp_(min=value)

    def clamp_min(self, a, value):
        return a.clamp(min=value)

    def sum(self, a, axis=None):
        return a.sum() if axis is None else a.sum(dim=axis)

    def isnan(self, a):
        return self.torch.isnan(a)

    def where(self, cond, a, b):
        return self.torch.where(cond, a, b)

    def nan_to_zero(self, a):
        return self.torch.nan_to_num(a, nan=0.0)

    def log(self, a):
        return self.torch.log(a)

    def xlogy(self, x, y):
        return self.torch.xlogy(x, y)

    def sqrt(self, a):
        return self.torch.sqrt(a)

    def norm2(self, a) -> float:
        """Squared Frobenius norm, accumulated in float64."""
        return float(self.torch.linalg.vector_norm(a, dtype=self.torch.float64).item()) ** 2

    def sumsq(self, a) -> float:
        """``Σ a²`` in the array's own precision (cheap; for stopping tests)."""
        return float((a * a).sum().item())

    def vdot(self, a, b) -> float:
        """Sum of the elementwise product, accumulated in float64."""
        return float((a.double() * b.double()).sum().item())

    def diag(self, a):
        return self.torch.diagonal(a).clone()

    def contiguous(self, a):
        return a.contiguous()

    def solve(self, A, B):
        return self.torch.linalg.solve(A, B)


_NUMPY = NumpyBackend()


def get_namespace(*arrays) -> Backend:
    """The backend of the given arrays (``None`` entries are ignored).

    All tensors must live on one device; mixing NumPy and torch inputs is an error
    rather than a silent copy.
    """
    torch_arrays = [a for a in arrays if is_torch(a)]
    if not torch_arrays:
        return _NUMPY
    others = [a for a in arrays if a is not None and not is_torch(a)]
    if others:
        from ..exceptions import NMFInputError

        raise NMFInputError(
            "inputs mix torch tensors with NumPy/SciPy arrays; pass all of them as torch tensors "
            "on one device (torch.as_tensor(a, device=X.device)) or all as NumPy arrays"
        )
    devices = {a.device for a in torch_arrays}
    if len(devices) > 1:
        from ..exceptions import NMFInputError

        raise NMFInputError(
            f"torch inputs are on several devices {sorted(map(str, devices))}; move them to one "
            "device with .to(device)"
        )
    return TorchBackend(torch_arrays[0].device)


def to_numpy(a):
    """A NumPy array (or scipy.sparse matrix, or DataFrame) from any supported input."""
    if a is None or sp.issparse(a) or isinstance(a, np.ndarray):
        return a
    if is_torch(a):
        return a.detach().cpu().numpy()
    if hasattr(a, "to_numpy"):
        return a.to_numpy()
    return np.asarray(a)


_BLAS_CONTROLLER = None


def single_threaded_blas():
    """Context manager: BLAS (NumPy/SciPy's OpenBLAS or MKL) on one thread inside it.

    For sections made of many small BLAS calls (HALS coordinate sweeps on k × m
    rows, k × k solves, products on small row blocks): a multi-threaded BLAS gains
    nothing there, and when the machine is busier than its cores each call waits for
    its helper threads to be scheduled. Measured on a 2-core VM under load: a
    100,000-element dot product took 8 ms on 2 threads and 20 µs on one. The large
    products (``X Hᵀ``) stay outside and keep every thread. Entering costs about 35 µs.
    The setting is process-wide while inside (threadpoolctl), like any BLAS thread
    limit.
    """
    global _BLAS_CONTROLLER
    if _BLAS_CONTROLLER is None:
        from threadpoolctl import ThreadpoolController

        _BLAS_CONTROLLER = ThreadpoolController()
    return _BLAS_CONTROLLER.limit(limits=1, user_api="blas")
