"""Parity with scikit-learn's multiplicative updates from the same initialisation."""

import warnings

import numpy as np
import pytest
from sklearn.decomposition import NMF as SkNMF
from sklearn.decomposition._nmf import _beta_divergence

import nmfkit

SK_LOSS = {2.0: "frobenius", 1.0: "kullback-leibler", 0.0: "itakura-saito", 1.5: 1.5, 0.5: 0.5}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.random((60, 8)) @ rng.random((8, 40)) + 0.05 * rng.random((60, 40))
    return X, rng.random((60, 5)) + 0.1, rng.random((5, 40)) + 0.1


@pytest.mark.parametrize("beta", [2.0, 1.0, 0.0, 1.5, 0.5])
@pytest.mark.parametrize("alpha", [0.0, 0.01])
def test_mu_matches_sklearn(data, beta, alpha):
    X, W0, H0 = data
    sk = SkNMF(5, solver="mu", beta_loss=SK_LOSS[beta], init="custom", max_iter=150, tol=0,
               alpha_W=alpha, l1_ratio=0.3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        W_sk = sk.fit_transform(X, W=W0.copy(), H=H0.copy())
    ref = _beta_divergence(X, W_sk, sk.components_, beta)
    res = nmfkit.nmf(X, 5, loss=beta, solver="mu", init="custom", W=W0, H=H0, max_iter=150,
                     tol=0, alpha_W=alpha, l1_ratio=0.3)
    assert res.n_iter == 150 and res.stop_reason == "max_iter"
    assert res.info["divergence"] == pytest.approx(ref, rel=1e-6)
    # same factors up to the gauge (row scaling of H and the component order)
    np.testing.assert_allclose(res.W @ res.H, W_sk @ sk.components_, rtol=1e-6, atol=1e-9)


def test_hals_reaches_sklearn_cd_loss(data):
    """Accelerated HALS reaches scikit-learn's cd loss in no more outer iterations."""
    X, W0, H0 = data
    sk = SkNMF(5, solver="cd", init="custom", max_iter=100, tol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        W_sk = sk.fit_transform(X, W=W0.copy(), H=H0.copy())
    ref = _beta_divergence(X, W_sk, sk.components_, 2)
    res = nmfkit.nmf(X, 5, solver="hals", init="custom", W=W0, H=H0, max_iter=100, tol=0)
    assert res.loss <= ref * (1 + 1e-9)


def test_sparse_matches_dense_from_same_init(data):
    import scipy.sparse as sp

    rng = np.random.default_rng(1)
    X = sp.random(80, 50, density=0.15, random_state=1, format="csr") * 7
    W0, H0 = rng.random((80, 4)) + 0.1, rng.random((4, 50)) + 0.1
    for loss, solver in [("frobenius", "hals"), ("frobenius", "mu"), ("kl", "mu"), (1.5, "mu")]:
        a = nmfkit.nmf(X, 4, loss=loss, solver=solver, init="custom", W=W0, H=H0, max_iter=40, tol=0)
        b = nmfkit.nmf(X.toarray(), 4, loss=loss, solver=solver, init="custom", W=W0, H=H0,
                       max_iter=40, tol=0)
        assert a.loss == pytest.approx(b.loss, rel=1e-9)
        np.testing.assert_allclose(a.W, b.W, rtol=1e-7, atol=1e-10)
        np.testing.assert_allclose(a.H, b.H, rtol=1e-7, atol=1e-10)
