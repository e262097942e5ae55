"""Shared plumbing of the dense factor models (ConvexNMF, SemiNMF, NonnegativeAutoencoder).

Validation of real (possibly mixed-sign) dense data, the exact NNLS projection that
their ``transform`` uses, the scale/order gauge, and the scikit-learn feature checks.
No update rule lives here.
"""

from __future__ import annotations

import numpy as np

from .._validation import _from_frame, _to_numpy_2d, check_features, check_scale, check_shape
from ..backends import Backend, get_namespace, is_device_array, is_sparse
from ..exceptions import NMFInputError
from ..solvers import nnls_codes as _nnls

__all__ = ["check_real", "check_factor", "check_features", "frobenius", "gauge", "nnls_codes"]


def check_real(X, model: str, *, name: str = "X", nonneg: bool = False):
    """Validate a dense, finite, 2-D real matrix; return ``(values, backend, index, columns)``.

    Negative entries are allowed unless ``nonneg``; NaN is an error (these models
    have no missing-value handling).
    """
    if X is None:
        raise NMFInputError(f"{name} is None; pass a 2-D matrix (n_samples x n_features)")
    if is_sparse(X):
        raise NMFInputError(
            f"{name} is a scipy.sparse matrix; {model} works on dense data: pass {name}.toarray()"
        )
    index = columns = None
    if is_device_array(X):  # torch, CuPy, ...: checked (and detached) by their backend
        values = get_namespace(X).as_input(X, name)
    elif hasattr(X, "columns") and hasattr(X, "to_numpy"):
        values, index, columns = _from_frame(X, name)
    else:
        values = _to_numpy_2d(X, name)
    check_shape(values, name)  # the same messages as nmfkit.NMF
    b = get_namespace(values)
    if not bool(b.all(b.isfinite(values))):
        raise NMFInputError(
            f"{name} has NaN or infinite entries; {model} needs finite values: impute or drop them "
            "(nmfkit.NMF leaves NaN entries out of its objective)"
        )
    lo = float(b.item(values.min()))
    if nonneg and lo < 0:
        n_neg = int(b.item((values < 0).sum()))
        raise NMFInputError(
            f"{name} has {n_neg} negative entries (min {lo:.4g}); {model} needs {name} >= 0: clip, "
            "shift, or use nmfkit.SemiNMF for mixed-sign data"
        )
    top = float(b.item(abs(values).max()))
    if not top > 0:
        raise NMFInputError(f"{name} is all zeros; {model} has nothing to factor: check that the "
                            "right matrix was passed")
    check_scale(top, b.np_dtype(values.dtype), name, model)  # far from unit scale: refused
    return values, b, index, columns


def check_factor(M, name: str, shape, b: Backend, dtype, *, nonneg: bool = True):
    """A user-given starting factor: right shape, finite, ``>= 0``; cast to X's backend/dtype."""
    if M is None:
        raise NMFInputError(f"init='custom' needs {name} (shape {shape}); pass it to fit")
    if get_namespace(M).name != b.name:
        raise NMFInputError(f"{name} must be the same array type as X (NumPy or torch on X's device)")
    M_np = np.asarray(b.to_numpy(M) if b.name != "numpy" else M, dtype=np.float64)  # k-sized
    if tuple(M_np.shape) != tuple(shape):
        raise NMFInputError(f"{name} has shape {tuple(M_np.shape)} but must have shape {tuple(shape)}")
    if not np.isfinite(M_np).all():
        raise NMFInputError(f"{name} has NaN or infinite entries; pass finite starting values")
    if nonneg and (M_np < 0).any():
        raise NMFInputError(f"{name} has negative entries (min {M_np.min():.4g}); it must be >= 0")
    return b.from_numpy(M_np.astype(np.float64), dtype=dtype)


def nnls_codes(X, H, b: Backend):
    """Exact ``argmin_{W >= 0} ‖X − W H‖_F`` (one batched k × k NNLS; X may be mixed-sign)."""
    return _nnls(H, H @ X.T)  # solved on X's device


def frobenius(X, W, H) -> float:
    """``½ ‖X − W H‖²_F``."""
    R = X - W @ H
    return 0.5 * float((R * R).sum())


def gauge(W, H, b: Backend, scale=None, *, by: str = "sum"):
    """The one gauge of the library: fix the scale and order of the components.

    Returns ``(W, H, scale, order)``.

    Row ``j`` of ``H`` is divided by ``scale[j]`` (by default its sum) and column ``j``
    of ``W`` multiplied by it, so ``W H`` is unchanged; components are then ordered by
    their mass ``Σ_i W_ij Σ_f H_jf`` (``by="sum"``, non-negative factors) or by
    ``‖W_:j‖ ‖H_j:‖`` (``by="norm"``, mixed signs), largest first.
    """
    if scale is None:
        scale = b.sum(H, axis=1) if by == "sum" else b.sqrt(b.sum(H * H, axis=1))
    ok = scale > 0
    scale = b.where(ok, scale, b.ones(scale.shape, scale.dtype))
    H = H / scale[:, None]
    W = W * scale[None, :]
    if by == "sum":
        mass = b.sum(W, axis=0) * b.sum(H, axis=1)
    else:
        mass = b.sqrt(b.sum(W * W, axis=0) * b.sum(H * H, axis=1))
    order = b.argsort(mass, descending=True)  # stable: ties keep their order
    return (b.contiguous(b.take(W, order, axis=1)), b.contiguous(b.take(H, order, axis=0)),
            scale, order)
