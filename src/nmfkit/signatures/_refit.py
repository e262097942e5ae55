r"""Exposures of (held-out) samples on fixed signatures: NNLS or KL refits.

For catalogs ``X`` (samples × 96, nmfkit orientation) and signatures ``S`` (k × 96) the
exposures ``E >= 0`` (samples × k) minimise either

.. math::
    \|X - E S\|_F^2 \quad (\text{"frobenius", exact NNLS}) \qquad\text{or}\qquad
    \sum X \log\frac{X}{ES} - X + ES \quad (\text{"kl", multiplicative updates to convergence}).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from .._validation import check_data
from ..backends import to_numpy
from ..exceptions import NMFInputError
from ..losses import Penalty, beta_divergence
from ..models._core import build_target, project
from ..solvers import nnls_codes

__all__ = ["refit_exposures", "refit_error", "RefitResult"]

_LOSSES = {"frobenius": 2.0, "kl": 1.0}


class RefitResult(NamedTuple):
    """Exposures of refitted samples and the per-entry error of the refit."""

    exposures: np.ndarray
    """``E >= 0``, samples × k."""
    error: float
    """Frobenius: mean squared error ``‖X − E S‖²_F / (n·p)``; KL: mean generalised KL per entry."""


def _inputs(X, signatures, loss):
    if loss not in _LOSSES:
        raise NMFInputError(f"loss={loss!r} is not known; use 'frobenius' (NNLS) or 'kl'")
    if isinstance(X, pd.DataFrame) and isinstance(signatures, pd.DataFrame):
        if list(X.columns) != list(signatures.columns):
            if set(X.columns) != set(signatures.columns):
                raise NMFInputError("X and signatures have different column labels (mutation types); "
                                    "read both with nmfkit.signatures.read_catalog")
            signatures = signatures[X.columns]
    S = np.asarray(to_numpy(signatures), dtype=np.float64)
    data = check_data(X, name="X", allow_nan=False, dtype=np.float64)
    if S.ndim != 2 or S.shape[1] != data.shape[1]:
        raise NMFInputError(f"signatures must have shape (k, {data.shape[1]}) to match X's "
                            f"{data.shape[1]} columns, got {S.shape}; pass them one per row "
                            "(transpose a 96 x k matrix)")
    if not np.isfinite(S).all() or (S < 0).any():
        raise NMFInputError("signatures must be finite and >= 0")
    return data, S


def refit_exposures(X, signatures, *, loss: str = "frobenius", max_iter: int = 1000,
                    tol: float = 1e-8) -> np.ndarray:
    """Exposures ``E >= 0`` (samples × k) of the catalogs ``X`` on fixed ``signatures``.

    Parameters
    ----------
    X : array or DataFrame (n_samples, 96)
        Non-negative counts, samples × mutation types (see :func:`read_catalog`).
    signatures : array or DataFrame (k, 96)
        One signature per row (e.g. a fitted model's ``components_``).
    loss : {"frobenius", "kl"}
        Exact NNLS, or the KL (Poisson) refit by multiplicative updates run until the
        relative decrease falls below ``tol`` (at most ``max_iter`` iterations).

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit.signatures import refit_exposures
    >>> S = np.array([[0.5, 0.5, 0.0], [0.0, 0.2, 0.8]])
    >>> refit_exposures(np.array([[10.0, 12.0, 8.0]]), S).round(3).tolist()
    [[20.0, 10.0]]
    """
    data, S = _inputs(X, signatures, loss)
    if loss == "frobenius":
        Xv = data.values.toarray() if data.sparse else data.values
        return nnls_codes(S, S @ Xv.T)
    target = build_target(data)
    return np.asarray(project(target, S, beta=1.0, penalty=Penalty(), max_iter=max_iter, tol=tol))


def refit_error(X, signatures, *, loss: str = "frobenius", **kwargs) -> RefitResult:
    """Refit ``X`` on ``signatures`` (:func:`refit_exposures`) and report the per-entry error.

    This is the held-out error of Egendal et al.: learn signatures on training samples,
    refit the held-out samples' exposures with the signatures fixed, and compare.

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit.signatures import refit_error
    >>> S = np.array([[0.5, 0.5, 0.0], [0.0, 0.2, 0.8]])
    >>> refit_error(np.array([[10.0, 12.0, 8.0]]), S).error < 1e-20
    True
    """
    data, S = _inputs(X, signatures, loss)
    E = refit_exposures(X, signatures, loss=loss, **kwargs)
    target = build_target(data)
    div = float(beta_divergence(target, E, S, _LOSSES[loss]))
    n_entries = data.shape[0] * data.shape[1]
    # beta_divergence's Frobenius term is ½‖·‖²: the MSE is twice it per entry
    error = 2.0 * div / n_entries if loss == "frobenius" else div / n_entries
    return RefitResult(E, error)
