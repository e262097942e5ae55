"""ContrastiveNMF on real single-cell counts with a planted program (issue 17).

A small version of ``benchmarks/bench_contrastive_real.py``: the README recipe
(``preprocess="log1p_cp10k"``, Frobenius, no background programs, ``(k, α)`` from
``contrastive_path(...).choose()``) must find the planted cells.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

import nmfkit
from nmfkit.datasets._planted import log1p_cp10k, make_planted_program
from nmfkit.exceptions import NMFInputError
from nmfkit.selection._contrastive_path import ContrastivePathResult


def _ari(labels, codes):
    return adjusted_rand_score(labels, KMeans(2, n_init=10, random_state=0).fit_predict(codes))


def test_planted_program_construction():
    d = make_planted_program("pbmc68k", n_genes=25, strength=2.0, random_state=3)
    assert d.X.shape[1] == d.Y.shape[1] == 765 and abs(d.X.shape[0] - d.Y.shape[0]) <= 1
    assert d.labels.sum() == d.X.shape[0] // 2 and d.genes.size == 25
    # the same cell types in both halves, the genes outside the top-20 % expressed
    assert set(d.target_types) == set(d.background_types) and len(set(d.target_types)) == 4
    full = nmfkit.datasets.load_pbmc68k().X
    rank = np.argsort(np.argsort(-np.asarray(full.mean(axis=0)).ravel()))
    assert rank[d.genes].min() >= 0.2 * 765
    # the program adds counts to the planted cells only, on its genes only: the planted
    # cells' program-gene totals exceed the others' by about n_genes * strength
    tot = d.X[:, d.genes].sum(axis=1)
    gap = tot[d.labels == 1].mean() - tot[d.labels == 0].mean()
    assert 40 < gap < 60
    again = make_planted_program("pbmc68k", n_genes=25, strength=2.0, random_state=3)
    assert np.array_equal(again.X, d.X) and np.array_equal(again.labels, d.labels)
    one = make_planted_program("pbmc68k", n_genes=10, one_type=True, random_state=0)
    assert len(set(one.target_types[one.labels == 1])) == 1
    with pytest.raises(NMFInputError, match="dataset"):
        make_planted_program("pbmc3k")
    with pytest.raises(NMFInputError, match="n_genes"):
        make_planted_program(n_genes=0)


def test_preprocess_option_is_log1p_cp10k_everywhere():
    d = make_planted_program("pbmc68k", random_state=0)
    kw = dict(alpha=3.0, n_restarts=1, max_iter=100, random_state=0)
    a = nmfkit.ContrastiveNMF(1, preprocess="log1p_cp10k", **kw).fit(d.X, d.Y)
    b = nmfkit.ContrastiveNMF(1, preprocess=None, **kw).fit(*d.log_normalized())  # as given
    np.testing.assert_allclose(a.components_, b.components_, rtol=1e-10, atol=1e-14)
    # sparse input, and transform applies the same transform to new counts
    c = nmfkit.ContrastiveNMF(1, preprocess="log1p_cp10k", **kw).fit(sp.csr_matrix(d.X), d.Y)
    np.testing.assert_allclose(c.components_, a.components_, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(a.transform(d.X[:20]), b.transform(log1p_cp10k(d.X[:20])),
                               rtol=1e-8, atol=1e-10)
    df = pd.DataFrame(d.X, columns=d.var_names)
    res = nmfkit.contrastive_nmf(df, pd.DataFrame(d.Y, columns=d.var_names), 1,
                                 preprocess="log1p_cp10k", **kw)
    assert list(res.H.columns) == list(d.var_names)
    with pytest.raises(NMFInputError, match="preprocess"):
        nmfkit.ContrastiveNMF(1, preprocess="log").fit(d.X, d.Y)
    with pytest.raises(NMFInputError, match="raw counts"):
        nmfkit.ContrastiveNMF(1, preprocess="log1p_cp10k").fit(-d.X, d.Y)


def test_choose_rule_on_a_table():
    """α: of the stable α either side of the contrast line, the nearer; k: only while it adds."""
    t = pd.DataFrame({"n_components": [1] * 3 + [2] * 3, "alpha": [1.0, 2.0, 5.0] * 2,
                      "target_explained": [.30, .10, .05, .40, .20, .08],
                      "contrast": [.5, 2.0, 3.5, .5, 2.0, 3.5],
                      "stability": [1, 1, 1, .95, .95, .93], "n_valid": 3})
    assert ContrastivePathResult(t, {}).choose() == (2, 5.0)  # k=2 adds 60 %
    t.loc[5, "target_explained"] = 0.051
    assert ContrastivePathResult(t, {}).choose() == (1, 5.0)  # adds 2 %: keep k=1
    t.loc[2, "stability"] = 0.5
    assert ContrastivePathResult(t, {}).choose() == (2, 2.0)  # no stable α reaches it: max


CASES = [dict(n_genes=30, strength=2.0), dict(n_genes=40, strength=2.0, one_type=True)]


@pytest.mark.parametrize("case", CASES, ids=["half-of-all", "one-type"])
def test_recommended_recipe_finds_the_planted_program(case):
    """README recipe, label-free (k, α): ARI >= 0.9 (measured: (1, 5) chosen, ARI 1.0 on both)."""
    d = make_planted_program("pbmc68k", random_state=0, **case)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = nmfkit.contrastive_path(d.X, d.Y, alphas=(1, 2, 3, 5, 10), n_components=(1, 2),
                                       preprocess="log1p_cp10k", random_state=0)
        k, alpha = path.choose()
        model = nmfkit.ContrastiveNMF(k, alpha=alpha, preprocess="log1p_cp10k",
                                      random_state=0).fit(d.X, d.Y)
    assert _ari(d.labels, model.target_codes_) >= 0.9
    assert model.enrichment_.min() > 0.5  # used more by the target than by the background
    # the program's genes carry the component: most of the top-loaded genes are planted ones
    top = np.argsort(-model.components_[0])[: d.genes.size]
    assert np.isin(top, d.genes).mean() >= 0.6  # measured 1.0 and 0.775


@pytest.mark.filterwarnings("ignore::nmfkit.exceptions.ConvergenceWarning")
def test_tl_adapter_takes_the_preprocess_option():
    """tl.contrastive_nmf on raw counts with preprocess= equals the estimator on the same cells."""
    anndata = pytest.importorskip("anndata")
    data = nmfkit.datasets.load_pbmc68k()
    adata = anndata.AnnData(data.X, obs=data.obs, var=data.var)
    kw = dict(alpha=3.0, n_restarts=1, max_iter=60, random_state=0)
    t, b = "CD14+ Monocyte", "CD4+/CD25 T Reg"
    nmfkit.tl.contrastive_nmf(adata, "bulk_labels", t, b, 1, preprocess="log1p_cp10k", **kw)
    assert adata.uns["cnmf"]["params"]["preprocess"] == "log1p_cp10k"
    labels = data.obs["bulk_labels"].to_numpy()
    model = nmfkit.ContrastiveNMF(1, preprocess="log1p_cp10k", **kw).fit(
        data.X[np.flatnonzero(labels == t)], data.X[np.flatnonzero(labels == b)])
    np.testing.assert_allclose(adata.obsm["X_cnmf"][labels == t], model.target_codes_,
                               rtol=1e-6, atol=1e-9)
