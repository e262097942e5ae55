"""DeepNMF (multilayer NMF): API, engine, inputs and the hierarchical-topic science test."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.metrics import adjusted_rand_score
from sklearn.utils.estimator_checks import parametrize_with_checks

import nmfkit
from nmfkit.exceptions import NMFInputError
from nmfkit.models.deep import DeepNMF, DeepNMFResult, deep_nmf

pytestmark = pytest.mark.filterwarnings("ignore::nmfkit.exceptions.ConvergenceWarning")


# no expected failures: with KL the fit's own codes and transform's iterated codes agree to
# the check's atol on its data (measured: every check passes for both losses)
@parametrize_with_checks([DeepNMF((2, 1), max_iter=50, random_state=0),
                          DeepNMF((2, 1), loss="kl", max_iter=50, random_state=0)])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def _planted(seed=0, n=120, m=40):
    """Four groups of samples, each on its own random (skewed) basis, plus a little noise."""
    rng = np.random.default_rng(seed)
    H1 = rng.random((4, m)) ** 4
    W = np.zeros((n, 4))
    W[np.arange(n), np.arange(n) % 4] = 1.0 + rng.random(n)
    return W @ H1 + 0.01 * rng.random((n, m))


@pytest.mark.parametrize("loss", ["frobenius", "kl"])
def test_fine_tuning_is_monotone_and_shapes(loss):
    X = _planted()
    m = DeepNMF((4, 2), loss=loss, max_iter=100, loss_every=1, tol=0, random_state=0).fit(X)
    hist = np.array(m.loss_history_[:-1] if loss == "frobenius" else m.loss_history_)
    assert np.all(np.diff(hist) <= 1e-9 * hist[0])  # each factor's MU is monotone
    H1, H2 = m.layers_
    assert H1.shape == (4, 40) and H2.shape == (2, 4)
    assert np.allclose(H1.sum(1), 1) and np.allclose(H2.sum(1), 1)  # the gauge
    W1, W2 = m.codes_
    assert np.allclose(W1, W2 @ H2)
    assert np.allclose(m.deep_components_, H2 @ H1)
    assert m.components_ is H1 and m.labels_.shape == (120,)
    assert np.allclose(m.inverse_transform(W2), W1 @ H1)


def test_pretraining_only_and_function_form():
    X = _planted(1)
    res = deep_nmf(X, (4, 2), fine_tune=False, random_state=0)
    assert isinstance(res, DeepNMFResult) and isinstance(res, nmfkit.NMFResult)
    assert res.n_iter == 0 and len(res.layers) == 2 and len(res.codes) == 2
    full = deep_nmf(X, (4, 2), max_iter=100, random_state=0)
    assert full.loss <= res.loss  # fine-tuning from the pre-trained chain only lowers it
    assert np.allclose(full.W @ full.H, full.codes[0] @ full.layers[0])


@pytest.mark.parametrize("loss", ["frobenius", "kl"])
def test_sparse_and_dense_agree(loss):
    X = _planted(2)
    X[X < 0.05] = 0.0
    a = DeepNMF((3, 2), loss=loss, max_iter=30, random_state=0)
    Wa = a.fit_transform(X)
    Wb = DeepNMF((3, 2), loss=loss, max_iter=30, random_state=0).fit_transform(sp.csr_matrix(X))
    assert np.allclose(Wa, Wb, rtol=1e-6, atol=1e-8)
    if loss == "frobenius":
        assert np.allclose(a.transform(X), Wa, atol=1e-8)  # the exact final codes


def test_torch_input():
    torch = pytest.importorskip("torch")
    X = _planted(3)
    W_np = DeepNMF((3, 2), max_iter=20, random_state=0).fit_transform(X)
    m = DeepNMF((3, 2), max_iter=20, random_state=0)
    W_t = m.fit_transform(torch.from_numpy(X))
    assert isinstance(W_t, torch.Tensor) and isinstance(m.layers_[0], torch.Tensor)
    assert np.allclose(W_t.numpy(), W_np, rtol=1e-5, atol=1e-7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch: "sparse CSR tensor support is in beta state"
        X_sparse = torch.from_numpy(X).to_sparse_csr()
    with pytest.raises(NMFInputError, match="sparse torch"):  # the engine's sparse path is scipy's
        DeepNMF((3, 2)).fit(X_sparse)


@pytest.mark.parametrize("sizes, match", [((3, 5), "increase"), ((), "non-empty"),
                                          ((2, 0), "positive"), (5, "tuple")])
def test_bad_layer_sizes(sizes, match):
    with pytest.raises(NMFInputError, match=match):
        DeepNMF(sizes).fit(_planted())


def test_bad_loss_and_rank():
    with pytest.raises(NMFInputError):
        DeepNMF((2, 1), loss="is").fit(_planted())
    with pytest.raises(NMFInputError):
        DeepNMF((50, 2)).fit(_planted(m=40)[:30])


def _newsgroups_subset(n=1500, seed=0, min_docs=3):
    """A seeded random subset of ``n`` documents; words in at least ``min_docs`` of them."""
    d = nmfkit.datasets.load_newsgroups10()
    idx = np.sort(np.random.default_rng(seed).choice(d.X.shape[0], n, replace=False))
    X = d.X[idx]
    keep = np.flatnonzero(np.diff((X > 0).tocsc().indptr) >= min_docs)
    return (X[:, keep].tocsr(), d.obs["super"].to_numpy()[idx], d.obs["group"].to_numpy()[idx])


@pytest.mark.slow
def test_newsgroups_top_layer_finds_super_categories():
    """Hierarchical topics (reference §6's evaluation): DeepNMF (10, 5) vs flat NMF k = 5.

    Word counts (KL, the Poisson model of counts) of a seeded subset of 1,500 of the 9,546
    documents (the full set takes minutes on 2 cores; words in >= 3 of the documents).
    The top layer's argmax clusters are compared with the 5 super-categories by ARI, side
    by side with the argmax clusters of a flat KL NMF with k = 5 (the same solver, MU, and
    iterations; flat NMF by KL coordinate descent is printed beside it and reaches about the
    top layer's ARI, so the gain is the hierarchy's at equal solver, not over every solver);
    the first layer's clusters with the 10 groups (reported, not asserted: measured 0.284,
    below flat NMF k = 10's 0.324 in benchmarks/bench_deep.py). Measured: top layer 0.373 (0.392
    before its pre-training ran KL coordinate descent), flat MU 0.331, flat CD 0.373; with MU
    pre-training, on the subsets of seeds 1, 2, 3: 0.269 vs 0.196, 0.349 vs 0.234,
    0.305 vs 0.251.
    """
    X, sup, grp = _newsgroups_subset()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # the same solver and iterations as DeepNMF's (multiplicative updates); flat NMF by KL
        # coordinate descent (solver="auto" with numba) is printed beside it
        flat = nmfkit.nmf(X, 5, loss="kl", solver="mu", max_iter=100, random_state=0)
        flat_cd = nmfkit.nmf(X, 5, loss="kl", max_iter=100, random_state=0)
        deep = DeepNMF((10, 5), loss="kl", pretrain_max_iter=100, max_iter=100,
                       random_state=0).fit(X)
    assert sp.issparse(X)
    ari_flat = adjusted_rand_score(sup, np.argmax(flat.W, axis=1))
    ari_top = adjusted_rand_score(sup, deep.labels_)
    ari_l1 = adjusted_rand_score(grp, np.argmax(deep.codes_[0], axis=1))
    ari_cd = adjusted_rand_score(sup, np.argmax(flat_cd.W, axis=1))
    print(f"\nnewsgroups10 subset {X.shape}: ARI vs 5 super-categories: DeepNMF top layer "
          f"{ari_top:.3f}, flat NMF k=5 {ari_flat:.3f} (MU), {ari_cd:.3f} (coordinate descent, "
          f"{flat_cd.solver}); ARI vs 10 groups: DeepNMF first layer "
          f"{ari_l1:.3f} (flat NMF k=10: benchmarks/bench_deep.py)")
    assert ari_top >= ari_flat
