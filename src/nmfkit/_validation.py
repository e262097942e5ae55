"""Input checks with errors that name the argument, the problem and the fix."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
import scipy.sparse as sp

from .backends import Backend, get_namespace, is_dask_array, is_device_array, is_sparse
from ._params import (  # noqa: F401  (re-exported: the one place callers import checks from)
    BETA_NAMES,
    check_choice,
    check_loss,
    check_n_components,
    check_nonneg_float,
    check_positive_int,
    check_verbose,
)
from ._fitted_checks import _kind, check_features, check_fitted_backend  # noqa: F401  (re-exported)
from .exceptions import NMFInputError, NMFInputTypeError
from ._scale import COMFORT_RANGE, SAFE_RANGE, check_scale, data_scale, rescale_data  # noqa: F401

__all__ = ["CheckedData", "check_data", "check_scale", "data_scale", "rescale_data", "COMFORT_RANGE",
           "SAFE_RANGE", "check_mask", "check_n_components", "check_choice", "check_loss",
           "check_positive_int", "check_nonneg_float", "check_verbose", "check_features",
           "check_fitted_backend"]


@dataclass
class CheckedData:
    """A validated data matrix.

    ``values`` is a float backend array (NaN marks a missing entry) or a float CSR
    matrix; ``index`` / ``columns`` are the DataFrame labels, if any.
    """

    values: Any
    backend: Backend
    index: Optional[Any] = None
    columns: Optional[Any] = None
    n_nan: int = 0
    scanned: bool = True  # False: values not yet checked for NaN / inf / negatives
    max_value: Optional[float] = None  # the largest observed entry (None: not scanned)
    scale: float = 1.0  # values = X / scale (a power of two; see rescale_data)

    @property
    def sparse(self) -> bool:
        return is_sparse(self.values)

    @property
    def shape(self):
        return tuple(self.values.shape)


def _float_dtype_np(dtype):
    return dtype if dtype in (np.float32, np.float64) else np.float64


def _from_frame(X, name):
    from pandas.api.types import is_bool_dtype, is_complex_dtype, is_numeric_dtype

    dtypes = X.dtypes
    if any(is_complex_dtype(t) for t in dtypes):
        raise NMFInputError(_complex_message(name))
    bad = [c for c, t in zip(X.columns, dtypes) if not (is_numeric_dtype(t) or is_bool_dtype(t))]
    if bad:
        shown = ", ".join(repr(c) for c in bad[:5]) + (" ..." if len(bad) > 5 else "")
        raise NMFInputError(
            f"{name} has {len(bad)} non-numeric column(s): {shown}; NMF needs numbers: drop them "
            f"or keep the numeric ones with {name}.select_dtypes('number')"
        )
    dtypes = set(dtypes)
    dtype = np.float32 if dtypes == {np.dtype(np.float32)} else np.float64
    return X.to_numpy(dtype=dtype, na_value=np.nan), X.index, X.columns


def _complex_message(name):
    return (f"Complex data not supported: {name} is complex; NMF needs real non-negative numbers "
            f"(pass abs({name}) or {name}.real)")


def _to_numpy_2d(X, name):
    if isinstance(X, np.ma.MaskedArray):
        X = X.astype(np.float64).filled(np.nan)
    try:
        arr = np.asarray(X)
    except Exception as exc:  # pragma: no cover - exotic containers
        raise NMFInputError(f"{name} could not be read as an array ({exc}); pass a 2-D array") from exc
    if arr.dtype.kind in "OUSV":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise NMFInputTypeError(
                f"{name} has non-numeric entries ({exc}); NMF needs a numeric matrix: convert the "
                "entries to numbers or drop the text columns"
            ) from exc
    if arr.dtype.kind == "c":
        raise NMFInputError(_complex_message(name))
    if arr.dtype.kind not in "biuf":
        raise NMFInputTypeError(
            f"{name} has dtype {arr.dtype}, which is not numeric; NMF needs a numeric matrix: "
            "convert it with X.astype(float)"
        )
    return arr.astype(_float_dtype_np(arr.dtype.type), copy=False)


#: Elements per chunk of the min/max scan (fits in L2, so max re-reads from cache).
_SCAN_CHUNK = 1 << 17


def _fast_ok(data):
    """``(ok, max)``: min and max finite (NaN propagates), non-negative, some positive.

    A large contiguous NumPy array is scanned in cache-sized chunks taking both the
    min and the max of each, so X is read from memory once, not twice.
    """
    if isinstance(data, np.ndarray) and data.size > 4 * _SCAN_CHUNK and (
            data.flags.c_contiguous or data.flags.f_contiguous):
        flat = data.ravel(order="K")
        lo, hi = np.inf, -np.inf
        for start in range(0, flat.size, _SCAN_CHUNK):
            c = flat[start : start + _SCAN_CHUNK]
            cl, ch = c.min(), c.max()
            if not (cl >= 0 and ch < np.inf):  # negative, NaN or inf: the slow path says which
                return False, None
            lo, hi = min(lo, cl), max(hi, ch)
        return hi > 0, float(hi)
    if is_device_array(data):  # torch, CuPy, ...: reduced on the device
        b = get_namespace(data)
        lo, hi = b.item(b.min(data)), b.item(b.max(data))
    else:
        lo, hi = float(data.min()), float(data.max())
    return bool(np.isfinite(lo) and np.isfinite(hi) and lo >= 0 and hi > 0), float(hi)


def _read(X, name, dtype):
    """``(values, backend, index, columns)``: X as a float backend array or CSR matrix."""
    index = columns = None
    if all(hasattr(X, a) for a in ("obs", "var", "layers")):  # AnnData (not imported here)
        raise NMFInputError(
            f"{name} is an AnnData object; pass its matrix: adata.X (or a layer, e.g. "
            "adata.layers['counts']), cells as rows and genes as columns"
        )
    if is_dask_array(X):  # never load it silently
        raise NMFInputError(
            f"{name} is a dask array; fit it where it lives with nmfkit.distributed.nmf(X, k, "
            "client=...) (or DaskNMF), stream it with nmfkit.MiniBatchNMF, or load it with "
            f"{name}.compute() if it fits in memory"
        )
    if is_device_array(X):  # torch, CuPy, array-api-strict: checked by their backend
        backend = get_namespace(X)
        values = backend.as_input(X, name, dtype)
    else:
        backend = get_namespace()
        if hasattr(X, "columns") and hasattr(X, "to_numpy"):
            values, index, columns = _from_frame(X, name)
        elif is_sparse(X):
            values = sp.csr_matrix(X)
            if values.dtype.kind == "c":
                raise NMFInputError(_complex_message(name))
            if values.dtype.kind not in "biuf":
                raise NMFInputTypeError(
                    f"{name} is a sparse matrix of dtype {values.dtype}, which is not numeric; "
                    f"convert it with {name}.astype(float)"
                )
            values = values.astype(_float_dtype_np(values.dtype.type), copy=False)
        else:
            values = _to_numpy_2d(X, name)
        if dtype is not None:
            values = values.astype(dtype, copy=False)
    return values, backend, index, columns


def _counts(data):
    """Infinite, NaN and negative entries, the smallest observed one, any positive one."""
    if is_device_array(data):  # counted on the device (NaN compares False)
        b = get_namespace(data)
        nan = b.isnan(data)
        n_nan = int(b.item(b.sum(nan)))
        n_inf = int(b.item(b.sum(~(b.isfinite(data) | nan))))
        n_neg = int(b.item(b.sum(data < 0)))
        min_val = b.item(b.min(b.where(nan, float("inf"), data)))
        max_val = b.item(b.max(b.where(nan, float("-inf"), data)))
        return n_inf, n_nan, n_neg, min_val, max_val
    xp = np
    n_inf = int(xp.isinf(data).sum())
    nan = xp.isnan(data)
    n_nan = int(nan.sum())
    observed = data[~nan] if n_nan else data
    n_neg = int((observed < 0).sum())
    min_val = float(observed.min()) if observed.shape[0] else 0.0
    max_val = float(observed.max()) if observed.shape[0] else 0.0
    return n_inf, n_nan, n_neg, min_val, max_val


def check_data(X, *, name: str = "X", allow_nan: bool = True, dtype=None,
               scan: bool = True, scale: str = "refuse", model: Optional[str] = None) -> CheckedData:
    """Validate a data matrix for NMF.

    Parameters
    ----------
    X : array-like, DataFrame, scipy.sparse matrix or torch.Tensor, shape (n_samples, n_features)
    name : str
        How the argument is called in messages.
    allow_nan : bool
        Whether NaN marks missing entries (True) or is an error (False).
    dtype : numpy dtype, optional
        Force float32 or float64; by default float32 stays float32, the rest becomes float64.
    scan : bool
        False lets a dense NumPy ``X`` through unscanned (the caller checks it on the way).
    scale : {"refuse", "keep"}
        Data far from unit scale (:func:`check_scale`): ``"refuse"`` raises an
        NMFInputError beyond the range the solvers handle; ``"keep"`` lets the caller
        rescale it (:func:`rescale_data`).
    model : str, optional
        The model named in the scale error.

    Returns
    -------
    CheckedData
        The float values (NaN = missing), the backend, the labels, the NaN count and the
        largest observed entry (``max_value``).

    Raises
    ------
    NMFInputError
        For non-numeric, non-2-D, empty, infinite, negative or all-zero data, NaN when
        ``allow_nan`` is False, and data too far from unit scale with ``scale="refuse"``.

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit._validation import check_data
    >>> d = check_data(np.array([[0.0, 2.0], [1.0, np.nan]]))
    >>> d.shape, d.n_nan, d.max_value
    ((2, 2), 1, 2.0)
    """
    if X is None:
        raise NMFInputError(f"{name} is None; pass a 2-D non-negative matrix (n_samples x n_features)")
    values, backend, index, columns = _read(X, name, dtype)
    check_shape(values, name)
    data = values.data if is_sparse(values) else values
    if not scan and isinstance(data, np.ndarray) and not is_sparse(values) and data.size:
        # the caller reads X anyway and checks it on the way (one pass over memory):
        # see nmfkit.solvers.hals.checked_right_products
        return CheckedData(values, backend, index, columns, 0, scanned=False)
    ok, max_val = _fast_ok(data) if data.size else (False, None)
    n_nan = 0
    if not ok:
        values, n_nan, max_val = _diagnose(values, data, name, allow_nan)
    out = CheckedData(values, backend, index, columns, n_nan, max_value=max_val)
    if scale == "refuse":
        check_scale(max_val, _np_dtype(values, backend), name, model)
    return out


def _np_dtype(values, backend):
    return np.dtype(values.dtype) if backend.name == "numpy" else backend.np_dtype(values.dtype)


def _diagnose(values, data, name, allow_nan):
    """The slow path: say which entries are bad, or return ``(values, n_nan, max)``."""
    n_inf, n_nan, n_neg, min_val, max_val = _counts(data)
    if n_inf:
        raise NMFInputError(
            f"{name} has {n_inf} infinite entries; NMF needs finite values: replace them "
            "(e.g. np.nan_to_num) or mark them missing with NaN"
        )
    if n_nan and not allow_nan:
        raise NMFInputError(
            f"{name} has {n_nan} NaN entries and missing values are off; pass "
            "handle_missing='mask' to leave them out of the objective, or impute them"
        )
    if n_nan and is_sparse(values):
        warnings.warn(
            f"{name} is sparse and stores {n_nan} NaN entries; it is densified so that they can be "
            "masked out", UserWarning, stacklevel=4,
        )
        values = values.toarray()
    if n_neg:
        raise NMFInputError(
            f"Negative values in data: {name} has {n_neg} negative entries (min {min_val:.4g}); NMF "
            f"needs {name} >= 0: clip (np.clip({name}, 0, None)), shift, or use a method for "
            "mixed-sign data (SemiNMF)"
        )
    if not max_val > 0:
        raise NMFInputError(
            f"{name} has no positive entry (all observed entries are 0); NMF has nothing to "
            "factor: check that the right matrix was passed"
        )
    return values, n_nan, float(max_val)


def check_shape(values, name: str = "X") -> None:
    """2-D with at least one sample and one feature (the messages scikit-learn's checks expect)."""
    if values.ndim != 2:
        if values.ndim < 2:
            how = f"{name}.reshape(-1, 1) for one feature or {name}.reshape(1, -1) for one sample"
        else:
            how = f"{name}.reshape({name}.shape[0], -1) to flatten each sample into its features"
        raise NMFInputError(
            f"{name} must be 2-D (n_samples x n_features) but has {values.ndim} dimension(s) "
            f"(shape {tuple(values.shape)}). Reshape your data: {how}"
        )
    n_rows, n_cols = (int(n) for n in values.shape)
    if n_rows == 0 or n_cols == 0:
        what = " and ".join(
            w for w, n in ((f"{n_rows} sample(s)", n_rows), (f"{n_cols} feature(s)", n_cols)) if n == 0
        )
        raise NMFInputError(
            f"{name} is empty: it has {what} (shape=({n_rows}, {n_cols})) while a minimum of 1 is "
            "required; pass at least one sample and one feature"
        )


def check_mask(mask, shape, backend: Backend, dtype, name: str = "mask"):
    """Validate element weights: same shape as X, finite, >= 0 (bool -> 0/1)."""
    if is_sparse(mask):
        mask = mask.toarray()
    given = get_namespace(mask) if (is_device_array(mask) or is_sparse(mask)
                                    or isinstance(mask, np.ndarray)) else get_namespace()
    if given.name != backend.name:
        fix = (f"torch.as_tensor({name}, device=X.device)" if backend.name == "torch"
               else f"{name} converted to X's array type")
        kinds = {"numpy": "a NumPy/SciPy array", "torch": "a torch tensor"}
        raise NMFInputError(
            f"{name} is {kinds.get(given.name, _kind(given))} but X is "
            f"{kinds.get(backend.name, _kind(backend))}; pass {name} as the same array type as X "
            f"({fix})"
        )
    if backend.name == "numpy":
        M = np.asarray(mask)
        if M.dtype.kind not in "biuf":
            raise NMFInputError(f"{name} must be boolean or numeric weights, got dtype {M.dtype}")
    else:
        M = mask
    M = backend.astype(M, dtype)  # checked where it lives: no copy of a device mask to the host
    if tuple(M.shape) != tuple(shape):
        raise NMFInputError(
            f"{name} has shape {tuple(M.shape)} but X has shape {tuple(shape)}; pass one weight "
            "per entry of X (1/True = observed, 0/False = left out)"
        )
    n_bad = int(backend.item(backend.sum(~backend.isfinite(M))))
    if n_bad:
        raise NMFInputError(
            f"{name} has {n_bad} NaN or infinite weights; it must hold finite weights >= 0 "
            "(1/True = observed, 0/False = left out): replace them, e.g. with 0"
        )
    n_neg = int(backend.item(backend.sum(M < 0)))
    if n_neg:
        raise NMFInputError(
            f"{name} has {n_neg} negative weights (min {backend.item(backend.min(M)):.4g}); weights "
            "must be >= 0 (1/True = observed, 0/False = left out): clip them with "
            "np.clip(mask, 0, None)"
        )
    return M
