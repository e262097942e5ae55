"""Reproducibility (issue 18, point 7): the same seed gives identical factors on CPU across
repeated runs, and the single, batched and Dask paths agree to round-off (a test per path).

Every public estimator is covered through the catalogue's ``MODELS`` table
(:mod:`tests.test_bad_inputs`): a new estimator added there is checked here too.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import nmfkit
from nmfkit.selection import restarts

from test_bad_inputs import BASE, MODELS, _as_np, _fit_model

X = nmfkit.datasets.make_low_rank(60, 20, 3, noise=0.05, random_state=0).X


def _quiet():
    ctx = warnings.catch_warnings()
    ctx.__enter__()
    warnings.simplefilter("ignore")
    return ctx


@pytest.mark.parametrize("name", list(MODELS))
def test_every_estimator_same_seed_same_factors(name):
    """Path 'single' for every estimator: two fits from one seed are bit-identical."""
    ctx = _quiet()
    try:
        out_a, a = _fit_model(name, BASE, random_state=3)
        out_b, b = _fit_model(name, BASE, random_state=3)
    finally:
        ctx.__exit__(None, None, None)
    np.testing.assert_array_equal(_as_np(out_a), _as_np(out_b))
    if hasattr(a, "components_"):
        np.testing.assert_array_equal(_as_np(a.components_), _as_np(b.components_))


@pytest.mark.parametrize("loss,solver", [("frobenius", "hals"), ("kl", "mu")])
def test_single_path_repeated_runs_are_identical(loss, solver):
    kw = dict(loss=loss, solver=solver, init="random", random_state=11, max_iter=40, tol=0)
    a, b = nmfkit.nmf(X, 3, **kw), nmfkit.nmf(X, 3, **kw)
    np.testing.assert_array_equal(a.W, b.W)
    np.testing.assert_array_equal(a.H, b.H)
    assert a.loss_history == b.loss_history


@pytest.mark.parametrize("accelerate", [False, "auto"])
@pytest.mark.parametrize("loss,solver", [("frobenius", "hals"), ("kl", "mu")])
def test_batched_path_matches_single_path(loss, solver, accelerate):
    """Path 'batched': repeated calls are identical, and restart r is ``nmf`` from seed r."""
    kw = dict(loss=loss, solver=solver, max_iter=30, tol=0, random_state=5, keep_all=True,
              accelerate=accelerate)
    a, b = restarts(X, 3, 3, **kw), restarts(X, 3, 3, **kw)
    np.testing.assert_array_equal(a.losses, b.losses)
    for ra, rb in zip(a.results, b.results):
        np.testing.assert_array_equal(ra.W, rb.W)
    for r, res in enumerate(a.results):
        one = nmfkit.nmf(X, 3, loss=loss, solver=solver, init="random", max_iter=30, tol=0,
                         random_state=int(a.seeds[r]), accelerate=accelerate)
        np.testing.assert_allclose(res.loss, one.loss, rtol=1e-9)
        np.testing.assert_allclose(res.H, one.H, rtol=1e-6, atol=1e-10)
        np.testing.assert_allclose(res.W, one.W, rtol=1e-6, atol=1e-10)


@pytest.mark.slow
def test_dask_path_matches_single_path():
    """Path 'Dask': the distributed fit from a seed equals ``nmf`` from that seed (round-off),
    and two distributed fits are identical."""
    distributed = pytest.importorskip("distributed")
    import nmfkit.distributed as nd

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster, distributed.Client(cluster) as c:
        kw = dict(loss="kl", random_state=7, max_iter=15, tol=0)
        a = nd.nmf(X, 3, client=c, **kw)
        b = nd.nmf(X, 3, client=c, **kw)
    ref = nmfkit.nmf(X, 3, init="random", solver="mu", accelerate=False, **kw)  # the Dask engine runs MU
    np.testing.assert_array_equal(np.asarray(a.W), np.asarray(b.W))
    np.testing.assert_allclose(np.asarray(a.W), ref.W, rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(np.asarray(a.H), ref.H, rtol=1e-7, atol=1e-12)
