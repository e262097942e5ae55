"""Checks of new data against a fitted estimator: the same backend, the same features.

Split from :mod:`nmfkit._validation` (which checks data and parameters on their own).
"""

from __future__ import annotations

from .backends import Backend, get_namespace, is_device_array
from .exceptions import NMFInputError

__all__ = ["check_features", "check_fitted_backend"]


def check_fitted_backend(fitted, backend: Backend, model: str, name: str = "X") -> None:
    """``X``'s backend (library and device) is the one the model was fitted on."""
    fitted_b = get_namespace(fitted)
    if fitted_b.name != backend.name or str(fitted_b.device) != str(backend.device):
        raise NMFInputError(
            f"{model} was fitted on {_kind(get_namespace(fitted))} but {name} is "
            f"{_kind(backend)}; pass {name} as the same array type (and device) as in fit, or refit"
        )


def _kind(b: Backend) -> str:
    names = {"numpy": "NumPy-like data", "torch": "a torch tensor"}
    return names.get(b.name, f"a {b.name} array")


def check_features(est, X, reset: bool) -> None:
    """``n_features_in_`` / ``feature_names_in_`` bookkeeping of an estimator.

    ``reset=True`` records them (``fit``); otherwise ``X`` must have the fitted
    number of features (and, for DataFrames, the fitted names in order). Torch
    tensors carry no names, so only their column count is recorded and checked.
    """
    if is_device_array(X):
        if reset:
            est.n_features_in_ = int(X.shape[1])
            if hasattr(est, "feature_names_in_"):
                del est.feature_names_in_
        elif X.shape[1] != est.n_features_in_:
            raise NMFInputError(
                f"X has {X.shape[1]} features, but {type(est).__name__} is expecting "
                f"{est.n_features_in_} features as input; pass data with the features "
                "(columns) it was fitted on"
            )
        return
    from sklearn.utils.validation import validate_data

    try:
        validate_data(est, X, reset=reset, skip_check_array=True)
    except NMFInputError:
        raise
    except ValueError as exc:  # feature count or names differ from fit
        text = " ".join(str(exc).split()).rstrip(". ")
        if "feature names" in text.lower():
            fix = "select the fitted columns in order with X[model.feature_names_in_]"
        else:
            fix = "pass data with the features (columns) it was fitted on"
        raise NMFInputError(f"{text}; {fix}") from exc
