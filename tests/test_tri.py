"""TriNMF (orthogonal NMTF, Ding, Li, Peng & Park 2006): updates, co-clustering, newsgroups vs
scikit-learn's SpectralCoclustering."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.utils.estimator_checks import parametrize_with_checks

from nmfkit.exceptions import NMFInputError
from nmfkit.models.tri import TriNMF, TriNMFResult, tri_nmf

pytestmark = pytest.mark.filterwarnings("ignore::nmfkit.exceptions.ConvergenceWarning")


def _blocks(k1=3, k2=3, rows=15, cols=12, noise=0.05, seed=0):
    """Co-clustered data: row cluster i uses column cluster i (k1 = k2), plus noise."""
    rng = np.random.default_rng(seed)
    r, c = np.repeat(np.arange(k1), rows), np.repeat(np.arange(k2), cols)
    X = (r[:, None] == c[None, :]) * rng.uniform(0.5, 1.5, (len(r), len(c)))
    return X + noise * rng.random(X.shape), r, c


def _same_partition(a, b):
    from sklearn.metrics import adjusted_rand_score

    return adjusted_rand_score(a, b) == 1.0


# fit_transform returns the fit's F (orthogonality-encouraged row clusters), transform the exact
# NNLS codes on S Gᵀ (no orthogonality): different by design (TriNMF's Notes), as ConvexNMF's.
_F_VS_NNLS = "fit_transform returns the fit's F_, transform the exact NNLS codes (class Notes)"


@parametrize_with_checks([TriNMF(2, max_iter=50, random_state=0)],
                         expected_failed_checks=lambda est: {
                             "check_transformer_general": _F_VS_NNLS,
                             "check_transformer_data_not_an_array": _F_VS_NNLS})
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_objective_falls_and_matches_the_dense_residual():
    """Not monotone (the updates serve the orthogonality-constrained problem: solver docstring):
    it falls overall, and its late rises are tiny."""
    X, _, _ = _blocks()
    model = TriNMF(3, init="random", max_iter=200, tol=0, random_state=0).fit(X)
    h = np.asarray(model.loss_history_)
    assert len(h) == 201 and h[-1] < 0.15 * h[0]
    assert (np.diff(h[10:]) <= 1e-4 * h[10:-1]).all()  # measured: at most 4.6e-5 relative
    F, S, G = model.F_, model.S_, model.G_
    np.testing.assert_allclose(0.5 * ((X - F @ S @ G.T) ** 2).sum(), model.loss_, rtol=1e-8)
    np.testing.assert_allclose(np.linalg.norm(F, axis=0), 1.0)
    np.testing.assert_allclose(np.linalg.norm(G, axis=0), 1.0)
    np.testing.assert_allclose(model.components_, S @ G.T)


@pytest.mark.parametrize("k2", [3, 4])
def test_recovers_planted_co_clusters(k2):
    X, r, c = _blocks(k2=3)
    model = TriNMF(3, k2, random_state=0, tol=1e-8, max_iter=2000).fit(X)
    assert _same_partition(model.row_labels_, r)
    assert model.S_.shape == (3, k2) and model.G_.shape == (X.shape[1], k2)
    if k2 == 3:
        assert _same_partition(model.column_labels_, c)
        assert max(model.orthogonality_gap_) < 0.05  # block data: nearly orthogonal factors


def test_sparse_input_matches_dense_and_stays_sparse():
    X, _, _ = _blocks()
    X[X < 0.03] = 0.0
    kw = dict(init="random", max_iter=60, tol=0, random_state=0)
    dense = TriNMF(3, **kw).fit(X)
    sparse = TriNMF(3, **kw).fit(sp.csr_matrix(X))
    np.testing.assert_allclose(sparse.F_, dense.F_, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(sparse.S_, dense.S_, rtol=1e-8)
    assert sparse.loss_ == pytest.approx(dense.loss_, rel=1e-10)
    np.testing.assert_allclose(sparse.transform(sp.csr_matrix(X[:4])), dense.transform(X[:4]),
                               rtol=1e-6, atol=1e-10)


def test_float32_stays_float32():
    X, _, _ = _blocks()
    model = TriNMF(3, max_iter=30, random_state=0).fit(X.astype(np.float32))
    assert model.F_.dtype == np.float32 and model.components_.dtype == np.float32


def test_function_form_and_custom_start():
    X, r, _ = _blocks()
    res = tri_nmf(X, 3, random_state=0)
    assert isinstance(res, TriNMFResult) and res.solver == "tri-mu"
    np.testing.assert_allclose(res.W @ res.H, res.W @ res.S @ res.G.T)
    assert _same_partition(res.row_labels, r)
    m, n = X.shape
    rng = np.random.default_rng(1)
    model = TriNMF(3, 2, init="custom", max_iter=5, tol=0).fit(
        X, F=rng.random((m, 3)), S=rng.random((3, 2)), G=rng.random((n, 2)))
    assert model.components_.shape == (3, n) and model.n_iter_ == 5
    assert model.transform(X[:2]).shape == (2, 3)
    assert list(model.get_feature_names_out()) == ["trinmf0", "trinmf1", "trinmf2"]


def test_bad_arguments_are_named():
    X, _, _ = _blocks()
    m, n = X.shape
    with pytest.raises(NMFInputError, match="n_row_clusters"):
        TriNMF(100).fit(X)
    with pytest.raises(NMFInputError, match="n_col_clusters"):
        TriNMF(2, 0).fit(X)
    with pytest.raises(NMFInputError, match="init"):
        TriNMF(2, init="nndsvd").fit(X)
    with pytest.raises(NMFInputError, match="loss"):
        TriNMF(2, loss="kl").fit(X)
    with pytest.raises(NMFInputError, match="negative"):
        TriNMF(2).fit(-X)
    with pytest.raises(NMFInputError, match="NaN"):
        TriNMF(2).fit(np.where(X > 1.4, np.nan, X))
    with pytest.raises(NMFInputError, match="shape"):
        TriNMF(2, init="custom").fit(X, F=np.ones((m, 3)), S=np.ones((2, 2)), G=np.ones((n, 2)))
    with pytest.raises(NMFInputError, match="custom"):
        TriNMF(2).fit(X, F=np.ones((m, 2)))
    model = TriNMF(2, max_iter=5).fit(X)
    with pytest.raises(NMFInputError, match="features"):
        model.transform(X[:, :5])


@pytest.mark.torch
def test_torch_input_matches_numpy():
    torch = pytest.importorskip("torch")
    X, _, _ = _blocks()
    kw = dict(init="random", max_iter=40, tol=0, random_state=0)
    ref = TriNMF(3, **kw).fit(X)
    got = TriNMF(3, **kw).fit(torch.as_tensor(X))
    assert isinstance(got.F_, torch.Tensor) and got.F_.dtype == torch.float64
    np.testing.assert_allclose(got.F_.numpy(), ref.F_, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(got.S_.numpy(), ref.S_, rtol=1e-8)
    assert got.loss_ == pytest.approx(ref.loss_, rel=1e-10)
    np.testing.assert_array_equal(got.row_labels_, ref.row_labels_)
    np.testing.assert_allclose(got.transform(torch.as_tensor(X[:4])).numpy(), ref.transform(X[:4]),
                               rtol=1e-6, atol=1e-9)
    with pytest.raises(NMFInputError, match="sparse torch"):
        TriNMF(3).fit(torch.as_tensor(X).to_sparse())


def _top_words(G, labels, words, n=10):
    out = []
    for j in range(G.shape[1]):
        idx = np.flatnonzero(labels == j)
        top = idx[np.argsort(-G[idx, j])[:n]]
        out.append((j, idx.size, [words[i] for i in top]))
    return out


def _newsgroups_tfidf():
    from sklearn.feature_extraction.text import TfidfTransformer

    from nmfkit.datasets import load_newsgroups10

    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    data = load_newsgroups10()
    words = np.asarray(data.var.index)
    keep = ~np.isin(words, list(ENGLISH_STOP_WORDS))  # as scikit-learn's co-clustering example
    X = TfidfTransformer().fit_transform(data.X[:, keep]).tocsr()  # l2-normalised tf-idf rows
    return X, np.asarray(data.obs["group"]), words[keep]


@pytest.mark.slow
def test_newsgroups_documents_clustered_at_least_as_well_as_spectral_coclustering():
    """All 9,546 documents x 26,830 words (27,137 less scikit-learn's English stop words, as in
    its co-clustering example; l2-normalised tf-idf, sparse), 10 groups, k1 = k2 = 10, seed 0:
    the document clusters' ARI against the groups >= SpectralCoclustering(10)'s on the same
    matrix. Measured: TriNMF 0.413, SpectralCoclustering 0.198 (seeds 1 and 2 of both:
    0.336 / 0.177 and 0.371 / 0.178); ~30 s CPU time in all, longer on a loaded machine."""
    import time

    from sklearn.cluster import SpectralCoclustering
    from sklearn.metrics import adjusted_rand_score

    X, groups, words = _newsgroups_tfidf()
    t = time.perf_counter()
    ours = TriNMF(10, random_state=0, max_iter=300).fit(X)
    t_ours = time.perf_counter() - t
    t = time.perf_counter()
    peer = SpectralCoclustering(n_clusters=10, random_state=0).fit(X)
    t_peer = time.perf_counter() - t
    ari_ours = adjusted_rand_score(groups, ours.row_labels_)
    ari_peer = adjusted_rand_score(groups, peer.row_labels_)
    print(f"\nnewsgroups10 tf-idf {X.shape}: document ARI TriNMF {ari_ours:.3f} "
          f"({ours.n_iter_} it, {ours.stop_reason_}, {t_ours:.1f} s, orthogonality gap F/G "
          f"{ours.orthogonality_gap_[0]:.2f}/{ours.orthogonality_gap_[1]:.2f}) vs "
          f"SpectralCoclustering {ari_peer:.3f} ({t_peer:.1f} s)")
    for j, size, top in _top_words(ours.G_, ours.column_labels_, words):
        docs = ours.row_labels_ == int(np.argmax(ours.S_[:, j]))
        vals, counts = np.unique(groups[docs], return_counts=True)
        major = vals[np.argmax(counts)] if counts.size else "-"
        print(f"  word cluster {j} ({size} words; its main document cluster mostly {major}): "
              + " ".join(top))
    assert ari_ours >= ari_peer
    assert sp.issparse(X) and ours.F_.shape == (X.shape[0], 10) and ours.G_.shape == (X.shape[1], 10)
