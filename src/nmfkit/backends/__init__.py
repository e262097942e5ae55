"""Array-library dispatch: everything backend specific, and nothing else.

The namespace is inferred from the inputs (no global switch): NumPy arrays and
``scipy.sparse`` matrices compute on the CPU with NumPy/SciPy (:class:`NumpyBackend`,
in-place ``out=`` kernels); ``torch.Tensor`` inputs compute with PyTorch on the
tensor's own device (:class:`TorchBackend`); arrays of any other array-API library
(CuPy, array-api-strict, ...) compute in their own namespace and on their own device
through ``array_api_compat`` (:class:`ArrayAPIBackend`). Solvers call only the
operations of :class:`Backend`, so they never branch on the array library.

Why this split: ``array_api_compat`` gives one standard namespace for every library,
so a new library (CuPy, dpnp, a strict test namespace) needs no code here. NumPy keeps
its own backend because the standard has no ``out=`` arguments and no sparse
matrices, and NumPy's in-place kernels (``np.maximum(a, 0, out=a)``,
``np.divide(X, Y, out=Y)``) and scipy.sparse products are what the benchmarks
measure. :class:`TorchBackend` is the array-API backend with native in-place torch
kernels (``clamp_``, ``mul_``, ``out=``).

Operations beyond ``+ - * / @``, ``.T`` of a 2-D array, ``.shape``, ``.dtype`` and
slicing (spell a row ``A[j, :]``, not ``A[j]``) go through the backend, e.g.
``b.take(W, order, axis=1)`` rather than ``W[:, order]``, and ``b.mT(A)`` rather than
``A.swapaxes(-1, -2)``. ``tests/test_array_api.py`` runs the solvers on
array-api-strict arrays on a device that refuses NumPy conversion, so a leak fails.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import scipy.sparse as sp

from ._array_api import ArrayAPIBackend
from ._base import Backend
from ._numpy import NumpyBackend
from ._torch import TorchBackend

__all__ = ["ArrayAPIBackend", "Backend", "NumpyBackend", "TorchBackend", "get_namespace",
           "is_dask_array", "is_device_array", "is_sparse", "is_torch", "single_threaded_blas", "to_numpy"]


def is_sparse(X: Any) -> bool:
    """True for a ``scipy.sparse`` matrix or array."""
    return sp.issparse(X)


def is_torch(X: Any) -> bool:
    """True for a ``torch.Tensor`` (without importing torch when it is not loaded)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(X, torch.Tensor)


def is_dask_array(X: Any) -> bool:
    """True for a dask collection (``dask.array.Array``), without importing dask: a lazy,
    chunked array that nmfkit reads chunk by chunk or fits on its cluster, never loads whole."""
    return type(X).__module__.startswith("dask.") and hasattr(X, "compute")


def is_device_array(X: Any) -> bool:
    """True for an array of a library other than NumPy that nmfkit computes with in
    its own namespace: a torch tensor, a CuPy array, an array-api-strict array, ...

    NumPy arrays, scipy.sparse matrices, DataFrames and lists are False.
    """
    if X is None or isinstance(X, np.ndarray) or sp.issparse(X):
        return False
    if is_torch(X):
        return True
    if not hasattr(X, "__array_namespace__") and type(X).__module__.split(".")[0] != "cupy":
        return False
    import array_api_compat

    return array_api_compat.is_array_api_obj(X) and not array_api_compat.is_numpy_array(X)


_NUMPY = NumpyBackend()


def get_namespace(*arrays) -> Backend:
    """The backend of the given arrays (``None`` entries are ignored).

    NumPy arrays, scipy.sparse matrices and other host inputs give the NumPy backend;
    torch tensors the torch backend on their device; arrays of another array-API
    library (CuPy, array-api-strict, ...) the :class:`ArrayAPIBackend` of their
    namespace and device. All device arrays must come from one library and live on
    one device; mixing them with NumPy inputs is an error rather than a silent copy.
    """
    dev = [a for a in arrays if is_device_array(a)]
    if not dev:
        return _NUMPY
    from ..exceptions import NMFInputError

    torch_arrays = [a for a in dev if is_torch(a)]
    if len(dev) < len([a for a in arrays if a is not None]):
        lib = "torch tensors" if torch_arrays else f"{type(dev[0]).__module__.split('.')[0]} arrays"
        raise NMFInputError(
            f"inputs mix {lib} with NumPy/SciPy arrays; pass all of them as {lib} on one device "
            "(e.g. torch.as_tensor(a, device=X.device)) or all as NumPy arrays"
        )
    if torch_arrays:
        if len(torch_arrays) < len(dev):
            raise NMFInputError("inputs mix torch tensors with arrays of another library; pass all "
                                "of them as torch tensors on one device")
        devices = {a.device for a in torch_arrays}
        if len(devices) > 1:
            raise NMFInputError(
                f"torch inputs are on several devices {sorted(map(str, devices))}; move them to one "
                "device with .to(device)"
            )
        return TorchBackend(torch_arrays[0].device)
    import array_api_compat

    try:
        xp = array_api_compat.array_namespace(*dev)
    except TypeError as err:
        raise NMFInputError(f"inputs come from several array libraries ({err}); pass all of them "
                            "as arrays of one library") from None
    devices = {str(array_api_compat.device(a)) for a in dev}
    if len(devices) > 1:
        raise NMFInputError(f"inputs are on several devices {sorted(devices)}; move them to one "
                            "device (e.g. with the library's to_device / asarray(..., device=))")
    return ArrayAPIBackend(xp, array_api_compat.device(dev[0]))


def to_numpy(a):
    """A NumPy array (or scipy.sparse matrix, or DataFrame) from any supported input.

    Device arrays are copied to the host: for results and small arrays only.
    """
    if a is None or sp.issparse(a) or isinstance(a, np.ndarray):
        return a
    if is_torch(a):
        return a.detach().cpu().numpy()
    if is_device_array(a):
        from ._array_api import _host

        return _host(a)
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
