"""The estimator base: one parameter table, one meaning per name, one result type, one naming scheme."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import nmfkit
from nmfkit import NMFInputError, NMFResult
from nmfkit.models._base import COMMON

pytestmark = pytest.mark.filterwarnings("ignore::nmfkit.exceptions.ConvergenceWarning")

ALL = [nmfkit.NMF, nmfkit.ContrastiveNMF, nmfkit.ConvexNMF, nmfkit.SemiNMF,
       nmfkit.NonnegativeAutoencoder]
IDS = [c.__name__ for c in ALL]


def _X(n=24, m=10, seed=0):
    return np.random.default_rng(seed).random((n, m)) + 0.05


def _fit(cls, X=None, **params):
    X = _X() if X is None else X
    params = {"n_components": 2, "max_iter": 5, **params}
    model = cls(**params)
    return model.fit(X, _X(18, X.shape[1], 1)) if cls is nmfkit.ContrastiveNMF else model.fit(X)


@pytest.mark.parametrize("cls", ALL, ids=IDS)
def test_every_parameter_is_declared_once(cls):
    """Each constructor parameter is in the common table or the model's own, never in both."""
    names = set(cls._get_param_names())
    own = set(cls._own_params)
    assert names <= set(COMMON) | own
    assert not (own & set(COMMON)), "a model re-declares a common parameter"
    shared = names & set(COMMON)
    assert {"n_components", "max_iter", "tol", "max_time", "random_state", "verbose"} <= shared


@pytest.mark.parametrize("cls", ALL, ids=IDS)
@pytest.mark.parametrize("name, value", [("max_iter", 0), ("tol", -1.0), ("max_time", -1),
                                         ("verbose", "yes"), ("random_state", "seed"),
                                         ("n_components", 2.5)])
def test_common_parameters_are_checked_alike(cls, name, value):
    with pytest.raises(NMFInputError, match=rf"{name}="):
        _fit(cls, **{name: value})


LOSS_ALIASES = {2.0: ["frobenius", "euclidean", "FROBENIUS", 2, 2.0],
                1.0: ["kl", "kullback-leibler", "poisson", 1]}


@pytest.mark.parametrize("cls, betas", [
    (nmfkit.NMF, (2.0, 1.0)),
    (nmfkit.ContrastiveNMF, (2.0, 1.0)),
    (nmfkit.ConvexNMF, (2.0,)),
    (nmfkit.SemiNMF, (2.0,)),
    (nmfkit.NonnegativeAutoencoder, (2.0, 1.0)),
], ids=IDS)
def test_loss_aliases_mean_the_same_everywhere(cls, betas):
    for beta, aliases in LOSS_ALIASES.items():
        if beta in betas:
            ref = _fit(cls, loss=aliases[0], random_state=0).components_
            for alias in aliases[1:]:
                np.testing.assert_array_equal(_fit(cls, loss=alias, random_state=0).components_, ref)
        else:
            with pytest.raises(NMFInputError, match=r"not available for .*use 'frobenius'"):
                _fit(cls, loss=aliases[0])
    with pytest.raises(NMFInputError, match="loss='poison' is not known"):
        _fit(cls, loss="poison")


def test_itakura_saito_only_where_the_math_allows():
    _fit(nmfkit.NMF, loss="itakura-saito")
    with pytest.raises(NMFInputError, match="not available for ContrastiveNMF; use 'frobenius' or 'kl'"):
        _fit(nmfkit.ContrastiveNMF, loss="is")


# -- the functional forms ---------------------------------------------------------------------
@pytest.mark.parametrize("params", [
    {"refine_W": True},
    {"refine_W": False},
    {"loss": "kl", "refine_W": True},
    {"solver": "mu", "refine_W": True},
    {"init": "random", "alpha_W": 0.01, "refine_W": False},
])
def test_nmf_function_equals_the_estimator(params):
    X = _X(40, 12)
    res = nmfkit.nmf(X, 3, random_state=0, **params)
    model = nmfkit.NMF(3, random_state=0, **params)
    W = model.fit_transform(X)
    np.testing.assert_array_equal(res.W, W)
    np.testing.assert_array_equal(res.H, model.components_)
    assert res.loss == model.loss_ and res.loss_history == model.loss_history_


def test_refine_W_is_the_one_documented_difference_of_the_defaults():
    """nmf() returns the solver's iterate, NMF the exact NNLS W (so fit_transform == transform)."""
    import inspect

    X = _X(40, 12)
    fn = {k: p.default for k, p in inspect.signature(nmfkit.nmf).parameters.items()
          if p.default is not inspect.Parameter.empty}
    est = nmfkit.NMF().get_params()
    differ = {k for k in est if k in fn and fn[k] != est[k]}
    assert differ == {"refine_W"} and est["refine_W"] is True and fn["refine_W"] is False
    np.testing.assert_array_equal(nmfkit.nmf(X, 3, random_state=0, refine_W=True).W,
                                  nmfkit.NMF(3, random_state=0).fit_transform(X))
    np.testing.assert_array_equal(nmfkit.nmf(X, 3, random_state=0).W,
                                  nmfkit.NMF(3, random_state=0, refine_W=False).fit_transform(X))
    refined = nmfkit.nmf(X, 3, random_state=0, max_iter=20, tol=0, refine_W=True)
    raw = nmfkit.nmf(X, 3, random_state=0, max_iter=20, tol=0)
    assert refined.info["W_refined"] and not raw.info["W_refined"]
    np.testing.assert_array_equal(refined.H, raw.H)
    assert refined.loss <= raw.loss


def test_every_functional_form_returns_an_NMFResult():
    X, Y = _X(), _X(18, 10, 1)
    res = nmfkit.contrastive_nmf(X, Y, 2, n_restarts=1, max_iter=10, alpha=0.5, random_state=0)
    assert isinstance(nmfkit.nmf(X, 2, max_iter=5), NMFResult)
    assert isinstance(res, NMFResult) and isinstance(res, nmfkit.models.contrastive.ContrastiveResult)
    assert res.W is res.W_target and res.n_components == 2 and res.solver == "contrastive-mu"
    model = nmfkit.ContrastiveNMF(2, n_restarts=1, max_iter=10, alpha=0.5, random_state=0).fit(X, Y)
    assert isinstance(model.result_, NMFResult)
    np.testing.assert_array_equal(model.result_.W, res.W)
    np.testing.assert_array_equal(model.result_.W_background, res.W_background)
    for cls in (nmfkit.ConvexNMF, nmfkit.SemiNMF, nmfkit.NonnegativeAutoencoder):
        assert isinstance(_fit(cls).result_, NMFResult)


def test_component_names_follow_one_scheme():
    cols = [f"g{j}" for j in range(10)]
    X, Y = pd.DataFrame(_X(), columns=cols), pd.DataFrame(_X(18, 10, 1), columns=cols)
    res = nmfkit.nmf(X, 2, max_iter=5)
    assert list(res.W.columns) == list(nmfkit.NMF(2, max_iter=5).fit(X).get_feature_names_out())
    cres = nmfkit.contrastive_nmf(X, Y, 2, n_restarts=1, max_iter=10, alpha=0.5,
                                  n_background_components=1, random_state=0)
    model = nmfkit.ContrastiveNMF(2, n_restarts=1, max_iter=10, alpha=0.5).fit(X, Y)
    assert list(cres.H.index) == list(model.get_feature_names_out()) == ["contrastivenmf0",
                                                                        "contrastivenmf1"]
    assert list(cres.H_shared.index) == ["contrastivenmf_bg0"]
    assert list(cres.W_background.columns) == list(cres.H.index)


# -- Pipeline safety ---------------------------------------------------------------------------
def test_a_pipeline_never_feeds_labels_as_the_background():
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    X, Y = _X(), _X(18, 10, 1)
    labels = np.arange(X.shape[0]) % 2
    pipe = Pipeline([("id", FunctionTransformer()),
                     ("c", nmfkit.ContrastiveNMF(2, n_restarts=1, max_iter=10, alpha=0.5,
                                                 random_state=0))])
    with pytest.raises(NMFInputError, match=r"1-D second argument.*labels y.*X_background="):
        pipe.fit(X, labels)
    with pytest.raises(NMFInputError, match="1-D second argument"):
        pipe.fit(X, pd.Series(labels))
    with pytest.raises(NMFInputError, match="X_target has 10 features but X_background has 1"):
        pipe.fit(X, labels[:, None])
    with pytest.raises(NMFInputError, match="needs a background"):
        pipe.fit(X)
    # the background by keyword, routed to the step; labels y are then ignored
    W = pipe.fit_transform(X, labels, c__X_background=Y)
    direct = nmfkit.ContrastiveNMF(2, n_restarts=1, max_iter=10, alpha=0.5, random_state=0).fit(X, Y)
    np.testing.assert_array_equal(W, direct.target_codes_)
    np.testing.assert_array_equal(pipe.transform(X), direct.transform(X))


def test_positional_background_still_works():
    X, Y = _X(), _X(18, 10, 1)
    a = nmfkit.ContrastiveNMF(2, n_restarts=1, max_iter=10, alpha=0.5, random_state=0).fit(X, Y)
    b = nmfkit.ContrastiveNMF(2, n_restarts=1, max_iter=10, alpha=0.5, random_state=0).fit(
        X, X_background=Y)
    np.testing.assert_array_equal(a.components_, b.components_)


# -- tol -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", ALL, ids=IDS)
def test_tol_zero_runs_max_iter_in_every_model(cls):
    model = _fit(cls, tol=0, max_iter=7)
    assert model.n_iter_ == 7 and model.stop_reason_ == "max_iter" and not model.converged_
