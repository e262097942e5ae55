"""nmfkit.tl: NMF of AnnData in scanpy's conventions (layout, fidelity, h5ad, backed files)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

anndata = pytest.importorskip("anndata")

import nmfkit  # noqa: E402
from nmfkit import tl  # noqa: E402
from nmfkit.exceptions import NMFInputError  # noqa: E402

FIT = dict(max_iter=60, random_state=0)


def _log_normalise(X):
    tot = np.asarray(X.sum(axis=1)).ravel()
    L = sp.csr_matrix(sp.diags(1e4 / tot) @ X)
    L.data = np.log1p(L.data)
    return L


@pytest.fixture(scope="module")
def pbmc():
    """pbmc68k: X log-normalised (CSR), layers['counts'] raw counts, obs bulk_labels."""
    d = nmfkit.datasets.load_pbmc68k()
    adata = anndata.AnnData(_log_normalise(d.X), obs=d.obs.copy(), var=d.var.copy())
    adata.layers["counts"] = d.X.copy()
    return adata


def _snapshot(adata):
    """Everything of adata, to compare before / after."""
    def dense(m):
        return m.toarray() if sp.issparse(m) else np.asarray(m)
    return dict(X=dense(adata.X), layers={k: dense(v) for k, v in adata.layers.items()},
                obs=adata.obs.copy(), var=adata.var.copy(), obsm={k: np.array(v) for k, v in adata.obsm.items()},
                varm={k: np.array(v) for k, v in adata.varm.items()}, uns=dict(adata.uns))


def _assert_unchanged(before, adata, new_keys=()):
    np.testing.assert_array_equal(before["X"], adata.X.toarray() if sp.issparse(adata.X) else adata.X)
    assert set(adata.layers) == set(before["layers"])
    for k, v in before["layers"].items():
        np.testing.assert_array_equal(v, adata.layers[k].toarray() if sp.issparse(adata.layers[k]) else adata.layers[k])
    pd.testing.assert_frame_equal(before["obs"], adata.obs)
    pd.testing.assert_frame_equal(before["var"], adata.var)
    for where in ("obsm", "varm", "uns"):
        current = getattr(adata, where)
        assert set(current) - set(new_keys) == set(before[where]), where
        for k, v in before[where].items():
            if k not in new_keys:
                assert current[k] is v or np.array_equal(np.asarray(current[k]), np.asarray(v)), (where, k)


def test_layout_copy_and_nothing_else_changes(pbmc):
    adata = pbmc.copy()
    adata.obsm["X_other"] = np.ones((adata.n_obs, 2))
    adata.uns["other"] = {"a": 1}
    before = _snapshot(adata)
    out = tl.nmf(adata, 6, key_added="prog", copy=True, **FIT)
    _assert_unchanged(before, adata)  # copy=True: the input is untouched
    assert out.obsm["X_prog"].shape == (700, 6) and out.varm["PROG"].shape == (765, 6)
    _assert_unchanged(before, out, new_keys=("X_prog", "PROG", "prog"))
    assert tl.nmf(adata, 6, **FIT) is None  # in place returns None (scanpy)
    _assert_unchanged(before, adata, new_keys=("X_nmf", "NMF", "nmf"))
    uns = adata.uns["nmf"]
    assert uns["params"]["n_components"] == 6 and uns["params"]["random_state"] == 0
    assert uns["params"]["layer"] == "None" and uns["params"]["use_highly_variable"] is False
    assert list(uns["component_names"]) == [f"nmf{j}" for j in range(6)]
    assert uns["loss"] == uns["loss_history"][-1] and uns["features_used"].all()
    for name in ("n_iter", "converged", "stop_reason", "beta", "solver"):
        assert name in uns


def test_sparse_equals_dense_equals_estimator(pbmc):
    X = pbmc.X
    sparse = anndata.AnnData(X)
    dense = anndata.AnnData(X.toarray())
    tl.nmf(sparse, 8, **FIT)
    tl.nmf(dense, 8, **FIT)
    model = nmfkit.NMF(8, **FIT).fit(X)
    W, H = model.result_.W, model.components_
    scale = np.abs(W).max()
    for ad in (sparse, dense):
        err_W = np.abs(ad.obsm["X_nmf"] - W).max() / scale
        err_H = np.abs(ad.varm["NMF"].T - H).max() / np.abs(H).max()
        print(f"max relative difference to NMF on the matrix: W {err_W:.2e}, H {err_H:.2e}")
        assert err_W < 1e-10 and err_H < 1e-10


def test_layer_and_highly_variable_put_zeros_in_varm(pbmc):
    adata = pbmc.copy()
    rng = np.random.default_rng(0)
    hvg = np.zeros(adata.n_vars, bool)
    hvg[rng.choice(adata.n_vars, 300, replace=False)] = True
    adata.var["highly_variable"] = hvg
    tl.nmf(adata, 5, layer="counts", loss="kl", **FIT)  # use_highly_variable=None: the column is used
    loadings = adata.varm["NMF"]
    assert np.all(loadings[~hvg] == 0) and np.all(loadings[hvg].sum(axis=1) > 0)
    assert np.array_equal(adata.uns["nmf"]["features_used"], hvg)
    assert adata.uns["nmf"]["params"]["layer"] == "counts"
    direct = nmfkit.NMF(5, loss="kl", **FIT).fit(pbmc.layers["counts"][:, np.flatnonzero(hvg)])
    np.testing.assert_allclose(loadings[hvg].T, direct.components_, rtol=0, atol=1e-10)
    tl.nmf(adata, 5, use_highly_variable=False, key_added="all", **FIT)
    assert adata.uns["all"]["features_used"].all()


def test_h5ad_round_trip_keeps_every_entry(pbmc, tmp_path):
    adata = pbmc.copy()
    tl.nmf(adata, 4, **FIT)
    tl.contrastive_nmf(adata, "bulk_labels", "CD14+ Monocyte", ["CD4+/CD25 T Reg", "CD8+ Cytotoxic T"], 2,
                       n_restarts=1, max_iter=30, n_background_components=1, random_state=0,
                       preprocess=None)  # the default "scale" refuses this CSR: see below
    path = tmp_path / "a.h5ad"
    adata.write_h5ad(path)
    back = anndata.read_h5ad(path)
    for key in ("nmf", "cnmf"):
        np.testing.assert_array_equal(back.obsm[f"X_{key}"], adata.obsm[f"X_{key}"])
        np.testing.assert_array_equal(back.varm[key.upper()], adata.varm[key.upper()])
        _assert_same_tree(adata.uns[key], back.uns[key])


def _assert_same_tree(a, b, path="uns"):
    assert isinstance(b, dict) and set(a) == set(b), (path, sorted(set(a) ^ set(b)))
    for k in a:
        if isinstance(a[k], dict):
            _assert_same_tree(a[k], b[k], f"{path}/{k}")
        else:
            x, y = np.asarray(a[k]), np.asarray(b[k])
            assert x.shape == y.shape and (x == y).all() or (np.isnan(x) & np.isnan(y)).all(), f"{path}/{k}"


def test_negative_values_and_unknown_parameters_are_clear_errors(pbmc):
    adata = anndata.AnnData(pbmc.X.toarray() - 1.0)
    with pytest.raises(NMFInputError, match=r"adata\.X has negative values.*layer='counts'"):
        tl.nmf(adata, 3)
    adata.layers["scaled"] = adata.X
    with pytest.raises(NMFInputError, match=r"layers\['scaled'\] has negative values"):
        tl.nmf(adata, 3, layer="scaled")
    with pytest.raises(NMFInputError, match=r"no layer 'raw'"):
        tl.nmf(adata, 3, layer="raw")
    with pytest.raises(NMFInputError, match=r"unknown or reserved parameter\(s\) \['n_iter'\].*max_iter"):
        tl.nmf(pbmc.copy(), 3, n_iter=10)
    with pytest.raises(NMFInputError, match="highly_variable_genes"):
        tl.nmf(pbmc.copy(), 3, use_highly_variable=True)


def test_backed_file_streams_through_minibatch(pbmc, tmp_path, monkeypatch):
    path = tmp_path / "counts.h5ad"
    anndata.AnnData(pbmc.layers["counts"], obs=pbmc.obs[["bulk_labels"]], var=pbmc.var).write_h5ad(path)
    params = dict(batch_size=256, max_iter=5, random_state=0)
    backed = anndata.read_h5ad(path, backed="r")

    def no_whole_X(self):
        raise AssertionError("adata.X was accessed: a backed file must be streamed by rows")

    monkeypatch.setattr(anndata.AnnData, "X", property(no_whole_X))
    tl.nmf(backed, 4, **params)
    assert backed.isbacked and backed.uns["nmf"]["params"]["model"] == "MiniBatchNMF"
    direct = nmfkit.MiniBatchNMF(4, **params).fit(nmfkit.io.open_rows(path))
    np.testing.assert_allclose(backed.obsm["X_nmf"], direct.result_.W, rtol=0, atol=1e-10)
    np.testing.assert_allclose(backed.varm["NMF"].T, direct.components_, rtol=0, atol=1e-10)
    # a highly-variable subset is read block by block, in order (no shuffling of a stream)
    hvg = np.arange(pbmc.n_vars) % 3 == 0
    backed.var["highly_variable"] = hvg
    tl.nmf(backed, 4, key_added="hv", **params)
    memory = nmfkit.MiniBatchNMF(4, shuffle=False, **params).fit(pbmc.layers["counts"][:, hvg])
    assert np.all(backed.varm["HV"][~hvg] == 0)
    np.testing.assert_allclose(backed.varm["HV"][hvg].T, memory.components_, rtol=1e-8, atol=1e-10)
    with pytest.raises(NMFInputError, match="to_memory"):
        tl.nmf(backed, 4, copy=True)


def test_nmf_codes_cluster_like_cell_types_better_than_pca(pbmc):
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA
    from sklearn.metrics import adjusted_rand_score

    adata = pbmc.copy()
    tl.nmf(adata, 10, max_iter=200, random_state=0)
    labels = adata.obs["bulk_labels"].to_numpy()
    kmeans = KMeans(10, n_init=10, random_state=0)
    ari_nmf = adjusted_rand_score(labels, kmeans.fit_predict(adata.obsm["X_nmf"]))
    pcs = PCA(10, random_state=0).fit_transform(adata.X.toarray())
    ari_pca = adjusted_rand_score(labels, kmeans.fit_predict(pcs))
    print(f"KMeans(10) vs bulk_labels: ARI NMF(k=10) {ari_nmf:.3f}, PCA(10) {ari_pca:.3f}")
    assert ari_nmf > 0.5  # measured 0.594 (PCA 0.470)


def test_contrastive_codes_nan_outside_groups(pbmc):
    adata = pbmc.copy()
    target, background = "CD14+ Monocyte", ["CD4+/CD25 T Reg", "CD8+ Cytotoxic T"]
    # log-normalised CSR: the default preprocess="auto" resolves to "scale", which cannot
    # shift the genes without zeros of a sparse matrix (test below); fit it as given
    params = dict(n_restarts=1, max_iter=50, random_state=0, preprocess=None)
    tl.contrastive_nmf(adata, "bulk_labels", target, background, 2, **params)
    groups = adata.obs["bulk_labels"]
    t, b = (groups == target).to_numpy(), groups.isin(background).to_numpy()
    codes = adata.obsm["X_cnmf"]
    assert np.isnan(codes[~(t | b)]).all() and not np.isnan(codes[t | b]).any()
    direct = nmfkit.ContrastiveNMF(2, **params).fit(adata.X[np.flatnonzero(t)], adata.X[np.flatnonzero(b)])
    np.testing.assert_allclose(codes[t], direct.result_.W, rtol=0, atol=1e-10)
    np.testing.assert_allclose(adata.varm["CNMF"].T, direct.result_.H, rtol=0, atol=1e-10)
    uns = adata.uns["cnmf"]
    assert uns["enrichment"][0] > 0 and uns["alpha"] == direct.result_.alpha
    assert list(uns["background"]) == background and np.array_equal(uns["target_mask"], t)
    assert uns["preprocess_used"] == "none"
    with pytest.raises(NMFInputError, match="share cells"):
        tl.contrastive_nmf(adata, "bulk_labels", target, [target], 2)
    with pytest.raises(NMFInputError, match="not found"):
        tl.contrastive_nmf(adata, "bulk_labels", "B cells", background, 2)


@pytest.mark.filterwarnings("ignore::nmfkit.exceptions.ConvergenceWarning")  # 20 iterations
def test_contrastive_default_preprocess_on_log_normalised_csr_and_counts(pbmc):
    """preprocess="auto" on the usual scanpy input: raw counts (layer) and the
    log-normalised CSR in X (67 % zeros: 0 means "absent") are both fitted as given, the
    latter equal to preprocess=None (per-gene scaling would also have to shift the genes
    without zeros, 12 in the CD14+ Monocytes, and densify)."""
    adata = pbmc.copy()
    groups = ("bulk_labels", "CD14+ Monocyte", "CD19+ B")
    kw = dict(n_restarts=1, max_iter=20, random_state=0)
    tl.contrastive_nmf(adata, *groups, 1, layer="counts", **kw)
    assert adata.uns["cnmf"]["preprocess_used"] == "none"
    tl.contrastive_nmf(adata, *groups, 1, **kw)
    assert adata.uns["cnmf"]["preprocess_used"] == "none"
    ref = adata.copy()
    tl.contrastive_nmf(ref, *groups, 1, preprocess=None, **kw)
    np.testing.assert_allclose(np.nan_to_num(adata.obsm["X_cnmf"]), np.nan_to_num(ref.obsm["X_cnmf"]),
                               rtol=0, atol=1e-12)


def test_rank_search_stores_table_and_best_k(tmp_path):
    X = nmfkit.datasets.make_low_rank(80, 40, 3, noise=0.1, random_state=0).X
    adata = anndata.AnnData(X)
    res = tl.rank_search(adata, [2, 3, 4, 5], n_restarts=3, random_state=0)
    uns = adata.uns["nmf_rank"]
    assert res.best_k == 3 and uns["best_k"] == 3
    table = pd.DataFrame(uns["table"])
    np.testing.assert_array_equal(table["k"], [2, 3, 4, 5])
    np.testing.assert_allclose(table["cv_error"], res.table["cv_error"])
    adata.write_h5ad(tmp_path / "r.h5ad")
    _assert_same_tree(uns, anndata.read_h5ad(tmp_path / "r.h5ad").uns["nmf_rank"])
    copy, res2 = tl.rank_search(adata, [2, 3], n_restarts=2, random_state=0, cv=None, copy=True)
    assert copy.uns["nmf_rank"]["best_k"] == "None" and res2.best_k is None


def test_extract_signatures_on_the_breast_cancers(tmp_path):
    data = nmfkit.datasets.load_breast_cancer_sbs96()
    order = np.random.default_rng(0).permutation(96)  # var in any order
    adata = anndata.AnnData(data.X.iloc[:, order].to_numpy(), obs=pd.DataFrame(index=data.X.index),
                            var=data.var.iloc[order])
    res = tl.extract_signatures(adata, [2, 3], n_replicates=4, cv_folds=0, max_iter=500, reference=None,
                                random_state=0)
    k = res.k
    sigs, expo = adata.varm["SIGNATURES"], adata.obsm["X_signatures"]
    assert sigs.shape == (96, k) and expo.shape == (21, k) and adata.uns["signatures"]["k"] == k
    np.testing.assert_allclose(sigs, res.signatures[adata.var_names].T.to_numpy())
    np.testing.assert_allclose(sigs.sum(axis=0), 1.0, atol=1e-9)
    totals = adata.X.sum(axis=1)
    rel = np.abs(expo.sum(axis=1) - totals) / totals
    print(f"k={k}; exposures sum to the sample totals within {rel.max():.3f} (relative)")
    assert np.median(rel) < 0.1
    adata.write_h5ad(tmp_path / "s.h5ad")
    _assert_same_tree(adata.uns["signatures"], anndata.read_h5ad(tmp_path / "s.h5ad").uns["signatures"])
    # type names as read_catalog accepts them (any case, padded) are matched as it normalises them
    loose = adata.copy()
    loose.var_names = [f" {v.lower()}" for v in adata.var_names]
    tl.extract_signatures(loose, [k], n_replicates=4, cv_folds=0, max_iter=500, reference=None,
                          random_state=0)
    assert np.isfinite(loose.varm["SIGNATURES"]).all()
    np.testing.assert_allclose(loose.varm["SIGNATURES"], sigs, atol=1e-12)


# -- scanpy (installed by the test extra) -------------------------------------------------
def test_scanpy_highly_variable_genes_then_neighbors_on_codes(pbmc):
    sc = pytest.importorskip("scanpy")
    adata = pbmc.copy()
    sc.pp.highly_variable_genes(adata, n_top_genes=300)
    tl.nmf(adata, 6, **FIT)
    hvg = adata.var["highly_variable"].to_numpy()
    assert np.array_equal(adata.uns["nmf"]["features_used"], hvg) and np.all(adata.varm["NMF"][~hvg] == 0)
    sc.pp.neighbors(adata, use_rep="X_nmf", method="gauss", random_state=0)  # no numba JIT
    assert adata.uns["neighbors"]["params"]["use_rep"] == "X_nmf"
    assert adata.obsp["connectivities"].shape == (700, 700)
