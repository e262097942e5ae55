"""Missing values and element weights: left out of the objective for every loss and solver."""

import warnings

import numpy as np
import pytest

import nmfkit
from nmfkit.datasets import make_low_rank


@pytest.fixture(scope="module")
def hidden():
    return np.random.default_rng(1).random((300, 120)) < 0.3


@pytest.mark.parametrize("solver", ["hals", "mu"])
def test_planted_low_rank_recovered_with_30pct_hidden(solver, hidden):
    X, W, H = make_low_rank(300, 120, 5, noise=0.05, kind="gaussian", random_state=0)
    truth = W @ H
    sigma = 0.05 * truth.std()  # the generator's noise standard deviation
    Xm = X.copy()
    Xm[hidden] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = nmfkit.nmf(Xm, 5, solver=solver, random_state=0, max_iter=2000, tol=1e-7)
    R = res.W @ res.H
    held_out = np.sqrt(np.mean((R - X)[hidden] ** 2))
    to_truth = np.sqrt(np.mean((R - truth)[hidden] ** 2))
    assert held_out < 1.1 * sigma  # held-out error at the noise level
    assert to_truth < 0.5 * sigma  # the hidden entries of the truth are recovered


def test_kl_recovers_hidden_poisson_entries(hidden):
    X, W, H = make_low_rank(300, 120, 5, noise=1.0, kind="poisson", random_state=0)
    truth = W @ H
    Xm = X.copy()
    Xm[hidden] = np.nan
    res = nmfkit.nmf(Xm, 5, loss="kl", random_state=0, max_iter=3000, tol=1e-8)
    R = res.W @ res.H
    held_out = np.sqrt(np.mean((R - X)[hidden] ** 2))
    oracle = np.sqrt(np.mean((truth - X)[hidden] ** 2))  # Poisson noise of the held-out counts
    assert held_out < 1.1 * oracle
    assert np.sqrt(np.mean((R - truth)[hidden] ** 2)) < 0.5 * oracle


@pytest.mark.parametrize("loss,solver", [("frobenius", "hals"), ("frobenius", "mu"), ("kl", "mu"),
                                         ("is", "mu"), (1.5, "mu")])
def test_nan_equals_zero_weight_mask(loss, solver):
    rng = np.random.default_rng(0)
    X = rng.random((40, 30)) + 0.1
    hide = rng.random(X.shape) < 0.25
    Xn = X.copy()
    Xn[hide] = np.nan
    Xz = X.copy()
    Xz[hide] = 123.0  # any value: weight 0 must make it irrelevant
    kw = dict(loss=loss, solver=solver, init="random", random_state=0, max_iter=30, tol=0)
    a = nmfkit.nmf(Xn, 3, **kw)
    b = nmfkit.nmf(Xz, 3, mask=~hide, **kw)
    assert a.loss == pytest.approx(b.loss, rel=1e-10)
    np.testing.assert_allclose(a.H, b.H, rtol=1e-8, atol=1e-12)


def test_hidden_values_do_not_change_the_fit():
    rng = np.random.default_rng(0)
    X = rng.random((40, 30))
    hide = rng.random(X.shape) < 0.25
    fits = []
    for fill in (0.0, 1e3):
        Xf = X.copy()
        Xf[hide] = fill
        fits.append(nmfkit.nmf(Xf, 3, mask=~hide, random_state=0, max_iter=50, tol=0).H)
    np.testing.assert_allclose(fits[0], fits[1], rtol=1e-9, atol=1e-12)


def test_weights_pull_the_fit_towards_heavy_entries():
    """A weight of 100 on one row makes its reconstruction much closer."""
    rng = np.random.default_rng(0)
    X = rng.random((30, 20))
    M = np.ones_like(X)
    M[0] = 100.0
    plain = nmfkit.nmf(X, 2, random_state=0, max_iter=300)
    weighted = nmfkit.nmf(X, 2, mask=M, random_state=0, max_iter=300)
    err = lambda r: np.linalg.norm(X[0] - r.W[0] @ r.H)  # noqa: E731
    assert err(weighted) < 0.5 * err(plain)
