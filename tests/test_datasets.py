"""Tests for nmfkit.datasets: bundled real data and the synthetic generator."""

from __future__ import annotations

import hashlib
import gzip
from importlib import resources

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from nmfkit import NMFInputError, datasets
from nmfkit.datasets import (
    LowRankData,
    load_breast_cancer_sbs96,
    load_digits,
    load_newsgroups10,
    load_orl_faces,
    load_mice_protein,
    load_microbiome_atlas,
    load_mouse10k,
    load_pbmc68k,
    make_low_rank,
)

LOADERS = [
    load_mice_protein,
    load_breast_cancer_sbs96,
    load_pbmc68k,
    load_mouse10k,
    load_digits,
    load_microbiome_atlas,
    load_newsgroups10,
    load_orl_faces,
]


@pytest.fixture(scope="module")
def bunches():
    return {f.__name__: f() for f in LOADERS}


def test_public_api():
    assert set(datasets.__all__) == {f.__name__ for f in LOADERS} | {
        "make_low_rank", "LowRankData", "make_contrastive_counts", "ContrastiveCounts",
        "NEWSGROUPS10_SUPER", "make_pbmc_batches",
        "load_trumpet", "fetch_movielens_100k", "get_data_home", "make_ratings",
        "make_planted_program", "PlantedProgram", "log1p_cp10k"}


@pytest.mark.parametrize("name", [f.__name__ for f in LOADERS])
def test_every_bunch_has_x_description_attribution(bunches, name):
    data = bunches[name]
    assert data.X.shape[0] > 0 and data.X.shape[1] > 0
    assert isinstance(data.description, str) and 1 <= data.description.count("\n") <= 5
    assert isinstance(data.attribution, str) and "\n" not in data.attribution
    assert any(lic in data.attribution
               for lic in ("CC BY 4.0", "CC0 1.0", "BSD-2-Clause", "BSD-3-Clause"))
    if "obs" in data:
        assert len(data.obs) == data.X.shape[0] and data.obs.index.is_unique
        if isinstance(data.X, pd.DataFrame):
            assert data.obs.index.equals(data.X.index)
    if "var" in data:
        assert len(data.var) == data.X.shape[1]


def test_bundled_files_match_shared_checksums():
    data_dir = resources.files("nmfkit.datasets").joinpath("_data")
    expected = {
        "sigprofiler_21BRCA_SBS96.txt": "fcda814e09881cdafb083170f4c1d3babf332c3094397e0e505b139c87f779bc",
        "pbmc68k_reduced_counts.npz": "c8fa8c7adf05bd1ece46915f12ef36d303702ac417189de977dfda1505d3723a",
        "sklearn_digits.csv.gz": "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22",
    }
    for name, digest in expected.items():
        assert hashlib.sha256(data_dir.joinpath(name).read_bytes()).hexdigest() == digest
    raw = gzip.decompress(data_dir.joinpath("uci_mice_protein_Data_Cortex_Nuclear.csv.gz").read_bytes())
    assert raw.startswith(b"\xef\xbb\xbf")  # the original BOM is kept byte for byte
    assert hashlib.sha256(raw).hexdigest() == (
        "5ec490ae48bf7f2eb958fd33ef5036e58a2933cc05e816064c0ea3b14ad3903b"
    )
    attribution = data_dir.joinpath("ATTRIBUTION.md").read_text(encoding="utf-8")
    for licence in ("CC BY 4.0", "BSD-2-Clause", "BSD-3-Clause", "CC0 1.0"):
        assert licence in attribution
    # the trumpet (.ogg, CC BY 3.0) is bundled with its licence beside it; no other audio
    assert not any(n.endswith(".wav") for n in (p.name for p in data_dir.iterdir()))
    assert data_dir.joinpath("trumpet_sorohanro.LICENSE.txt").is_file()


def test_mice_protein(bunches):
    data = bunches["load_mice_protein"]
    X, obs = data.X, data.obs
    assert X.shape == (1080, 77)
    assert (X.dtypes == np.float64).all()
    assert X.index.name == "MouseID" and X.index.is_unique
    assert X.columns[0] == "DYRK1A_N" and X.columns[-1] == "CaNA_N"  # BOM not in the first name
    assert int(X.isna().sum().sum()) == 1396
    assert int((X < 0).sum().sum()) == 1
    assert X.min().min() == pytest.approx(-0.062007874)
    assert list(obs.columns) == ["Genotype", "Treatment", "Behavior", "class"]
    assert set(obs["Genotype"]) == {"Control", "Ts65Dn"}
    assert set(obs["Treatment"]) == {"Memantine", "Saline"}
    assert set(obs["Behavior"]) == {"C/S", "S/C"}
    counts = obs["class"].value_counts()
    assert len(counts) == 8 and counts["c-CS-m"] == 150 and counts["t-CS-s"] == 105
    # Biology sanity: the class label encodes the other three columns.
    first = obs.iloc[0]
    assert (first["Genotype"], first["Treatment"], first["class"]) == ("Control", "Memantine", "c-CS-m")


def test_breast_cancer_sbs96(bunches):
    data = bunches["load_breast_cancer_sbs96"]
    X, catalog = data.X, data.catalog
    assert X.shape == (21, 96) and catalog.shape == (96, 21)
    assert (X.dtypes == np.float64).all()
    np.testing.assert_array_equal(X.to_numpy(), catalog.T.to_numpy())
    assert X.columns[0] == "A[C>A]A" and X.columns[-1] == "T[T>G]T"
    assert list(X.columns) == sorted(X.columns)  # the file's alphabetical order
    assert X.index[0] == "PD4199a" and X.index.is_unique
    assert int(catalog.to_numpy().sum()) == 183916
    assert catalog.loc["A[C>A]A", "PD4199a"] == 58
    assert X.to_numpy().min() >= 0
    assert data.var["substitution"].value_counts().to_dict() == {
        s: 16 for s in ("C>A", "C>G", "C>T", "T>A", "T>C", "T>G")
    }
    assert data.var.loc["T[C>T]G", "context"] == "TCG"
    # C>T is the most common substitution class in breast cancer
    totals = X.T.groupby(data.var["substitution"]).sum().sum(axis=1)
    assert totals.idxmax() == "C>T"


def test_pbmc68k(bunches):
    data = bunches["load_pbmc68k"]
    X = data.X
    assert sp.isspmatrix_csr(X) and X.shape == (700, 765) and X.dtype == np.float64
    assert X.nnz == 174_400
    assert X.sum() == 486_651
    assert np.all(X.data == np.round(X.data)) and X.data.min() >= 1
    assert data.obs.index[0] == "AAAGCCTGGCTAAC-1" and data.obs.index.is_unique
    assert list(data.obs.columns) == ["bulk_labels", "louvain"]
    assert set(data.obs["bulk_labels"]) >= {"CD14+ Monocyte", "CD56+ NK", "CD19+ B", "Dendritic"}
    assert data.obs["bulk_labels"].nunique() == 10
    assert list(data.obs["louvain"].cat.categories) == [str(i) for i in range(11)]
    assert data.var.index[:2].tolist() == ["HES4", "TNFRSF4"] and data.var.index.is_unique


def test_mouse10k(bunches):
    data = bunches["load_mouse10k"]
    X = data.X
    assert sp.isspmatrix_csr(X) and X.shape == (10_000, 1_000) and X.dtype == np.float64
    assert X.nnz == 691_914 and X.sum() == 1_597_698
    assert X.nnz / np.prod(X.shape) == pytest.approx(0.069, abs=5e-4)
    assert data.obs.shape == (10_000, 0) and data.obs.index.is_unique
    assert list(data.var.columns) == ["gene_symbol", "gene_ids"]
    assert data.var.index.is_unique and data.var["gene_symbol"].iloc[0] == "Xkr4"
    assert data.var["gene_ids"].str.startswith("ENSMUSG").all()


def test_digits(bunches):
    data = bunches["load_digits"]
    X = data.X
    assert isinstance(X, np.ndarray) and X.shape == (1797, 64) and X.dtype == np.float64
    assert X.min() == 0 and X.max() == 16
    assert data.target.dtype.kind == "i" and set(data.target) == set(range(10))
    assert np.bincount(data.target).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    assert data.images.shape == (1797, 8, 8)
    np.testing.assert_array_equal(data.images[5].ravel(), X[5])
    # the border columns of the 8x8 images are almost always blank
    assert data.images[:, :, 0].mean() < 0.5 and data.images[:, :, 3].mean() > 5


def test_microbiome_atlas(bunches):
    data = bunches["load_microbiome_atlas"]
    X, obs = data.X, data.obs
    assert X.shape == (1151, 130) and (X.dtypes == np.float64).all()
    assert X.index[0] == "Sample-1" and X.columns[0] == "Actinomycetaceae"
    assert X.to_numpy().sum() == 13_546_564 and not X.isna().any().any()
    assert obs.shape == (1151, 9) and (obs.index == X.index).all()
    assert "sample" not in obs.columns
    assert {"age", "sex", "nationality", "bmi_group", "subject", "time"} <= set(obs.columns)
    assert set(obs["sex"].dropna()) == {"male", "female"}
    assert int(obs["sex"].isna().sum()) == 37


# --------------------------------------------------------------------------- make_low_rank


def test_make_low_rank_shapes_and_truth():
    out = make_low_rank(60, 30, 4, random_state=0)
    assert isinstance(out, LowRankData)
    X, W, H = out
    assert X.shape == (60, 30) and W.shape == (60, 4) and H.shape == (4, 30)
    assert X.dtype == W.dtype == H.dtype == np.float64
    assert (X >= 0).all() and (W >= 0).all() and (H >= 0).all()
    np.testing.assert_allclose(H.sum(axis=1), 1.0)
    assert np.linalg.matrix_rank(W @ H) == 4
    # sparse-ish, distinct rows: every feature has a home component, rows are far from each other
    assert (H > 0).any(axis=0).all() and 0.2 < (H > 0).mean() < 0.6
    Hn = H / np.linalg.norm(H, axis=1, keepdims=True)
    assert (Hn @ Hn.T)[~np.eye(4, dtype=bool)].max() < 0.8


def test_make_low_rank_is_reproducible():
    a = make_low_rank(50, 20, 3, random_state=42)
    b = make_low_rank(50, 20, 3, random_state=42)
    c = make_low_rank(50, 20, 3, random_state=43)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a.X, c.X)
    g1, g2 = np.random.default_rng(7), np.random.default_rng(7)
    np.testing.assert_array_equal(make_low_rank(random_state=g1).X, make_low_rank(random_state=g2).X)


@pytest.mark.parametrize("noise", [0.0, 0.05, 0.3])
def test_gaussian_noise_level(noise):
    X, W, H = make_low_rank(300, 120, 5, noise=noise, random_state=1)
    X0 = W @ H
    rel = np.sqrt(np.mean((X - X0) ** 2)) / X0.std()
    # the residual is the injected noise, slightly reduced by clipping at zero
    assert rel <= noise * 1.02 + 1e-12
    assert rel >= noise * 0.7
    if noise == 0:
        np.testing.assert_array_equal(X, X0)


def test_poisson_counts_mean_matches_truth():
    X, W, H = make_low_rank(400, 100, 3, noise=0.2, kind="poisson", random_state=3)
    mu = W @ H
    assert np.array_equal(X, np.round(X)) and X.min() >= 0
    assert mu.mean() == pytest.approx(1 / 0.2**2)
    assert X.mean() == pytest.approx(mu.mean(), rel=0.01)
    # unbiased entry-wise: the average of X - WH over bins of WH is ~0, variance ~ mean
    resid = (X - mu) / np.sqrt(np.maximum(mu, 1e-12))
    assert abs(resid[mu > 1].mean()) < 0.02 and resid[mu > 1].var() == pytest.approx(1.0, abs=0.05)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_samples": 0}, "n_samples=0"),
        ({"n_features": 2.5}, "n_features=2.5"),
        ({"n_components": True}, "n_components=True"),
        ({"n_samples": 3, "n_components": 4}, "n_components=4 exceeds"),
        ({"noise": -0.1}, "noise=-0.1"),
        ({"noise": float("nan")}, "noise=nan"),
        ({"noise": 0.0, "kind": "poisson"}, "noise=0 with kind='poisson'"),
        ({"kind": "binomial"}, "kind='binomial'"),
        ({"random_state": "seed"}, "random_state='seed'"),
    ],
)
def test_make_low_rank_rejects_bad_arguments(kwargs, match):
    with pytest.raises(NMFInputError, match=match.replace("(", r"\(").replace("[", r"\[")) as err:
        make_low_rank(**kwargs)
    assert "pass" in str(err.value)  # every message says how to fix it


def test_loaders_return_independent_copies():
    a = load_digits()
    a.X[0, 0] = 99.0
    assert load_digits().X[0, 0] == 0.0
    assert isinstance(load_mice_protein().X, pd.DataFrame)
