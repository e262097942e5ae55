"""NMFResult <-> AnnData / DataFrame round trips (the layout of nmfkit._anndata)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import nmfkit
from nmfkit import NMFResult
from nmfkit.exceptions import NMFInputError

anndata = pytest.importorskip("anndata")


@pytest.fixture(scope="module")
def fit():
    X = nmfkit.datasets.make_low_rank(50, 30, 4, noise=0.1, random_state=0).X
    return X, nmfkit.nmf(X, 4, max_iter=100, random_state=0)


def test_anndata_round_trip_equal_to_1e12(fit, tmp_path):
    X, res = fit
    adata = res.to_anndata(params={"n_components": 4, "random_state": 0, "max_time": None})
    back = NMFResult.from_anndata(adata)
    assert np.abs(back.W - res.W).max() <= 1e-12 and np.abs(back.H - res.H).max() <= 1e-12
    assert back.loss == res.loss and back.loss_history == tuple(res.loss_history)
    assert (back.n_iter, back.converged, back.stop_reason, back.beta, back.solver) == \
        (res.n_iter, res.converged, res.stop_reason, res.beta, res.solver)
    assert back.info["params"] == {"n_components": 4, "random_state": 0, "max_time": None}
    path = tmp_path / "r.h5ad"
    adata.write_h5ad(path)  # "None" stands for None in the file
    again = NMFResult.from_anndata(anndata.read_h5ad(path))
    np.testing.assert_array_equal(again.W, res.W)
    np.testing.assert_array_equal(again.H, res.H)
    assert again.info["params"]["max_time"] is None


def test_anndata_with_feature_subset_and_existing_adata(fit):
    X, res = fit
    used = np.zeros(40, bool)
    used[5:35] = True
    adata = anndata.AnnData(np.zeros((50, 40)))
    out = res.to_anndata(adata, key="sub", features_used=used)
    assert out is adata and np.all(adata.varm["SUB"][~used] == 0)
    back = NMFResult.from_anndata(adata, "sub")
    np.testing.assert_array_equal(back.H, res.H)
    with pytest.raises(NMFInputError, match=r"key='nmf'.*nmfkit.tl.nmf\(adata, \.\.\., key_added='nmf'\)"):
        NMFResult.from_anndata(adata)
    with pytest.raises(NMFInputError, match="features_used"):
        res.to_anndata(anndata.AnnData(np.zeros((50, 40))))


def test_dataframe_round_trip(fit):
    X, res = fit
    samples, features = [f"s{i}" for i in range(50)], [f"g{j}" for j in range(30)]
    W, H = res.to_frames(samples, features)
    assert list(W.columns) == list(H.index) == ["nmf0", "nmf1", "nmf2", "nmf3"]
    assert list(W.index) == samples and list(H.columns) == features
    back = NMFResult.from_frames(W, H, loss=res.loss)
    W2, H2 = back.to_frames()
    pd.testing.assert_frame_equal(W, W2)
    pd.testing.assert_frame_equal(H, H2)
    assert back.loss == res.loss
    with pytest.raises(NMFInputError, match="name the components alike"):
        NMFResult.from_frames(W, H.rename(index={"nmf0": "x"}))


def test_import_nmfkit_does_not_import_anndata():
    import subprocess
    import sys

    code = ("import sys, nmfkit; r = nmfkit.NMFResult; "
            "print('anndata' in sys.modules, 'pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_from_anndata_keeps_gene_names_for_top_features_and_frames():
    """The guide's line: top_features of a result read back from an AnnData, genes named."""
    rng = np.random.default_rng(1)
    genes = [f"g{j}" for j in range(12)]
    X = rng.poisson(rng.gamma(1.0, 1.0, (30, 2)) @ rng.gamma(1.0, 1.0, (2, 12)) * 3).astype(float)
    adata = anndata.AnnData(X, var=pd.DataFrame(index=genes))
    nmfkit.tl.nmf(adata, 2, loss="kl", max_iter=50, random_state=0)
    back = NMFResult.from_anndata(adata)
    table = nmfkit.top_features(back, n=3, by="lift")
    assert set(table.feature) <= set(genes) and set(table.component) == {"nmf0", "nmf1"}
    W_df, H_df = back.to_frames()
    assert list(H_df.columns) == genes and list(W_df.index) == list(adata.obs_names)


def test_to_anndata_puts_labelled_factors_in_adatas_order():
    rng = np.random.default_rng(2)
    W = pd.DataFrame(rng.random((4, 2)), index=list("dcba"), columns=["nmf0", "nmf1"])
    H = pd.DataFrame(rng.random((2, 3)), index=["nmf0", "nmf1"], columns=list("zyx"))
    adata = anndata.AnnData(np.ones((4, 3)), obs=pd.DataFrame(index=list("abcd")),
                            var=pd.DataFrame(index=list("xyz")))
    NMFResult.from_frames(W, H).to_anndata(adata)
    np.testing.assert_array_equal(adata.obsm["X_nmf"], W.loc[list("abcd")].to_numpy())
    np.testing.assert_array_equal(adata.varm["NMF"], H.loc[:, list("xyz")].to_numpy().T)
    other = anndata.AnnData(np.ones((4, 3)), obs=pd.DataFrame(index=list("abce")),
                            var=pd.DataFrame(index=list("xyz")))
    with pytest.raises(NMFInputError, match="sample names differ from adata.obs_names"):
        NMFResult.from_frames(W, H).to_anndata(other)


def test_subsetting_genes_after_the_fit_keeps_the_result_readable():
    rng = np.random.default_rng(3)
    X = rng.poisson(3.0, (40, 15)).astype(float)
    adata = anndata.AnnData(X, var=pd.DataFrame({"highly_variable": np.arange(15) % 3 != 0},
                                                index=[f"g{j}" for j in range(15)]))
    nmfkit.tl.nmf(adata, 2, loss="kl", max_iter=30, random_state=0)  # uses the 10 HVGs
    full = NMFResult.from_anndata(adata)
    sub = adata[:, adata.var.highly_variable].copy()  # the usual scanpy step
    back = NMFResult.from_anndata(sub)
    np.testing.assert_array_equal(back.H, full.H)
    assert back.info["col_names"] == [f"g{j}" for j in range(15) if j % 3]
