"""nmfkit.pl: plots of a result stored in an AnnData."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

anndata = pytest.importorskip("anndata")

import nmfkit  # noqa: E402
from nmfkit import pl, tl  # noqa: E402
from nmfkit.exceptions import NMFInputError  # noqa: E402


@pytest.fixture(scope="module")
def adata():
    d = nmfkit.datasets.load_pbmc68k()
    a = anndata.AnnData(d.X, obs=d.obs, var=d.var)
    tl.nmf(a, 5, loss="kl", max_iter=40, random_state=0)
    return a


def test_heatmap_values_are_group_means(adata):
    import matplotlib.pyplot as plt

    expected = pd.DataFrame(adata.obsm["X_nmf"], index=adata.obs_names).groupby(
        adata.obs["bulk_labels"], observed=True).mean()
    ax = pl.components_heatmap(adata, "bulk_labels", standard_scale=None)
    drawn = np.asarray(ax.images[0].get_array())
    np.testing.assert_allclose(drawn, expected.to_numpy(), rtol=1e-12)
    assert [t.get_text() for t in ax.get_yticklabels()] == [str(v) for v in expected.index]
    assert ax.get_xlabel() == "component" and ax.get_ylabel() == "bulk_labels"
    scaled = np.asarray(pl.components_heatmap(adata, "bulk_labels").images[0].get_array())
    low, high = expected.min(), expected.max()
    np.testing.assert_allclose(scaled, ((expected - low) / (high - low)).to_numpy(), rtol=1e-12)
    plt.close("all")


def test_top_features_uses_gene_names(adata, tmp_path):
    import matplotlib.pyplot as plt

    fig = pl.top_features(adata, n=5, save=tmp_path / "top")
    assert len(fig.axes) == 5 and (tmp_path / "top.png").exists() and (tmp_path / "top.svg").exists()
    H = adata.varm["NMF"][:, 0]
    best = adata.var_names[np.argmax(H)]
    assert fig.axes[0].get_yticklabels()[-1].get_text() == best  # heaviest gene on top
    plt.close("all")


def test_embedding_panels_and_missing_entries(adata):
    import matplotlib.pyplot as plt

    a = adata.copy()
    with pytest.raises(NMFInputError, match=r"no 'X_umap'.*sc\.tl\.umap"):
        pl.embedding(a)
    a.obsm["X_umap"] = np.random.default_rng(0).random((a.n_obs, 2))
    fig = pl.embedding(a, components=[0, 2, 4])
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(panels) == 3 and [ax.get_title() for ax in panels] == ["nmf0", "nmf2", "nmf4"]
    np.testing.assert_allclose(panels[1].collections[1].get_array(), np.sort(a.obsm["X_nmf"][:, 2]))
    with pytest.raises(NMFInputError, match=r"key='prog'.*tl.nmf"):
        pl.components_heatmap(a, "bulk_labels", key="prog")
    with pytest.raises(NMFInputError, match="no column 'cell_type'"):
        pl.components_heatmap(a, "cell_type")
    plt.close("all")


def test_heatmap_rows_follow_the_category_order(adata):
    import matplotlib.pyplot as plt

    a = adata.copy()
    cats = list(reversed(a.obs["bulk_labels"].cat.categories))  # not alphabetical
    a.obs["bulk_labels"] = a.obs["bulk_labels"].cat.reorder_categories(cats)
    means = pl.group_means(a, "bulk_labels", standard_scale=None)
    assert list(means.index) == [c for c in cats if c in set(a.obs["bulk_labels"])]
    plt.close("all")
