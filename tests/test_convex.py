"""ConvexNMF and SemiNMF (Ding, Li & Jordan 2010): monotone updates, structure, known truth."""

import warnings

import numpy as np
import pytest

import nmfkit
from nmfkit.exceptions import NMFInputError
from nmfkit.signatures import match_signatures


def _clusters(mixed=False, k=3, p=15, per=20, noise=0.05, seed=0):
    """Well-separated clusters: sample = (0.8..1.2) x centroid_c + noise."""
    rng = np.random.default_rng(seed)
    C = 2.0 * rng.standard_normal((k, p)) if mixed else rng.gamma(1.0, 1.0, (k, p))
    labels = np.repeat(np.arange(k), per)
    X = C[labels] * rng.uniform(0.8, 1.2, len(labels))[:, None]
    X += noise * (rng.standard_normal(X.shape) if mixed else rng.random(X.shape))
    return X, C, labels


def _monotone(history, rel=1e-12):
    h = np.asarray(history)
    return bool((np.diff(h) <= rel * h[:-1]).all())


@pytest.mark.parametrize("mixed", [False, True])
def test_convex_objective_never_increases_and_basis_is_conic_hull_of_samples(mixed):
    X, _, _ = _clusters(mixed=mixed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nmfkit.ConvergenceWarning)
        model = nmfkit.ConvexNMF(3, init="random", max_iter=300, tol=0, loss_every=1, random_state=0)
        W = model.fit_transform(X)
    h = np.asarray(model.loss_history_)
    assert len(h) == 301 and _monotone(h) and h[-1] < 0.2 * h[0]
    A = model.combination_
    assert A.shape == (3, X.shape[0]) and (A >= 0).all() and (W >= 0).all()
    np.testing.assert_allclose(model.components_, A @ X, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(0.5 * ((X - W @ model.components_) ** 2).sum(), model.loss_, rtol=1e-10)
    if mixed:  # each basis vector is a weighted mean of samples
        np.testing.assert_allclose(A.sum(axis=1), 1.0)
    else:      # signatures-style gauge
        np.testing.assert_allclose(model.components_.sum(axis=1), 1.0)


@pytest.mark.parametrize("solver", ["mu", "lbfgsb"])
def test_convex_recovers_planted_cluster_centroids(solver):
    X, _, labels = _clusters()
    centroids = np.array([X[labels == c].mean(axis=0) for c in range(3)])
    model = nmfkit.ConvexNMF(3, solver=solver, max_iter=1000, tol=1e-7, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nmfkit.ConvergenceWarning)
        model.fit(X)
    match = match_signatures(model.components_, centroids)
    assert match.cosine.min() > 0.9999
    # each basis vector draws (almost) all of its weight from one planted cluster
    A = model.combination_ / model.combination_.sum(axis=1, keepdims=True)
    for j, c in zip(match.rows, match.cols):
        assert A[j, labels == c].sum() > 0.99


def test_convex_lbfgsb_reaches_the_stationary_point_mu_approaches():
    X, _, _ = _clusters(seed=3, noise=0.3)
    kw = dict(init="random", random_state=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nmfkit.ConvergenceWarning)
        mu = nmfkit.ConvexNMF(3, solver="mu", max_iter=3000, tol=0, **kw).fit(X)
    lb = nmfkit.ConvexNMF(3, solver="lbfgsb", max_iter=400, tol=1e-12, loss_every=1, **kw).fit(X)
    assert lb.converged_ and _monotone(lb.loss_history_)
    assert lb.loss_ <= mu.loss_ * (1 + 1e-9)
    # at a stationary point W solves its NNLS sub-problem: fit_transform == transform
    W = lb.transform(X)
    np.testing.assert_allclose(0.5 * ((X - W @ lb.components_) ** 2).sum(), lb.loss_, rtol=1e-6)


def test_convex_custom_init_keeps_a_fixed_point():
    X, _, _ = _clusters(seed=4)
    first = nmfkit.ConvexNMF(3, solver="lbfgsb", max_iter=400, tol=1e-12, random_state=0)
    W = first.fit_transform(X)
    again = nmfkit.ConvexNMF(3, init="custom", max_iter=50, tol=0, loss_every=1)
    W2 = again.fit_transform(X, W=W, A=first.combination_)
    assert abs(again.loss_ / first.loss_ - 1) < 1e-8
    np.testing.assert_allclose(again.components_, first.components_, rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(W2, W, rtol=1e-5, atol=1e-7)


def test_semi_nmf_recovers_mixed_sign_centroids_monotonically():
    X, C, _ = _clusters(mixed=True, noise=0.1)
    model = nmfkit.SemiNMF(3, max_iter=1000, random_state=0)
    W = model.fit_transform(X)
    assert model.converged_ and _monotone(model.loss_history_)
    assert (W >= 0).all() and (model.components_ < 0).any()
    assert match_signatures(model.components_, C).cosine.min() > 0.98
    np.testing.assert_allclose(np.linalg.norm(model.components_, axis=1), 1.0)
    # transform (exact NNLS on the basis) is at least as good as the fit's own codes, and close
    Wt = model.transform(X)
    loss_t = 0.5 * ((X - Wt @ model.components_) ** 2).sum()
    assert model.loss_ * (1 - 1e-3) <= loss_t <= model.loss_ * (1 + 1e-9)


def test_semi_nmf_exact_on_mixed_sign_low_rank_data():
    rng = np.random.default_rng(0)
    X = rng.random((40, 3)) @ rng.standard_normal((3, 10))
    model = nmfkit.SemiNMF(3, init="random", max_iter=500, random_state=0).fit(X)
    assert model.reconstruction_err_ < 1e-8 * np.linalg.norm(X)
    W = model.transform(X)
    np.testing.assert_allclose(model.inverse_transform(W), X, atol=1e-6)


def test_outputs_and_transform_shapes():
    X, _, _ = _clusters()
    model = nmfkit.ConvexNMF(3, solver="lbfgsb", max_iter=100, tol=1e-4, random_state=0).fit(X)
    Wn = model.transform(X[:5])
    assert Wn.shape == (5, 3) and (Wn >= 0).all()
    assert model.inverse_transform(Wn).shape == (5, X.shape[1])
    assert model.result_.H is model.components_ and model.result_.solver == "convex-lbfgsb"
    assert list(model.get_feature_names_out()) == ["convexnmf0", "convexnmf1", "convexnmf2"]


@pytest.mark.parametrize("make, kwargs, match", [
    (lambda X: np.where(X > 1.5, np.nan, X), {}, "NaN"),
    (lambda X: X[:, :0], {}, "empty"),
    (lambda X: X[0], {}, "2-D"),
])
def test_bad_data_is_named(make, kwargs, match):
    X, _, _ = _clusters()
    with pytest.raises(NMFInputError, match=match):
        nmfkit.ConvexNMF(2, **kwargs).fit(make(X))


def test_bad_arguments_are_named():
    import scipy.sparse as sp

    X, _, _ = _clusters()
    n = X.shape[0]
    with pytest.raises(NMFInputError, match="toarray"):
        nmfkit.SemiNMF(2).fit(sp.csr_matrix(X))
    with pytest.raises(NMFInputError, match="solver"):
        nmfkit.ConvexNMF(2, solver="pgd").fit(X)
    with pytest.raises(NMFInputError, match="init"):
        nmfkit.ConvexNMF(2, init="nndsvd").fit(X)
    with pytest.raises(NMFInputError, match="n_components"):
        nmfkit.ConvexNMF(100).fit(X)
    with pytest.raises(NMFInputError, match="shape"):
        nmfkit.ConvexNMF(2, init="custom").fit(X, W=np.ones((n, 3)), A=np.ones((2, n)))
    with pytest.raises(NMFInputError, match="negative"):
        nmfkit.ConvexNMF(2, init="custom").fit(X, W=-np.ones((n, 2)), A=np.ones((2, n)))
    with pytest.raises(NMFInputError, match="custom"):
        nmfkit.ConvexNMF(2).fit(X, W=np.ones((n, 2)))
    with pytest.raises(NMFInputError, match="init='custom' needs W"):
        nmfkit.SemiNMF(2, init="custom").fit(X)
    model = nmfkit.ConvexNMF(2, max_iter=20, tol=0).fit(X)
    with pytest.raises(NMFInputError, match="features"):
        model.transform(X[:, :5])
    with pytest.raises(NMFInputError, match="codes"):
        model.inverse_transform(np.ones((3, 5)))


@pytest.mark.torch
def test_torch_input_matches_numpy():
    torch = pytest.importorskip("torch")
    X, _, _ = _clusters(mixed=True)
    for cls in (nmfkit.ConvexNMF, nmfkit.SemiNMF):
        kw = dict(init="random", max_iter=40, tol=0, random_state=0)
        ref = cls(3, **kw).fit(X)
        got = cls(3, **kw).fit(torch.as_tensor(X))
        assert isinstance(got.components_, torch.Tensor) and got.components_.dtype == torch.float64
        np.testing.assert_allclose(got.components_.numpy(), ref.components_, rtol=1e-8, atol=1e-10)
        assert got.loss_ == pytest.approx(ref.loss_, rel=1e-10)
        Wt = got.transform(torch.as_tensor(X[:4]))
        np.testing.assert_allclose(Wt.numpy(), ref.transform(X[:4]), rtol=1e-6, atol=1e-9)
