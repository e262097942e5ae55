"""SymmetricNMF (SymNMF graph clustering) and the membership helpers."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.utils.estimator_checks import parametrize_with_checks

from nmfkit.exceptions import NMFInputError
from nmfkit.models._membership import cluster_labels, memberships
from nmfkit.models.symmetric import SymmetricNMF, symmetric_nmf, symnmf_affinity

pytestmark = pytest.mark.filterwarnings("ignore::nmfkit.exceptions.ConvergenceWarning")


@parametrize_with_checks([SymmetricNMF(n_components=2, random_state=0)])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def _blobs(n=40, seed=0):
    rng = np.random.default_rng(seed)
    centres = ((0.0, 0.0), (4.0, 0.0), (0.0, 4.0))
    X = np.vstack([rng.normal(c, 0.3, (n, 2)) for c in centres])
    return X + 2.0, np.repeat(np.arange(3), n)


def _ari(a, b):
    from sklearn.metrics import adjusted_rand_score

    return adjusted_rand_score(a, b)


def test_dense_sparse_and_torch_give_the_same_clusters():
    X, y = _blobs()
    dense = SymmetricNMF(3, random_state=0).fit(X)
    sparse = SymmetricNMF(3, random_state=0).fit(sp.csr_matrix(X))
    assert _ari(y, dense.labels_) == 1.0
    np.testing.assert_allclose(sparse.H_, dense.H_, atol=1e-10)
    torch = pytest.importorskip("torch")
    Xt = torch.tensor(X, dtype=torch.float32)
    model = SymmetricNMF(3, random_state=0).fit(Xt)
    assert isinstance(model.H_, torch.Tensor) and model.H_.dtype == torch.float32
    assert _ari(y, model.labels_) == 1.0
    assert isinstance(model.transform(Xt[:5]), torch.Tensor)


def test_precomputed_affinity_equals_the_built_graph():
    X, _ = _blobs()
    A = symnmf_affinity(X)
    a = SymmetricNMF(3, random_state=0).fit(X)
    b = SymmetricNMF(3, affinity="precomputed", random_state=0).fit(A)
    np.testing.assert_allclose(a.H_, b.H_, atol=1e-12)
    dense = SymmetricNMF(3, affinity="precomputed", random_state=0).fit(A.toarray())
    np.testing.assert_allclose(dense.H_, b.H_, atol=1e-10)
    # transform of affinity rows to the training points (m x n_fit)
    np.testing.assert_allclose(b.transform(A[:7]), b.H_[:7], atol=1e-2)


def test_graph_is_the_authors_construction():
    X, _ = _blobs(20)
    n = X.shape[0]
    A = symnmf_affinity(X, normalize=False)
    D = np.sqrt(((X[:, None, :] - X[None, :, :]) ** 2).sum(-1))
    np.fill_diagonal(D, np.inf)
    order = np.sort(D, axis=1)
    sigma = order[:, 6]                                       # 7th neighbour
    kk = int(np.floor(np.log2(n))) + 1
    knn = D <= order[:, kk - 1][:, None]
    support = knn | knn.T                                     # union
    expected = np.where(support, np.exp(-D**2 / np.outer(sigma, sigma)), 0.0)
    np.testing.assert_allclose(A.toarray(), expected, rtol=1e-10, atol=1e-12)
    N = symnmf_affinity(X).toarray()
    d = expected.sum(1)
    np.testing.assert_allclose(N, expected / np.sqrt(np.outer(d, d)), rtol=1e-10, atol=1e-12)


def test_transform_of_training_points_is_their_membership():
    X, y = _blobs()
    model = SymmetricNMF(3, tol=1e-8, max_iter=2000, random_state=0).fit(X)
    np.testing.assert_allclose(model.transform(X), model.H_, atol=1e-3)
    np.testing.assert_array_equal(model.predict(X), model.labels_)
    np.testing.assert_array_equal(model.fit_predict(X), model.labels_)
    assert model.components_.shape == (3, X.shape[0])


@pytest.mark.parametrize("solver", ["hals", "bpp"])
def test_penalised_objective_never_increases_and_function_form(solver):
    X, y = _blobs()
    model = SymmetricNMF(3, n_init=3, tol=0, max_iter=60, solver=solver, random_state=1).fit(X)
    hist = np.array(model.loss_history_)
    assert np.all(np.diff(hist) <= 1e-10 * hist[0])
    assert _ari(y, model.labels_) == 1.0
    res = symmetric_nmf(X, 3, n_init=3, tol=0, max_iter=60, solver=solver, random_state=1)
    np.testing.assert_allclose(res.W, model.H_)
    assert res.loss == pytest.approx(model.loss_)
    np.testing.assert_array_equal(res.info["labels"], model.labels_)


@pytest.mark.parametrize("bad, match", [
    (np.ones((3, 4)), "square"),
    (np.array([[0.0, 1.0], [2.0, 0.0]]), "not symmetric"),
    (np.array([[0.0, -1.0], [-1.0, 0.0]]), "negative"),
    (np.array([[0.0, np.nan], [np.nan, 0.0]]), "NaN"),
])
def test_precomputed_errors(bad, match):
    with pytest.raises(NMFInputError, match=match):
        SymmetricNMF(1, affinity="precomputed").fit(bad)


def test_parameter_errors():
    X, _ = _blobs(10)
    with pytest.raises(NMFInputError, match="n_neighbors"):
        SymmetricNMF(2, n_neighbors=0).fit(X)
    with pytest.raises(NMFInputError, match="similarity"):
        SymmetricNMF(2, similarity="rbf").fit(X)


def test_memberships_and_labels():
    W = np.array([[3.0, 1.0], [0.0, 0.0], [0.0, 2.0]])
    P = memberships(W)
    np.testing.assert_allclose(P.sum(1), 1.0)
    np.testing.assert_allclose(P[1], [0.5, 0.5])
    np.testing.assert_allclose(memberships(W, "max")[0], [1.0, 1 / 3])
    assert cluster_labels(W).tolist() == [0, 0, 1]
    pd = pytest.importorskip("pandas")
    df = memberships(pd.DataFrame(W, index=list("abc"), columns=["p", "q"]))
    assert list(df.index) == list("abc") and list(df.columns) == ["p", "q"]
    with pytest.raises(NMFInputError, match=">= 0"):
        memberships(-W)
    with pytest.raises(NMFInputError, match="normalize"):
        memberships(W, "l2")


def test_nmf_memberships_against_kmeans_on_digits():
    """The fuzzy-clustering view: NMF memberships' hard labels vs k-means, ARI to the digits."""
    from sklearn.cluster import KMeans

    from nmfkit import NMF
    from nmfkit.datasets import load_digits

    d = load_digits()
    X, y = d.X, d.target
    W = NMF(10, max_iter=100, random_state=0).fit_transform(X)
    P = memberships(W)
    np.testing.assert_allclose(P.sum(1), 1.0)
    nmf_ari = _ari(y, cluster_labels(P))
    km_ari = _ari(y, KMeans(10, n_init=4, random_state=0).fit_predict(X))
    print(f"\ndigits ARI vs labels: NMF memberships argmax {nmf_ari:.3f} | k-means {km_ari:.3f}")
    assert nmf_ari > 0.3 and km_ari > 0.5  # both cluster; k-means is the stronger hard clusterer here


def _versus_spectral(A, labels, seed=0):
    """SymNMF and SpectralClustering on the same affinity: (ari_sym, ari_sc, nmi_sym, nmi_sc)."""
    from sklearn.cluster import SpectralClustering
    from sklearn.metrics import normalized_mutual_info_score as nmi

    k = len(np.unique(labels))
    sym = SymmetricNMF(k, affinity="precomputed", n_init=10, tol=1e-6, random_state=seed).fit(A)
    sc = SpectralClustering(k, affinity="precomputed", random_state=seed).fit(A)
    return (_ari(labels, sym.labels_), _ari(labels, sc.labels_),
            nmi(labels, sym.labels_), nmi(labels, sc.labels_))


@pytest.mark.slow
def test_symnmf_at_least_spectral_clustering_on_digits():
    from nmfkit.datasets import load_digits

    d = load_digits()
    A = symnmf_affinity(d.X)  # the authors' graph: 7th-NN scales, (log2 n + 1)-NN union, ncut
    a_sym, a_sc, n_sym, n_sc = _versus_spectral(A, d.target)
    print(f"\ndigits (1,797, k=10): ARI SymNMF {a_sym:.4f} vs SpectralClustering {a_sc:.4f}; "
          f"NMI {n_sym:.4f} vs {n_sc:.4f}")
    assert a_sym >= a_sc


@pytest.mark.slow
def test_symnmf_at_least_spectral_clustering_on_newsgroups():
    """2,000 documents (seeded draw, all 10 groups), tf-idf, cosine similarity on the kNN graph."""
    from sklearn.feature_extraction.text import TfidfTransformer

    from nmfkit.datasets import load_newsgroups10

    d = load_newsgroups10()
    idx = np.sort(np.random.default_rng(0).choice(d.X.shape[0], 2000, replace=False))
    X = TfidfTransformer().fit_transform(d.X[idx])
    y = np.asarray(d.obs["group"])[idx]
    assert len(np.unique(y)) == 10
    A = symnmf_affinity(X, similarity="cosine")  # the authors' inner-product option for text
    a_sym, a_sc, n_sym, n_sc = _versus_spectral(A, y)
    print(f"\nnewsgroups10 (2,000 docs, k=10): ARI SymNMF {a_sym:.4f} vs SpectralClustering {a_sc:.4f}; "
          f"NMI {n_sym:.4f} vs {n_sc:.4f}")
    assert a_sym >= a_sc
