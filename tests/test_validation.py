"""Bad input: every case raises NMFInputError (a ValueError) whose message names the problem and the fix.

Each case runs through both entry points, the functional ``nmfkit.nmf`` and ``nmfkit.NMF().fit``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import nmfkit
from nmfkit import NMF, NMFInputError

pytestmark = pytest.mark.filterwarnings("ignore::nmfkit.exceptions.ConvergenceWarning")


def _functional(X, k=2, **kw):
    return nmfkit.nmf(X, k, max_iter=5, **kw)


def _estimator(X, k=2, **kw):
    fit_kw = {key: kw.pop(key) for key in ("W", "H", "mask") if key in kw}
    return NMF(k, max_iter=5, **kw).fit(X, **fit_kw)


ENTRY_POINTS = pytest.mark.parametrize("fit", [_functional, _estimator], ids=["nmf", "NMF.fit"])


def _data(n=6, m=5, seed=0):
    return np.random.default_rng(seed).random((n, m)) + 0.1


def _raises(fit, match, X, *args, **kw):
    with pytest.raises(NMFInputError, match=match) as info:
        fit(X, *args, **kw)
    assert issubclass(NMFInputError, ValueError)
    assert isinstance(info.value, ValueError)
    return str(info.value)


# -- the data matrix ---------------------------------------------------------------------------
@ENTRY_POINTS
def test_negative_entries(fit):
    X = _data()
    X[0, 0], X[2, 3], X[4, 1] = -0.5, -0.25, -0.125
    msg = _raises(fit, r"3 negative entries \(min -0\.5\)", X)
    assert "np.clip" in msg and "X >= 0" in msg  # how to fix it


@ENTRY_POINTS
def test_infinite_entries(fit):
    X = _data()
    X[1, 1], X[3, 2] = np.inf, -np.inf
    msg = _raises(fit, r"X has 2 infinite entries", X)
    assert "np.nan_to_num" in msg


@ENTRY_POINTS
def test_nan_with_handle_missing_error(fit):
    X = _data()
    X[2, 2] = np.nan
    _raises(fit, r"X has 1 NaN entries.*handle_missing='mask'", X, handle_missing="error")


@ENTRY_POINTS
@pytest.mark.parametrize("shape, what", [
    ((0, 4), r"0 sample\(s\) \(shape=\(0, 4\)\)"),
    ((4, 0), r"0 feature\(s\) \(shape=\(4, 0\)\)"),
    ((0, 0), r"0 sample\(s\) and 0 feature\(s\) \(shape=\(0, 0\)\)"),
])
def test_empty_matrix(fit, shape, what):
    msg = _raises(fit, rf"X is empty: it has {what} while a minimum of 1 is required", np.empty(shape),
                  k=1)
    assert "at least one sample and one feature" in msg


@ENTRY_POINTS
def test_all_zero_matrix(fit):
    _raises(fit, r"X has no positive entry", np.zeros((5, 4)))


@ENTRY_POINTS
def test_one_dimensional_X(fit):
    _raises(fit, r"X must be 2-D .* has 1 dimension\(s\).*Reshape your data.*reshape\(-1, 1\)",
            np.arange(1.0, 7.0), k=1)


@ENTRY_POINTS
def test_dataframe_with_non_numeric_columns(fit):
    X = pd.DataFrame(_data(4, 3), columns=["a", "b", "c"])
    X["name"] = list("wxyz")
    X["when"] = pd.Timestamp("2024-01-01")
    msg = _raises(fit, r"2 non-numeric column\(s\): 'name', 'when'", X)
    assert "select_dtypes('number')" in msg


@ENTRY_POINTS
def test_object_array_with_strings(fit):
    X = _data(4, 3).astype(object)
    X[1, 2] = "n/a"
    with pytest.raises(NMFInputError, match=r"X has non-numeric entries .*'n/a'") as info:
        fit(X)
    assert isinstance(info.value, ValueError) and isinstance(info.value, TypeError)


@ENTRY_POINTS
def test_complex_matrix(fit):
    _raises(fit, r"Complex data not supported.*abs\(X\)", _data() + 1j)


# -- the rank ------------------------------------------------------------------------------------
@ENTRY_POINTS
@pytest.mark.parametrize("k", [0, -1])
def test_rank_below_one(fit, k):
    _raises(fit, rf"n_components={k} is out of range for X of shape \(6, 5\); choose 1 <= n_components",
            _data(), k=k)


@ENTRY_POINTS
def test_rank_above_min_shape(fit):
    _raises(fit, r"n_components=6 is out of range.*min\(n_samples, n_features\) = 5", _data(), k=6)


@ENTRY_POINTS
@pytest.mark.parametrize("k", [2.5, "2", True])
def test_rank_not_an_integer(fit, k):
    _raises(fit, r"n_components=.* must be an integer", _data(), k=k)


# -- the mask ------------------------------------------------------------------------------------
@ENTRY_POINTS
def test_mask_of_wrong_shape(fit):
    _raises(fit, r"mask has shape \(6, 4\) but X has shape \(6, 5\); pass one weight per entry",
            _data(), mask=np.ones((6, 4)))


@ENTRY_POINTS
def test_negative_mask_weight(fit):
    mask = np.ones((6, 5))
    mask[0, 1] = -2.0
    msg = _raises(fit, r"mask has 1 negative weights \(min -2\)", _data(), mask=mask)
    assert "np.clip" in msg


# -- loss, solver, init ----------------------------------------------------------------------------
@ENTRY_POINTS
def test_unknown_loss(fit):
    _raises(fit, r"loss='poison' is not known; use 'frobenius', 'kl', 'is'", _data(), loss="poison")


@ENTRY_POINTS
def test_unknown_solver(fit):
    _raises(fit, r"solver='newton' is not known; use one of 'auto', 'mu', 'hals', 'cd'", _data(),
            solver="newton")


@ENTRY_POINTS
def test_unknown_init(fit):
    _raises(fit, r"init='svd' is not known; use one of 'auto', 'random', 'nndsvd'", _data(),
            init="svd")


@ENTRY_POINTS
def test_hals_with_kl(fit):
    _raises(fit, r"solver='hals' minimises the Frobenius loss only.*use solver='mu'", _data(),
            loss="kl", solver="hals")


@ENTRY_POINTS
def test_itakura_saito_with_zero_entries(fit):
    X = _data()
    X[0, 0] = X[3, 4] = 0.0
    msg = _raises(fit, r"X has 2 zero entries but loss beta=0 <= 0 \(Itakura-Saito\)", X, loss="is")
    assert "X + eps" in msg


@ENTRY_POINTS
@pytest.mark.parametrize("missing", ["W", "H"])
def test_custom_init_with_a_factor_missing(fit, missing):
    given = {"W": np.ones((6, 2)), "H": np.ones((2, 5))}
    del given[missing]
    _raises(fit, rf"init='custom' needs both W and H; {missing} is missing", _data(), init="custom",
            **given)


@ENTRY_POINTS
def test_custom_init_with_wrong_shape(fit):
    _raises(fit, r"the initial W has shape \(5, 2\) but must be \(6, 2\)", _data(), init="custom",
            W=np.ones((5, 2)), H=np.ones((2, 5)))


# -- transform, backends ---------------------------------------------------------------------------
def test_transform_with_another_feature_count():
    model = NMF(2, max_iter=5).fit(_data())
    for method in (model.transform, model.score):
        with pytest.raises(NMFInputError, match=r"X has 4 features, but NMF is expecting 5 features"):
            method(_data(3, 4))
    assert issubclass(NMFInputError, ValueError)


def test_transform_with_other_column_names():
    cols = list("abcde")
    model = NMF(2, max_iter=5).fit(pd.DataFrame(_data(), columns=cols))
    X = pd.DataFrame(_data(3, 5), columns=cols[::-1])
    match = r"feature names should match.*X\[model\.feature_names_in_\]"
    with pytest.raises(NMFInputError, match=match):
        model.transform(X)


@ENTRY_POINTS
def test_torch_tensor_with_numpy_mask(fit):
    torch = pytest.importorskip("torch")
    X = torch.as_tensor(_data())
    _raises(fit, r"mask is a NumPy/SciPy array but X is a torch tensor.*torch\.as_tensor", X,
            mask=np.ones((6, 5)))


def test_transform_with_another_array_type():
    torch = pytest.importorskip("torch")
    model = NMF(2, max_iter=5).fit(_data())
    with pytest.raises(NMFInputError, match=r"fitted on NumPy-like data but X is a torch tensor"):
        model.transform(torch.as_tensor(_data()))
