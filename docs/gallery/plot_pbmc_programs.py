"""
Gene programs of blood cells with nmfkit.tl
===========================================

NMF as a scanpy-style tool: :func:`nmfkit.tl.nmf` factorises an AnnData of single
cells into gene programs and stores them as scanpy stores PCA (``obsm["X_nmf"]``,
``varm["NMF"]``, ``uns["nmf"]``); :mod:`nmfkit.pl` draws the programs against the
cell types. The data are the 700 peripheral blood mononuclear cells × 765 genes
bundled with nmfkit (:func:`nmfkit.datasets.load_pbmc68k`: 10x Genomics, Fresh 68k
PBMCs (Donor A), CC BY 4.0; the subset of scanpy's ``pbmc68k_reduced``, BSD-3-Clause),
with sorted cell types in ``obs["bulk_labels"]``. PCA (``sc.tl.pca``) is the peer:
we cluster both representations the same way and print how well each matches the
cell types.
"""

# %%
# An AnnData from the bundled counts
# ----------------------------------
# Raw counts go to a layer; ``X`` holds the usual normalised, log-transformed values
# (non-negative, so NMF can use them directly).
import tempfile
from pathlib import Path

import anndata
import numpy as np
import pandas as pd
import scanpy as sc
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

import nmfkit
from nmfkit import pl, tl

data = nmfkit.datasets.load_pbmc68k()
print(data.attribution)
adata = anndata.AnnData(data.X.copy(), obs=data.obs.copy(), var=data.var.copy())
adata.layers["counts"] = data.X.copy()
sc.pp.normalize_total(adata, target_sum=1e4)
sc.pp.log1p(adata)
print(adata)

# %%
# Ten programs, stored in scanpy's conventions
# --------------------------------------------
# ``model_params`` go to :class:`nmfkit.NMF` (here the default Frobenius loss with
# HALS, seeded). Nothing else of ``adata`` changes.
tl.nmf(adata, 10, max_iter=200, random_state=0)
info = adata.uns["nmf"]
print("codes", adata.obsm["X_nmf"].shape, "| loadings", adata.varm["NMF"].shape)
print(f"{info['n_iter']} iterations, stop: {info['stop_reason']}, loss {info['loss']:.2f}")

# %%
# Which cell types use which program
# ----------------------------------
# The mean code of each cell type in each program, each program scaled to [0, 1]
# across the cell types.
ax = pl.components_heatmap(adata, "bulk_labels")
ax.set_title("NMF programs by cell type")

# %%
# The genes of each program
# -------------------------
# The heaviest genes of each program (the columns of ``varm["NMF"]``), printed and drawn.
names = list(info["component_names"])
top = pd.DataFrame({name: adata.var_names[np.argsort(-adata.varm["NMF"][:, j])[:6]]
                    for j, name in enumerate(names)}).T
top.columns = [f"gene {i + 1}" for i in range(top.shape[1])]
print(top.to_string())
fig = pl.top_features(adata, n=8)

# %%
# NMF against PCA: which representation separates the cell types?
# ----------------------------------------------------------------
# Ten principal components of the same ``X`` (``sc.tl.pca``), and the same clustering
# of both (k-means with 10 clusters, seeded): the adjusted Rand index against
# ``bulk_labels`` (1 = identical partitions, 0 = chance). The number is measured here;
# other seeds and ranks move it by a few hundredths.
sc.tl.pca(adata, n_comps=10, random_state=0)
labels = adata.obs["bulk_labels"].to_numpy()
scores = {}
for rep in ("X_nmf", "X_pca"):
    clusters = KMeans(10, n_init=10, random_state=0).fit_predict(adata.obsm[rep])
    scores[rep] = adjusted_rand_score(labels, clusters)
    print(f"{rep}: ARI of k-means(10) against bulk_labels = {scores[rep]:.3f}")
better = "NMF codes" if scores["X_nmf"] > scores["X_pca"] else "PCA"
print(f"higher ARI here: {better}")

# %%
# Programs on an embedding
# ------------------------
# Each program's codes on the first two principal components (``basis="pca"``; after
# ``sc.pp.neighbors(adata, use_rep="X_nmf")`` and ``sc.tl.umap`` a UMAP works the same way).
fig = pl.embedding(adata, basis="pca", components=range(4))

# %%
# Saved and read back
# -------------------
# Everything ``tl.nmf`` stored survives an ``.h5ad`` file, and
# :meth:`nmfkit.NMFResult.from_anndata` rebuilds the result from it.
folder = Path(tempfile.mkdtemp())
print("writing to", folder)
adata.write_h5ad(folder / "pbmc_nmf.h5ad")
back = nmfkit.NMFResult.from_anndata(anndata.read_h5ad(folder / "pbmc_nmf.h5ad"))
print("W equal after the round trip:", bool(np.array_equal(back.W, adata.obsm["X_nmf"])),
      "| H shape", back.H.shape, "| loss", round(back.loss, 2))
