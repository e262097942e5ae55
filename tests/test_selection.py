"""Model selection: consensus, component stability, cross-validation and rank search."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import nmfkit  # noqa: E402
from nmfkit.exceptions import ConvergenceWarning, NMFInputError  # noqa: E402
from nmfkit.plotting import plot_component_stability, plot_consensus, plot_rank_search  # noqa: E402
from nmfkit.selection import (  # noqa: E402
    bicv,
    component_stability,
    connectivity,
    consensus,
    consensus_matrix,
    cophenetic_correlation,
    dispersion,
    heldout_divergence,
    match_components,
    one_se_rule,
    rank_search,
    restarts,
    speckled_cv,
    speckled_mask,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _one_hot(labels, k):
    W = np.zeros((len(labels), k))
    W[np.arange(len(labels)), labels] = 1.0
    return W


# --------------------------------------------------------------------------- consensus
def test_consensus_matrix_of_known_labels():
    a = np.array([0, 0, 1, 1, 2, 2])
    b = np.array([1, 1, 1, 0, 0, 0])  # other label names, other partition
    C = consensus_matrix([_one_hot(a, 3), _one_hot(b, 2), _one_hot(a, 3) * 5.0])
    expected = (2 * (a[:, None] == a[None, :]) + (b[:, None] == b[None, :])) / 3.0
    np.testing.assert_allclose(C, expected)
    np.testing.assert_array_equal(connectivity(_one_hot(b, 2)), b[:, None] == b[None, :])


def test_cophenetic_and_dispersion_of_perfect_blocks():
    labels = np.repeat([0, 1, 2, 3], [5, 7, 3, 9])
    C = (labels[:, None] == labels[None, :]).astype(float)
    assert cophenetic_correlation(C) == pytest.approx(1.0, abs=1e-12)
    assert dispersion(C) == pytest.approx(1.0)
    assert dispersion(np.full((4, 4), 0.5)) == pytest.approx(0.0)
    # an inconsistent (non-ultrametric) consensus has a lower cophenetic correlation
    rng = np.random.default_rng(0)
    N = rng.random((24, 24))
    noisy = np.clip(0.6 * C + 0.4 * (N + N.T) / 2, 0, 1)
    np.fill_diagonal(noisy, 1.0)
    assert cophenetic_correlation(noisy) < 0.99
    # the Consensus object agrees with the functions and cuts the tree into the blocks
    res = consensus([_one_hot(labels, 4)] * 3)
    assert res.cophenetic == pytest.approx(1.0) and res.dispersion == pytest.approx(1.0)
    assert len(set(zip(res.labels, labels))) == 4 and res.n_restarts == 3
    assert sorted(res.order) == list(range(len(labels)))


# --------------------------------------------------------------------------- stability
def test_hungarian_matching_recovers_a_permutation():
    rng = np.random.default_rng(1)
    H = rng.exponential(size=(6, 40)) * (rng.random((6, 40)) < 0.4)
    p = rng.permutation(6)
    H2 = H[p] * rng.uniform(0.5, 3.0, size=(6, 1))  # reordered and rescaled
    perm, sim = match_components(H, H2)
    np.testing.assert_array_equal(p[perm], np.arange(6))
    np.testing.assert_allclose(sim, 1.0)


def test_component_stability_of_permuted_copies():
    rng = np.random.default_rng(2)
    H = rng.exponential(size=(4, 30)) * (rng.random((4, 30)) < 0.5)
    perms = [rng.permutation(4) for _ in range(5)]
    Hs = [H[p] + 1e-3 * rng.random(H.shape) for p in perms]
    st = component_stability(Hs)
    assert st.silhouette > 0.99 and st.similarity.min() > 0.999
    for p, row in zip(perms, st.assignment):
        # cluster j holds the same true component in every restart
        np.testing.assert_array_equal(p[row], perms[0][st.assignment[0]])
    # one unstable restart lowers the silhouette
    Hs[1] = rng.exponential(size=(4, 30))
    assert component_stability(Hs).silhouette < st.silhouette - 0.05


# --------------------------------------------------------------------------- cross-validation
@pytest.mark.parametrize("beta", [2.0, 1.0, 0.5, 0.0])
def test_heldout_divergence_equals_divergence_on_those_entries(beta):
    rng = np.random.default_rng(3)
    W, H = rng.random((20, 3)) + 0.1, rng.random((3, 15)) + 0.1
    X = rng.poisson(5 * W @ H).astype(float) + 0.5
    test = speckled_mask(X.shape, 0.3, random_state=0)
    x, y = X[test], (W @ H)[test]
    if beta == 2:
        d = 0.5 * (x - y) ** 2
    elif beta == 1:
        d = x * np.log(x / y) - x + y
    elif beta == 0:
        d = x / y - np.log(x / y) - 1
    else:
        d = (x**beta + (beta - 1) * y**beta - beta * x * y ** (beta - 1)) / (beta * (beta - 1))
    assert heldout_divergence(X, W, H, test, loss=beta) == pytest.approx(d.mean(), rel=1e-12)
    np.testing.assert_allclose(heldout_divergence(X, W, H, test, beta, reduce=False), d)


@pytest.mark.parametrize("loss", ["frobenius", "kl"])
def test_speckled_cv_scores_the_masked_entries_of_the_masked_fit(loss):
    X = nmfkit.datasets.make_low_rank(40, 30, 3, noise=0.3, kind="poisson", random_state=0).X
    cv = speckled_cv(X, [2, 3], loss=loss, fraction=0.2, max_iter=300, tol=1e-5, random_state=7)
    rng = np.random.default_rng(7)  # replay: the mask, then the fit seed
    test = speckled_mask(X.shape, 0.2, random_state=rng)
    seed = int(rng.integers(2**31 - 1))
    for i, k in enumerate([2, 3]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fit = nmfkit.nmf(X, k, loss=loss, mask=~test, init="nndsvda", max_iter=300, tol=1e-5,
                             loss_every=10, random_state=seed)
        assert cv.error[i] == pytest.approx(heldout_divergence(X, fit.W, fit.H, test, loss), rel=1e-10)
        assert cv.entry_losses[k].size == test.sum()
    assert set(cv.table.columns) == {"k", "error", "se", "train_error", "time"}


def test_speckled_mask_never_holds_out_missing_entries():
    observed = np.random.default_rng(0).random((50, 40)) > 0.3
    m = speckled_mask((50, 40), 0.5, observed=observed, random_state=1)
    assert not (m & ~observed).any() and 0.4 < m.sum() / observed.sum() < 0.6


def test_one_se_rule_exact():
    base = np.linspace(0, 1, 101)
    losses = {2: base + 1.0, 3: base + 0.01, 4: base + 0.01 + 1e-9 * np.sin(np.arange(101)), 5: base}
    assert one_se_rule([2, 3, 4, 5], losses, se_factor=0) == 5
    # 3 is 0.01 worse than 5 with zero spread: significant, so 5 is the smallest within one SE
    assert one_se_rule([2, 3, 4, 5], losses) == 5
    noisy = dict(losses)
    noisy[3] = base + 0.01 * np.random.default_rng(0).standard_normal(101)
    assert one_se_rule([2, 3, 4, 5], noisy) == 3


def test_bicv_picks_planted_rank():
    X = nmfkit.datasets.make_low_rank(90, 45, 3, noise=0.2, random_state=0).X
    cv = bicv(X, [2, 3, 4], n_splits=(2, 3), random_state=0)
    assert cv.best_k == 3 and cv.error[1] < 0.5 * cv.error[0]
    # each entry is held out exactly once per repeat
    assert all(v.size == X.size for v in cv.entry_losses.values())
    # sparse input stays sparse and gives the same errors
    kw = dict(loss="kl", n_splits=2, random_state=0)
    dense = bicv(X, [3], **kw)
    np.testing.assert_allclose(bicv(sp.csr_matrix(X), [3], **kw).error, dense.error, rtol=1e-4)


# --------------------------------------------------------------------------- rank search
@pytest.mark.slow
@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("kind", ["gaussian", "poisson"])
def test_rank_search_picks_planted_rank_5(kind, seed):
    data = nmfkit.datasets.make_low_rank(200, 100, 5, noise=0.3, kind=kind, random_state=seed)
    loss = "kl" if kind == "poisson" else "frobenius"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = rank_search(data.X, range(3, 8), loss=loss, n_restarts=3, max_iter=100,
                          random_state=seed)
    assert res.best_k == 5, res.table[["k", "cv_error", "cv_se"]]
    t = res.table.set_index("k")
    assert t.loc[5, "cv_error"] < 0.75 * t.loc[4, "cv_error"]  # under-fitting is clear
    # the best restart at the chosen k recovers the planted components
    assert match_components(data.H, res.best.H)[1].min() > 0.9


def _planted_clusters(seed, n=60, m=80, k=3):
    """Samples from k well-separated clusters (Poisson counts, one profile per cluster)."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % k
    home = np.arange(m) % k
    H = np.stack([(home == c) * rng.exponential(1, m) + 0.1 * rng.exponential(1, m) for c in range(k)])
    W = np.zeros((n, k))
    W[np.arange(n), labels] = rng.uniform(0.5, 1.5, n)
    return rng.poisson(5 * W @ H).astype(float), labels


@pytest.mark.parametrize("seed", range(3))
def test_cophenetic_drops_after_the_true_k_on_planted_clusters(seed):
    X, labels = _planted_clusters(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = rank_search(X, [2, 3, 4, 5], n_restarts=10, cv=None, max_iter=100, random_state=seed)
    t = res.table.set_index("k")
    coph = t["cophenetic"]
    assert coph[3] > 0.999
    assert coph[4] < coph[3] and coph[5] < coph[3]
    # the drop is small (average linkage forgives a few split samples); dispersion shows more
    assert t.loc[3, "dispersion"] > 0.999 and t.loc[4, "dispersion"] < 0.95
    assert res.best_k is None
    # the consensus clusters at the true k are the planted ones
    assert len(set(zip(res.consensus[3].labels, labels))) == 3


@pytest.fixture(scope="module")
def small_search():
    X = nmfkit.datasets.make_low_rank(80, 40, 3, noise=0.2, random_state=0).X
    return X, rank_search(X, range(2, 6), n_restarts=4, cv="both", bicv_splits=2, random_state=0)


def test_rank_search_result_and_reproducibility(small_search):
    X, res = small_search
    t = res.table
    assert list(t["k"]) == [2, 3, 4, 5] and res.best_k == 3
    assert t[["cv_error", "bicv_error", "cophenetic", "silhouette", "rel_error"]].notna().all().all()
    assert (np.diff(t["loss"]) < 0).all()  # more components, lower training loss
    assert set(res.restarts) == set(res.consensus) == set(res.stability) == {2, 3, 4, 5}
    assert len(res.restarts[3].results) == 4 and res.best is res.restarts[3].best
    assert res.cv.best_k == 3 and res.bicv.ks == (2, 3, 4, 5)
    a, b = (rank_search(X, [2, 3], n_restarts=2, random_state=5).table for _ in range(2))
    cols = [c for c in t.columns if not c.startswith("time")]
    np.testing.assert_array_equal(a[cols].to_numpy(), b[cols].to_numpy())


def test_rank_search_missing_and_sparse_input():
    X = nmfkit.datasets.make_low_rank(60, 30, 3, noise=0.1, random_state=1).X
    Xn = X.copy()
    Xn[np.random.default_rng(0).random(X.shape) < 0.05] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = rank_search(Xn, [2, 3, 4], n_restarts=2, random_state=0)
        assert res.best_k == 3 and np.isfinite(res.table["cv_error"]).all()
        res = rank_search(sp.csr_matrix(X), [2, 3, 4], n_restarts=2, random_state=0)
    assert res.best_k == 3


def test_rank_search_max_time_skips_later_ks():
    X = nmfkit.datasets.make_low_rank(60, 30, 3, random_state=0).X
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.warns(UserWarning, match="max_time"):
            res = rank_search(X, [2, 3, 4, 5], n_restarts=2, max_time=0.0, random_state=0)
    assert list(res.table["k"]) == [2]


@pytest.mark.parametrize("kwargs,match", [
    (dict(ks=[0, 2]), "positive integers"),
    (dict(ks=[2, 2.5]), "positive integers"),
    (dict(ks=["3"]), "positive integers"),
    (dict(ks=[]), "empty"),
    (dict(ks=[2, 31]), "min\\(n_samples, n_features\\) = 30"),
    (dict(ks=[2, 2]), "repeats"),
    (dict(n_restarts=1), "n_restarts >= 2"),
    (dict(cv="kfold"), "cv='kfold'"),
    (dict(rule="elbow"), "rule='elbow'"),
    (dict(cv_fraction=1.5), "fraction=1.5"),
    (dict(consensus="yes"), "consensus="),
])
def test_rank_search_bad_input(kwargs, match):
    X = np.random.default_rng(0).random((40, 30))
    kwargs = {"ks": [2, 3], **kwargs}
    with pytest.raises(NMFInputError, match=match):
        rank_search(X, **kwargs)


def test_bad_input_of_the_parts():
    rng = np.random.default_rng(0)
    with pytest.raises(NMFInputError, match="at least 2"):
        consensus([rng.random((5, 2))])
    with pytest.raises(NMFInputError, match="keep_all=True"):
        consensus(restarts(rng.random((10, 6)), 2, 2, max_iter=5, tol=0, random_state=0))
    with pytest.raises(NMFInputError, match="same shape"):
        match_components(rng.random((3, 5)), rng.random((4, 5)))
    with pytest.raises(NMFInputError, match="at least 2"):
        component_stability([rng.random((3, 5))])
    with pytest.raises(NMFInputError, match="fraction"):
        speckled_cv(rng.random((10, 6)), [2], fraction=0)
    with pytest.raises(NMFInputError, match="n_splits"):
        bicv(rng.random((10, 6)), [2], n_splits=1)
    with pytest.raises(NMFInputError, match="zero entries"):
        speckled_cv(np.eye(6) + 0.0, [2], loss="is")


# --------------------------------------------------------------------------- plots
def test_selection_plots(small_search):
    _, res = small_search
    fig = plot_rank_search(res)
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    assert any("best k = 3" in t.get_text() for t in fig.axes[0].get_legend().get_texts())
    ax = plot_consensus(res)
    assert isinstance(ax, Axes) and "k = 3" in ax.get_title()
    img = ax.images[0].get_array()
    np.testing.assert_allclose(np.diag(img), 1.0)
    ax = plot_component_stability(res, k=4)
    assert isinstance(ax, Axes) and "k = 4" in ax.get_title()
    _, ax = plt.subplots()
    assert plot_consensus(res.consensus[2], ax=ax) is ax
    assert isinstance(plot_rank_search(res.table), Figure)
    with pytest.raises(NMFInputError, match="no consensus for k=9"):
        plot_consensus(res, k=9)
    with pytest.raises(NMFInputError, match="RankSearchResult"):
        plot_rank_search(np.zeros(3))
