"""scikit-learn's estimator checks (``parametrize_with_checks``) on every nmfkit estimator."""

from __future__ import annotations

import importlib.util

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from nmfkit import NMF, ContrastiveNMF, ConvexNMF, MiniBatchNMF, NonnegativeAutoencoder, SemiNMF

# the checks fit tiny matrices with few iterations on purpose: hitting max_iter is expected
pytestmark = pytest.mark.filterwarnings("ignore::nmfkit.exceptions.ConvergenceWarning")


class ContrastiveAgainstItself(ContrastiveNMF):
    """``ContrastiveNMF`` as the checks can call it: ``fit(X)`` contrasts ``X`` with itself.

    The checks call ``fit(X)`` or ``fit(X, y)`` with one dataset (and 1-D labels as
    ``y``, which ContrastiveNMF refuses as a background by design: a Pipeline must
    never feed labels in as the background, see tests/test_base.py). This adapter
    passes the target as its own background by keyword, so every check runs
    ContrastiveNMF's own validation, fit, transform and attributes. With ``alpha=0``
    the background term has weight 0 (plain NMF of the target), so the fit is
    well posed on any data the checks make.
    """

    def fit(self, X, y=None):
        return super().fit(X, X_background=X)

    def fit_transform(self, X, y=None):
        return super().fit_transform(X, X_background=X)


ESTIMATORS = [
    NMF(n_components=2, max_iter=50, random_state=0),  # Frobenius, accelerated HALS
    NMF(n_components=2, loss="kl", max_iter=50, random_state=0),  # KL, multiplicative updates
    NMF(n_components=2, solver="mu", max_iter=50, random_state=0),  # Frobenius, multiplicative
    ContrastiveAgainstItself(n_components=2, alpha=0.0, n_restarts=1, max_iter=50, random_state=0),
    ConvexNMF(n_components=2, max_iter=50, random_state=0),
    SemiNMF(n_components=2, max_iter=50, random_state=0),
    MiniBatchNMF(n_components=2, batch_size=8, max_iter=20, random_state=0),  # online HALS
    MiniBatchNMF(n_components=2, loss="kl", batch_size=8, max_iter=20, random_state=0),  # online MU
    MiniBatchNMF(n_components=2, loss=1.5, batch_size=8, max_iter=20, random_state=0),
]
if importlib.util.find_spec("torch") is not None:
    ESTIMATORS.append(NonnegativeAutoencoder(n_components=2, max_iter=50, random_state=0))

# For the Frobenius and KL losses the fit ends with the exact solve of W that ``transform``
# computes (a batched NNLS, or the projected-Newton KL codes of ``solvers.kl_codes``), so
# ``fit_transform(X) == fit(X).transform(X)`` and those estimators pass every check
# (tests/test_kl_transform.py checks the KL codes' KKT conditions).


# ConvexNMF, SemiNMF and NonnegativeAutoencoder: ``fit_transform`` returns the codes ``W`` of the
# joint fit (for the autoencoder: its decoder weights), ``transform`` the exact NNLS codes of
# (new) samples on the fixed components, as their Notes say. The two coincide only at an exact
# stationary point of the joint problem, which their first-order solvers approach slowly:
# measured on the check's data, ConvexNMF (L-BFGS-B, 100 x 50 iterations, tol=1e-10), SemiNMF
# (2000 iterations, tol=1e-12) and the autoencoder (L-BFGS, 200 epochs) still differ by more than
# atol=1e-2 in 26 to 60 of 60 entries. Returning ``transform(X)`` from ``fit_transform`` would
# change what these models are (the autoencoder's W is its decoder; the ConvexNMF and
# autoencoder equivalence tests compare those W).
_JOINT_W = (
    "fit_transform returns the joint fit's W, transform the exact NNLS on the fixed components; "
    "equal only at an exact stationary point (documented in the class Notes)"
)


def _expected_failed_checks(estimator):
    if isinstance(estimator, (ConvexNMF, SemiNMF, NonnegativeAutoencoder)):
        return {
            "check_transformer_general": _JOINT_W,
            "check_transformer_data_not_an_array": _JOINT_W,
        }
    return {}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_tags_follow_handle_missing():
    """NaN is a missing entry by default (allow_nan); with handle_missing='error' it is not."""
    tags = NMF().__sklearn_tags__()
    assert tags.input_tags.allow_nan and tags.input_tags.positive_only and tags.input_tags.sparse
    assert tags.transformer_tags.preserves_dtype == ["float64", "float32"]
    assert not NMF(handle_missing="error").__sklearn_tags__().input_tags.allow_nan
