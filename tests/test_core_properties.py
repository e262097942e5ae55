"""Invariants of the engine, checked over random shapes with hypothesis."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nmfkit
from nmfkit.backends import get_namespace
from nmfkit.losses import Target, beta_divergence, grad_parts

SETTINGS = settings(max_examples=25, deadline=None)


def _data(seed, m, n, k, positive):
    rng = np.random.default_rng(seed)
    X = rng.gamma(1.0, 1.0, (m, k)) @ rng.gamma(1.0, 1.0, (k, n))
    X += rng.gamma(0.5, 0.3, (m, n))
    if not positive:
        X[rng.random((m, n)) < 0.2] = 0.0
    return X


@SETTINGS
@given(beta=st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.0]), seed=st.integers(0, 10_000),
       m=st.integers(2, 30), n=st.integers(2, 30), k=st.integers(1, 5))
def test_mu_objective_never_increases(beta, seed, m, n, k):
    k = min(k, m, n)
    X = _data(seed, m, n, k, positive=beta <= 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = nmfkit.nmf(X, k, loss=beta, solver="mu", init="random", random_state=seed,
                         max_iter=30, tol=0, loss_every=1)
    hist = np.array(res.loss_history)
    assert len(hist) == 31
    assert np.all(np.diff(hist) <= 1e-9 * np.abs(hist[:-1]) + 1e-12)
    for M in (res.W, res.H):
        assert np.all(np.isfinite(M)) and np.all(M >= 0)


@SETTINGS
@given(seed=st.integers(0, 10_000), m=st.integers(2, 30), n=st.integers(2, 30),
       k=st.integers(1, 5), missing=st.booleans())
def test_hals_objective_never_increases(seed, m, n, k, missing):
    k = min(k, m, n)
    X = _data(seed, m, n, k, positive=False)
    if missing:
        X[np.random.default_rng(seed + 1).random((m, n)) < 0.2] = np.nan
    if not np.nansum(X) > 0:  # nothing to factor (rejected with an error, tested elsewhere)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = nmfkit.nmf(X, k, solver="hals", init="random", random_state=seed, max_iter=30, tol=0)
    hist = np.array(res.loss_history)
    assert np.all(np.diff(hist) <= 1e-9 * np.abs(hist[:-1]) + 1e-12)
    assert np.all(np.isfinite(res.W)) and np.all(res.W >= 0) and np.all(res.H >= 0)


@SETTINGS
@given(beta=st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.0, 3.0]), seed=st.integers(0, 10_000))
def test_gradient_parts_match_finite_differences(beta, seed):
    rng = np.random.default_rng(seed)
    X = rng.random((6, 5)) + 0.1
    A, B = rng.random((6, 2)) + 0.1, rng.random((2, 5)) + 0.1
    M = (rng.random((6, 5)) > 0.3).astype(float)
    for weights in (None, M):
        t = Target(X, weights, get_namespace())
        P, N = grad_parts(t, A, B, beta)
        grad = np.broadcast_to(P, A.shape) - N
        num = np.zeros_like(A)
        h = 1e-6
        for idx in np.ndindex(A.shape):
            Ap, Am = A.copy(), A.copy()
            Ap[idx] += h
            Am[idx] -= h
            num[idx] = (beta_divergence(t, Ap, B, beta) - beta_divergence(t, Am, B, beta)) / (2 * h)
        np.testing.assert_allclose(grad, num, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("loss,solver", [("frobenius", "hals"), ("frobenius", "mu"), ("kl", "mu")])
def test_float32_and_float64_agree(loss, solver):
    X = _data(3, 120, 60, 4, positive=False)
    r64 = nmfkit.nmf(X, 4, loss=loss, solver=solver, random_state=0, max_iter=100, tol=0)
    r32 = nmfkit.nmf(X.astype(np.float32), 4, loss=loss, solver=solver, random_state=0,
                     max_iter=100, tol=0)
    assert r32.W.dtype == np.float32 and r32.H.dtype == np.float32
    assert r64.W.dtype == np.float64
    assert r32.loss == pytest.approx(r64.loss, rel=1e-3)
