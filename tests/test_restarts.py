"""Batched restarts (nmfkit.selection.restarts, nmfkit.solvers.batched)."""

import warnings

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

import nmfkit
from nmfkit.exceptions import ConvergenceWarning, NMFInputError
from nmfkit.selection import RestartsResult, restarts


@pytest.fixture(scope="module")
def planted():
    return nmfkit.datasets.make_low_rank(300, 80, 5, noise=0.05, random_state=0)


@pytest.mark.parametrize("loss,solver", [("frobenius", "hals"), ("frobenius", "mu"), ("kl", "mu")])
def test_batched_matches_sequential(planted, loss, solver):
    kw = dict(loss=loss, solver=solver, max_iter=40, tol=0, random_state=3, keep_all=True)
    a = restarts(planted.X, 5, 4, **kw)
    b = restarts(planted.X, 5, 4, batched=False, **kw)
    np.testing.assert_array_equal(a.seeds, b.seeds)
    np.testing.assert_allclose(a.losses, b.losses, rtol=1e-8)
    for ra, rb in zip(a.results, b.results):
        assert ra.n_iter == rb.n_iter == 40
        assert ra.info["loss_iters"] == rb.info["loss_iters"]
        np.testing.assert_allclose(ra.loss_history, rb.loss_history, rtol=1e-8)
        np.testing.assert_allclose(ra.H, rb.H, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(ra.W, rb.W, rtol=1e-6, atol=1e-9)
    assert len(set(np.round(a.losses, 6))) > 1  # the restarts really differ


def test_per_restart_stopping_matches_sequential(planted):
    kw = dict(max_iter=300, tol=1e-4, random_state=1, keep_all=True)
    a = restarts(planted.X, 5, 5, **kw)
    b = restarts(planted.X, 5, 5, batched=False, **kw)
    assert [r.n_iter for r in a.results] == [r.n_iter for r in b.results]
    assert all(r.stop_reason == "tol" and r.converged for r in a.results)
    assert len({r.n_iter for r in a.results}) > 1  # frozen at different iterations
    np.testing.assert_allclose(a.losses, b.losses, rtol=1e-8)


@pytest.mark.parametrize("batched", [True, False])
def test_best_is_min_and_gauge(planted, batched):
    res = restarts(planted.X, 5, 4, max_iter=30, tol=0, random_state=0, keep_all=True,
                   batched=batched)
    assert isinstance(res, RestartsResult)
    assert res.losses.shape == (4,)
    assert res.best.loss == res.losses.min()
    assert res.results[res.best_index] is not None and res.best_index == int(np.argmin(res.losses))
    for r in res.results:
        np.testing.assert_allclose(r.H.sum(axis=1), 1.0)
        mass = r.W.sum(axis=0) * r.H.sum(axis=1)
        assert np.all(np.diff(mass) <= 1e-12 * mass[0])
        assert (r.W >= 0).all() and (r.H >= 0).all()
    assert restarts(planted.X, 5, 2, max_iter=5, tol=0, random_state=0).results is None


def test_best_recovers_planted_components(planted):
    res = restarts(planted.X, 5, 8, max_iter=300, tol=1e-6, random_state=0)
    Ht = planted.H / np.linalg.norm(planted.H, axis=1, keepdims=True)
    Hf = res.best.H / np.linalg.norm(res.best.H, axis=1, keepdims=True)
    cos = Ht @ Hf.T
    rows, cols = linear_sum_assignment(-cos)
    assert cos[rows, cols].min() >= 0.95


@pytest.mark.parametrize("batched", [True, False])
def test_reproducible_from_seed(planted, batched):
    kw = dict(max_iter=20, tol=0, keep_all=True, batched=batched)
    a = restarts(planted.X, 4, 3, random_state=7, **kw)
    b = restarts(planted.X, 4, 3, random_state=7, **kw)
    c = restarts(planted.X, 4, 3, random_state=8, **kw)
    np.testing.assert_array_equal(a.losses, b.losses)
    np.testing.assert_array_equal(a.best.H, b.best.H)
    assert not np.allclose(a.losses, c.losses)
    # restart r alone is nmfkit.nmf with its seed
    r = 2
    one = nmfkit.nmf(planted.X, 4, init="random", max_iter=20, tol=0, random_state=int(a.seeds[r]))
    np.testing.assert_allclose(one.loss, a.losses[r], rtol=1e-8)
    g = restarts(planted.X, 4, 3, random_state=np.random.default_rng(7), **kw)
    np.testing.assert_array_equal(a.losses, g.losses)


def test_missing_values_and_bad_input(planted):
    X = planted.X.copy()
    X[0, 0] = np.nan
    res = restarts(X, 3, 2, max_iter=10, tol=0, random_state=0, batched=False)
    assert np.isfinite(res.losses).all()
    with pytest.raises(NMFInputError, match="n_components"):
        restarts(planted.X, 0, 2)
    with pytest.raises(NMFInputError, match="n_restarts"):
        restarts(planted.X, 3, 0)
    with pytest.raises(NMFInputError, match="hals"):
        restarts(planted.X, 3, 2, loss="kl", solver="hals")


def test_convergence_warning_summarised(planted):
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        restarts(planted.X, 3, 3, max_iter=2, tol=1e-12, random_state=0)
    msgs = [str(w.message) for w in rec if issubclass(w.category, ConvergenceWarning)]
    assert len(msgs) == 1 and "3 of 3 restarts" in msgs[0]


def test_dataframe_and_float32(planted):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(planted.X, columns=[f"f{i}" for i in range(80)])
    res = restarts(df, 3, 2, max_iter=5, tol=0, random_state=0)
    assert list(res.best.H.columns) == list(df.columns)
    res32 = restarts(planted.X.astype(np.float32), 3, 2, max_iter=20, tol=0, random_state=0,
                     keep_all=True)
    ref = restarts(planted.X.astype(np.float32), 3, 2, max_iter=20, tol=0, random_state=0,
                   keep_all=True, batched=False)
    assert res32.best.H.dtype == np.float32
    np.testing.assert_allclose(res32.losses, ref.losses, rtol=1e-4)


@pytest.mark.parametrize("loss,solver", [("frobenius", "hals"), ("frobenius", "mu"), ("kl", "mu"),
                                         (1.5, "mu")])
def test_masked_batched_matches_sequential(planted, loss, solver):
    """Missing values: R masked restarts in one batch equal R masked fits (issue 11, point 3)."""
    X = planted.X.copy()
    rng = np.random.default_rng(0)
    X[rng.random(X.shape) < 0.1] = np.nan
    kw = dict(loss=loss, solver=solver, max_iter=30, tol=0, random_state=2, keep_all=True)
    a = restarts(X, 5, 4, **kw)
    b = restarts(X, 5, 4, batched=False, **kw)
    np.testing.assert_allclose(a.losses, b.losses, rtol=1e-10)
    for ra, rb in zip(a.results, b.results):
        assert ra.info["loss_iters"] == rb.info["loss_iters"]
        np.testing.assert_allclose(ra.loss_history, rb.loss_history, rtol=1e-10)
        np.testing.assert_allclose(ra.W, rb.W, rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(ra.H, rb.H, rtol=1e-8, atol=1e-12)
    assert len(set(np.round(a.losses, 6))) > 1
