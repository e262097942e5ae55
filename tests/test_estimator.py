"""Behaviour of the NMF estimator and the functional nmf(): projections, outputs, gauge,
reproducibility, stopping rules and dtypes."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import nmfkit
from nmfkit import NMF
from nmfkit.exceptions import ConvergenceWarning

K = 4


@pytest.fixture(scope="module")
def X():
    """A noisy rank-4 non-negative matrix (60 samples x 30 features) with a few exact zeros."""
    rng = np.random.default_rng(0)
    W = rng.gamma(0.5, 1.0, (60, K))
    H = rng.gamma(0.5, 1.0, (K, 30))
    X = W @ H + 0.05 * rng.random((60, 30))
    X[rng.random(X.shape) < 0.05] = 0.0
    return X


def _fro(X, W, H):
    return 0.5 * float(np.sum((X - W @ H) ** 2))


def _kl(X, W, H):
    Y = np.maximum(W @ H, np.finfo(np.float32).eps)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(X > 0, X * np.log(X / Y), 0.0)
    return float(np.sum(t - X + Y))


def _quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fn(*args, **kw)


# -- transform ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("solver", ["hals", "mu"])
def test_transform_frobenius_is_the_exact_nnls_solution(X, solver):
    model = NMF(K, solver=solver, max_iter=100, random_state=0)
    W_fit = _quiet(model.fit_transform, X)
    H = model.components_
    W = model.transform(X)
    # KKT conditions of min_{W >= 0} ½‖X − W H‖²
    assert W.shape == (X.shape[0], K) and np.all(W >= 0)
    G = W @ (H @ H.T) - X @ H.T
    scale = float(np.abs(X @ H.T).max())
    assert np.all(G[W == 0] >= -1e-8 * scale)
    assert np.all(np.abs(G[W > 0]) <= 1e-8 * scale)
    # fit_transform ends with the same exact solve, so it is no worse than the solver's iterate
    assert _fro(X, W, H) <= _fro(X, W_fit, H) * (1 + 1e-12)
    np.testing.assert_allclose(W_fit, W, rtol=1e-10, atol=1e-12)
    raw = _quiet(nmfkit.nmf, X, K, solver=solver, max_iter=100, random_state=0)
    assert _fro(X, W, H) <= _fro(X, raw.W, raw.H) * (1 + 1e-12)


def test_transform_kl_matches_the_fit(X):
    model = NMF(K, loss="kl", max_iter=200, random_state=0)
    W_fit = _quiet(model.fit_transform, X)
    H = model.components_
    W = model.transform(X)
    assert np.all(W >= 0)
    assert _kl(X, W, H) <= _kl(X, W_fit, H) * (1 + 1e-4)


def test_inverse_transform_reconstructs(X):
    model = _quiet(NMF(K, random_state=0).fit, X)
    W = model.transform(X)
    Xhat = model.inverse_transform(W)
    assert Xhat.shape == X.shape
    np.testing.assert_allclose(Xhat, W @ model.components_, rtol=1e-12)
    # the training codes reproduce the fit: ‖X − W H‖ is the reported reconstruction error
    assert np.linalg.norm(X - Xhat) == pytest.approx(model.reconstruction_err_, rel=1e-8)
    assert np.linalg.norm(X - Xhat) < 0.2 * np.linalg.norm(X)


def test_score_prefers_the_training_data(X):
    model = _quiet(NMF(K, random_state=0).fit, X)
    shuffled = X[:, np.random.default_rng(1).permutation(X.shape[1])]
    assert not np.array_equal(shuffled, X)
    assert model.score(X) > model.score(shuffled)
    assert model.score(X) == pytest.approx(-model.reconstruction_err_**2 / 2 / X.size, rel=1e-8)


def test_feature_names_out(X):
    model = _quiet(NMF(K, random_state=0).fit, X)
    assert list(model.get_feature_names_out()) == [f"nmf{j}" for j in range(K)]


def test_set_output_pandas_keeps_the_index(X):
    df = pd.DataFrame(X, index=[f"s{i}" for i in range(X.shape[0])],
                      columns=[f"f{j}" for j in range(X.shape[1])])
    model = NMF(K, random_state=0).set_output(transform="pandas")
    W = _quiet(model.fit_transform, df)
    for out in (W, model.transform(df)):
        assert isinstance(out, pd.DataFrame)
        assert out.index.equals(df.index)
        assert list(out.columns) == [f"nmf{j}" for j in range(K)]
    assert list(model.feature_names_in_) == list(df.columns)


def test_functional_pandas_in_and_out(X):
    df = pd.DataFrame(X, index=pd.Index([f"s{i}" for i in range(X.shape[0])], name="sample"),
                      columns=pd.Index([f"g{j}" for j in range(X.shape[1])], name="gene"))
    res = _quiet(nmfkit.nmf, df, K, random_state=0)
    names = [f"nmf{j}" for j in range(K)]
    assert isinstance(res.W, pd.DataFrame) and isinstance(res.H, pd.DataFrame)
    assert res.W.index.equals(df.index) and list(res.W.columns) == names
    assert res.H.columns.equals(df.columns) and list(res.H.index) == names
    plain = _quiet(nmfkit.nmf, X, K, random_state=0)
    np.testing.assert_array_equal(res.W.to_numpy(), plain.W)


def test_sparse_input_stays_sparse_and_matches_dense(X):
    model = NMF(K, random_state=0, max_iter=50, tol=0)
    W_sp = model.fit_transform(sp.csr_matrix(X))
    np.testing.assert_allclose(W_sp, model.transform(sp.csr_matrix(X)), rtol=1e-10, atol=1e-12)
    W_dense = NMF(K, random_state=0, max_iter=50, tol=0).fit_transform(X)
    np.testing.assert_allclose(W_sp, W_dense, rtol=1e-6, atol=1e-9)


# -- gauge -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("loss", ["frobenius", "kl"])
def test_gauge_of_the_estimator(X, loss):
    model = _quiet(NMF(K, loss=loss, random_state=0).fit, X)
    W, H = model.transform(X) if loss == "frobenius" else model.fit_transform(X), model.components_
    np.testing.assert_allclose(H.sum(axis=1), 1.0, rtol=1e-12)
    assert np.all(np.diff(W.sum(axis=0)) <= 0)
    value = _fro(X, W, H) if loss == "frobenius" else _kl(X, W, H)
    assert model.loss_history_[-1] == pytest.approx(value, rel=1e-8)
    assert model.loss_ == pytest.approx(value, rel=1e-8)


@pytest.mark.parametrize("loss", ["frobenius", "kl"])
def test_gauge_of_the_functional(X, loss):
    res = _quiet(nmfkit.nmf, X, K, loss=loss, random_state=0)
    np.testing.assert_allclose(res.H.sum(axis=1), 1.0, rtol=1e-12)
    assert np.all(np.diff(res.W.sum(axis=0)) <= 0)
    value = _fro(X, res.W, res.H) if loss == "frobenius" else _kl(X, res.W, res.H)
    # the gauge moves scale between W and H without changing the objective
    assert res.loss_history[-1] == pytest.approx(value, rel=1e-7)


def test_gauge_with_penalty_fixes_only_the_order(X):
    res = _quiet(nmfkit.nmf, X, K, alpha_W=0.01, random_state=0)
    hsum = res.H.sum(axis=1)
    assert not np.allclose(hsum, 1.0, rtol=1e-3)  # scale is not free under a penalty
    mass = res.W.sum(axis=0) * hsum
    assert np.all(np.diff(mass) <= 0)
    value = _fro(X, res.W, res.H) + 0.01 * X.shape[1] * 0.5 * np.sum(res.W**2) \
        + 0.01 * X.shape[0] * 0.5 * np.sum(res.H**2)
    assert res.loss_history[-1] == pytest.approx(value, rel=1e-7)


# -- reproducibility -------------------------------------------------------------------------------
@pytest.mark.parametrize("init", ["random", "nndsvdar"])
def test_same_seed_same_result(X, init):
    fits = [_quiet(NMF(K, init=init, random_state=seed, max_iter=30).fit, X).components_
            for seed in (7, 7, 8)]
    np.testing.assert_array_equal(fits[0], fits[1])
    assert not np.allclose(fits[0], fits[2])


# -- stopping rules --------------------------------------------------------------------------------
def test_max_time_stops(X):
    model = NMF(K, random_state=0, max_iter=10_000, tol=0, max_time=0.0).fit(X)
    assert model.stop_reason_ == "max_time" and model.n_iter_ < 10_000
    assert not model.converged_


@pytest.mark.parametrize("solver, every", [("hals", 1), ("mu", 10)])
def test_callback_stops(X, solver, every):
    seen = []

    def callback(n_iter, W, H, loss):
        seen.append(n_iter)
        return n_iter >= 3 * every

    res = nmfkit.nmf(X, K, solver=solver, random_state=0, max_iter=500, tol=0, callback=callback)
    assert res.stop_reason == "callback" and res.n_iter == 3 * every
    assert seen == [every, 2 * every, 3 * every]


@pytest.mark.parametrize("solver", ["hals", "mu"])
def test_tol_zero_runs_max_iter(X, solver):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # no warning: max_iter was asked for
        model = NMF(K, solver=solver, random_state=0, max_iter=23, tol=0).fit(X)
    assert model.n_iter_ == 23 and model.stop_reason_ == "max_iter" and not model.converged_


def test_convergence_warning_at_max_iter(X):
    with pytest.warns(ConvergenceWarning, match="max_iter=3"):
        model = NMF(K, random_state=0, max_iter=3, tol=1e-12).fit(X)
    assert model.stop_reason_ == "max_iter"
    with pytest.warns(ConvergenceWarning):
        nmfkit.nmf(X, K, loss="kl", random_state=0, max_iter=3, tol=1e-12)


def test_tol_stops_with_converged(X):
    model = NMF(K, random_state=0, max_iter=1000, tol=1e-3).fit(X)
    assert model.stop_reason_ == "tol" and model.converged_ and model.n_iter_ < 1000


# -- dtypes ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("loss", ["frobenius", "kl"])
def test_float32_is_preserved_and_agrees_with_float64(X, loss):
    X32 = X.astype(np.float32)
    m32 = NMF(K, loss=loss, random_state=0, max_iter=60, tol=0)
    W32 = m32.fit_transform(X32)
    assert m32.components_.dtype == np.float32 and W32.dtype == np.float32
    assert m32.transform(X32).dtype == np.float32
    assert m32.inverse_transform(W32).dtype == np.float32
    m64 = NMF(K, loss=loss, random_state=0, max_iter=60, tol=0)
    W64 = m64.fit_transform(X)
    assert W64.dtype == np.float64
    assert m32.loss_ == pytest.approx(m64.loss_, rel=1e-3)


def test_integer_counts_become_float64(X):
    counts = np.round(X * 10).astype(np.int64)
    model = _quiet(NMF(K, loss="kl", random_state=0, max_iter=30).fit, counts)
    assert model.components_.dtype == np.float64
