"""Negative-binomial NMF: the NBTerm gradient, the NB fit of NMF / nmf, and rank_search.

The science tests print their measured figures (``pytest -s``): held-out
log-likelihoods of the NB and Poisson (KL) fits, and the dispersion errors.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import nmfkit
from nmfkit.backends import get_namespace
from nmfkit.exceptions import NMFInputError
from nmfkit.losses import NBTerm, Target, nb_loglik
from nmfkit.losses._target import REPLICATE

B = get_namespace()
N, M, K = 200, 96, 4


def _means(rng, n=N, m=M, k=K):
    W = rng.gamma(1.0, 1.0, (n, k)) * rng.uniform(20, 60, (n, 1))
    H = rng.dirichlet(np.full(m, 0.3), k) * m / k
    return W @ H


def _nb_counts(rng, mu, alpha):
    a = np.broadcast_to(np.asarray(alpha, float).reshape(-1, 1) if np.ndim(alpha) else alpha,
                        mu.shape)
    return rng.negative_binomial(a, a / (a + mu)).astype(float)


@pytest.fixture(scope="module")
def sim():
    """Overdispersed counts (per-sample α in [3, 10] and a global α = 5), one hold-out set."""
    rng = np.random.default_rng(0)
    mu = _means(rng)
    alpha = rng.uniform(3, 10, N)
    X_ps = _nb_counts(rng, mu, alpha)
    X_gl = _nb_counts(rng, mu, 5.0)
    test = rng.random(mu.shape) < 0.1
    return dict(mu=mu, alpha=alpha, X_ps=X_ps, X_gl=X_gl, test=test, mask=(~test).astype(float),
                X_pois=rng.poisson(mu).astype(float))


def _fit(X, mask, loss, **kw):
    return nmfkit.nmf(X, K, loss=loss, mask=mask, random_state=0, tol=1e-5, max_iter=1000, **kw)


def _heldout_ll(X, res, alpha, test):
    return float(nb_loglik(X, np.asarray(res.W) @ np.asarray(res.H), alpha, weights=test)) / test.sum()


# -- the term: gradient parts against finite differences ------------------------------------
def _numeric_grad(term, state, block, h=1e-6):
    G = np.zeros_like(state[block])
    for idx in np.ndindex(*G.shape):
        up = {**state, block: state[block].copy()}
        dn = {**state, block: state[block].copy()}
        up[block][idx] += h
        dn[block][idx] -= h
        G[idx] = (term.divergences(up)[idx[0]] - term.divergences(dn)[idx[0]]) / (2 * h)
    return G


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("stacked", [False, True])
@pytest.mark.parametrize("per_sample", [False, True])
def test_nbterm_parts_are_the_gradient(weighted, stacked, per_sample):
    rng = np.random.default_rng(1)
    R, m, n, k = 2, 5, 6, 2
    X = rng.poisson(4.0, (R, m, n) if stacked else (m, n)).astype(float)
    Mw = (rng.random(X.shape) < 0.7).astype(float) if weighted else None
    alpha = rng.uniform(0.5, 5.0, m) if per_sample else 2.5
    term = NBTerm(Target(X, Mw, B), alpha)
    state = {"W": rng.uniform(0.5, 2.0, (R, m, k)), "H": rng.uniform(0.5, 2.0, (R, k, n))}
    if stacked:
        state[REPLICATE] = np.arange(R)
    for block in ("W", "H"):
        P, N_ = term.raw_parts(state, block)
        np.testing.assert_allclose(np.broadcast_to(P - N_, state[block].shape),
                                   _numeric_grad(term, state, block), rtol=1e-5, atol=1e-6)


# -- the science ---------------------------------------------------------------------------
def test_nb_heldout_loglik_beats_poisson_and_recovers_dispersion(sim):
    X, test, alpha = sim["X_ps"], sim["test"], sim["alpha"]
    nb = _fit(X, sim["mask"], "nb")
    kl = _fit(X, sim["mask"], "kl")
    a_hat = nb.info["dispersion"]
    ll_nb = _heldout_ll(X, nb, a_hat, test)
    ll_pois = _heldout_ll(X, kl, np.inf, test)
    ll_true = float(nb_loglik(X, sim["mu"], alpha, weights=test)) / test.sum()
    ratio = a_hat / alpha
    print(f"\nper-sample alpha in [3, 10]: held-out loglik per entry NB {ll_nb:.4f}, Poisson "
          f"{ll_pois:.4f}, truth {ll_true:.4f}; alpha_hat/alpha median {np.median(ratio):.3f}, "
          f"median |ratio - 1| {np.median(np.abs(ratio - 1)):.3f}, rounds {nb.info['nb_rounds']}")
    assert nb.info["dispersion_converged"]
    assert ll_nb > ll_pois + 1.0  # nats per held-out entry
    assert ll_nb > ll_true - 0.15  # and close to the generating model's
    assert abs(np.median(ratio) - 1) < 0.2


def test_global_dispersion_recovered(sim):
    res = _fit(sim["X_gl"], sim["mask"], "nb", dispersion="global")
    a_hat = res.info["dispersion"]
    print(f"\nglobal alpha = 5: alpha_hat {a_hat:.3f} (error {abs(a_hat / 5 - 1):.3f})")
    assert np.ndim(a_hat) == 0
    assert abs(a_hat / 5.0 - 1) < 0.2


@pytest.mark.filterwarnings("ignore::nmfkit.exceptions.ConvergenceWarning")
def test_poisson_data_alpha_large_and_fits_agree(sim):
    X, test = sim["X_pois"], sim["test"]
    nb = _fit(X, sim["mask"], "nb", dispersion="global")
    kl = _fit(X, sim["mask"], "kl")
    ll_nb = _heldout_ll(X, nb, nb.info["dispersion"], test)
    ll_pois = _heldout_ll(X, kl, np.inf, test)
    print(f"\nPoisson data: alpha_hat {nb.info['dispersion']:.3g}; held-out loglik NB {ll_nb:.5f}, "
          f"Poisson {ll_pois:.5f} (relative gap {abs(ll_nb / ll_pois - 1):.2e})")
    assert nb.info["dispersion"] >= 1e3
    assert abs(ll_nb / ll_pois - 1) < 0.01


# -- the estimator -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(3)
    mu = _means(rng, 40, 30, 3)
    return _nb_counts(rng, mu, rng.uniform(3, 10, 40))


@pytest.mark.filterwarnings("ignore::nmfkit.exceptions.ConvergenceWarning")
def test_estimator_reproducible_and_attributes(small):
    a = nmfkit.NMF(3, loss="nb", random_state=0, max_iter=300).fit(small)
    b = nmfkit.NMF(3, loss="negative_binomial", random_state=0, max_iter=300).fit(small)
    np.testing.assert_array_equal(a.components_, b.components_)
    np.testing.assert_array_equal(a.dispersion_, b.dispersion_)
    assert a.dispersion_.shape == (40,) and np.all(a.dispersion_ > 0)
    assert a.loss_ == a.loss_history_[-1]
    assert a.result_.info["loss"] == "nb"
    W = a.transform(small[:10])
    assert W.shape == (10, 3) and np.all(W >= 0)
    s = a.score(small)
    assert np.isfinite(s) and s < 0  # a mean log-likelihood per entry


@pytest.mark.filterwarnings("ignore::nmfkit.exceptions.ConvergenceWarning")
def test_fixed_dispersion_missing_sparse_and_real_values(small):
    X = small.copy()
    X[0, 0] = np.nan
    res = nmfkit.nmf(X, 3, loss="nb", dispersion=4.0, random_state=0, max_iter=200)
    assert res.info["dispersion"] == 4.0 and res.info["nb_rounds"] == 1
    model = nmfkit.NMF(3, loss="nb", dispersion=np.full(40, 4.0), random_state=0, max_iter=200)
    assert model.fit(small + 0.37).dispersion_.shape == (40,)  # non-integer values are fine
    assert model.transform(small[:5]).shape == (5, 3)  # new samples: their own α
    res = nmfkit.nmf(sp.csr_matrix(small), 3, loss="nb", dispersion="global", random_state=0,
                     max_iter=200)
    assert np.isfinite(res.loss)


def test_bad_input_errors(small):
    with pytest.raises(NMFInputError, match="dispersion"):
        nmfkit.NMF(3, loss="nb", dispersion=-1.0).fit(small)
    with pytest.raises(NMFInputError, match="per_sample"):
        nmfkit.NMF(3, loss="nb", dispersion="sample").fit(small)
    with pytest.raises(NMFInputError, match="samples"):
        nmfkit.NMF(3, loss="nb", dispersion=np.ones(7)).fit(small)
    with pytest.raises(NMFInputError, match="hals"):
        nmfkit.NMF(3, loss="nb", solver="hals").fit(small)
    with pytest.raises(NMFInputError, match="not available for MiniBatchNMF"):
        nmfkit.MiniBatchNMF(3, loss="nb").fit(small)
    from nmfkit.selection import heldout_divergence

    with pytest.raises(NMFInputError, match="negative binomial"):
        heldout_divergence(small, np.ones((40, 1)), np.ones((1, 30)), small > 0, loss="nb")


# -- rank search ---------------------------------------------------------------------------
def test_rank_search_nb(small):
    import warnings

    from nmfkit.selection import rank_search

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = rank_search(small, [2, 3], loss="nb", n_restarts=2, random_state=0, max_iter=150,
                          cv_max_iter=150)
    assert {"cv_error", "cv_se", "cv_train_error"} <= set(res.table.columns)
    assert np.all(np.isfinite(res.table["cv_error"])) and res.best_k in (2, 3)
    assert res.params["loss"] == "nb"
    assert "dispersion" in res.restarts[2].best.info
    with pytest.raises(NMFInputError, match="speckled"):
        rank_search(small, [2, 3], loss="nb", cv="bicv", n_restarts=2)
