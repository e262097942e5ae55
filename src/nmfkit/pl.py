"""Plots of a result stored in an AnnData by ``nmfkit.tl`` (scanpy's ``pl`` for NMF).

Each function takes ``adata`` and the ``key`` the result was stored under (default
``"nmf"``; the layout of :mod:`nmfkit._anndata`), draws into the ``ax`` / ``fig`` given
or a new figure, uses the one style (:mod:`nmfkit.plotting._style`), and returns the
Axes or Figure through ``finish`` (``save="path"`` writes PNG + SVG). A missing key
raises :class:`~nmfkit.NMFInputError` naming the ``tl`` call that writes it.

- :func:`components_heatmap`: mean code of each group × component;
- :func:`top_features`: the heaviest features (genes) of each component;
- :func:`embedding`: codes as colour on an embedding (UMAP, t-SNE, PCA), one panel per
  component.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np

from . import _anndata
from .exceptions import NMFInputError
from .plotting._style import MISSING, SEQUENTIAL, finish

__all__ = ["components_heatmap", "top_features", "embedding", "group_means"]


def _names(uns: dict, k: int) -> list:
    names = uns.get("component_names")
    return [str(v) for v in names] if names is not None and len(names) == k else [f"nmf{j}" for j in range(k)]


def group_means(adata: Any, groupby: str, key: str = "nmf", standard_scale: str | None = None):
    """The matrix :func:`components_heatmap` draws: mean code per group (rows) × component.

    Cells with NaN codes (not fitted, e.g. outside both groups of
    ``tl.contrastive_nmf``) are left out. ``standard_scale="var"`` scales each
    component (column) to [0, 1] across groups; None keeps the means.

    Examples
    --------
    >>> import anndata, numpy as np, pandas as pd, nmfkit
    >>> adata = anndata.AnnData(np.ones((4, 3)), obs=pd.DataFrame({"g": list("aabb")}, index=list("wxyz")))
    >>> adata = nmfkit.NMFResult.from_frames(np.arange(8.).reshape(4, 2), np.ones((2, 3))).to_anndata(adata)
    >>> group_means(adata, "g").to_numpy().tolist()
    [[1.0, 2.0], [5.0, 6.0]]
    """
    import pandas as pd

    codes, _, _, uns = _anndata.load(adata, key)
    if groupby not in adata.obs.columns:
        raise NMFInputError(f"adata.obs has no column {groupby!r} (columns: {list(adata.obs.columns)}); "
                            "pass groupby= a column of categories, e.g. cell types or clusters")
    if standard_scale not in (None, "var"):
        raise NMFInputError(f"standard_scale={standard_scale!r}; pass 'var' (each component scaled to "
                            "[0, 1] across groups) or None")
    frame = pd.DataFrame(codes, index=adata.obs_names, columns=_names(uns, codes.shape[1]))
    fitted = ~np.isnan(codes).any(axis=1)
    groups = adata.obs[groupby]
    if not isinstance(groups.dtype, pd.CategoricalDtype):  # scanpy's rule: categories in sorted order
        groups = groups.astype("category")
    # group by the categorical itself, so rows follow the category order (as scanpy's matrixplot)
    means = frame[fitted].groupby(groups[fitted].to_numpy(), sort=False).mean()
    order = [c for c in groups.cat.categories if c in means.index]
    means = means.loc[order]
    if standard_scale == "var":
        low, high = means.min(axis=0), means.max(axis=0)
        means = (means - low) / (high - low).where(high > low, 1.0)
    return means


def components_heatmap(adata: Any, groupby: str, key: str = "nmf", standard_scale: str | None = "var", *,
                       ax=None, save: str | os.PathLike | None = None, overwrite: bool = False):
    """Heat-map of the mean code of each group (rows) in each component (columns).

    Parameters
    ----------
    adata : anndata.AnnData
        With a result under ``key`` (``nmfkit.tl.nmf``).
    groupby : str
        Column of ``adata.obs`` (e.g. cell types).
    key : str, default="nmf"
    standard_scale : {"var", None}, default="var"
        "var": each component scaled to [0, 1] across groups (as scanpy's
        ``matrixplot``); None: the raw means (:func:`group_means`).
    ax : matplotlib Axes, optional
    save : path, optional
        Write ``<save>.png`` and ``<save>.svg``.
    overwrite : bool, default=False
        Replace existing files at ``save``; otherwise they raise ``NMFInputError``.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import anndata, numpy as np, pandas as pd, nmfkit
    >>> adata = anndata.AnnData(np.ones((4, 3)), obs=pd.DataFrame({"g": list("aabb")}, index=list("wxyz")))
    >>> adata = nmfkit.NMFResult.from_frames(np.arange(8.).reshape(4, 2), np.ones((2, 3))).to_anndata(adata)
    >>> ax = components_heatmap(adata, "g")
    """
    import matplotlib.pyplot as plt

    means = group_means(adata, groupby, key, standard_scale)
    if ax is None:
        _, ax = plt.subplots(figsize=(1.0 + 0.45 * means.shape[1], 1.0 + 0.35 * means.shape[0]))
    image = ax.imshow(means.to_numpy(), aspect="auto", cmap=SEQUENTIAL, interpolation="nearest")
    ax.set_xticks(np.arange(means.shape[1]), list(means.columns), rotation=90)
    ax.set_yticks(np.arange(means.shape[0]), [str(v) for v in means.index])
    ax.set_xlabel("component")
    ax.set_ylabel(groupby)
    label = "mean code, scaled to [0, 1] per component" if standard_scale == "var" else "mean code"
    ax.figure.colorbar(image, ax=ax, label=label)
    return finish(ax, save, overwrite=overwrite)


def top_features(adata: Any, key: str = "nmf", n: int = 10, *, fig=None, n_cols: int | None = None,
                 save: str | os.PathLike | None = None, overwrite: bool = False):
    """Bar charts of the ``n`` heaviest features (``var_names``) of each component.

    :func:`nmfkit.plotting.plot_top_features` on the loadings of the features used.
    A grid of panels, so it takes ``fig`` (not ``ax``). For a table instead of a plot,
    and a ranking by distinctiveness, see :func:`nmfkit.top_features`.

    Parameters
    ----------
    adata : anndata.AnnData
        With a result under ``key`` (``nmfkit.tl.nmf``).
    key : str, default="nmf"
    n : int, default=10
        Features per component.
    fig : matplotlib Figure, optional
        Draw into this figure (default: a new one).
    n_cols : int, optional
        Panels per row.
    save : path, optional
        Write ``<save>.png`` and ``<save>.svg``.
    overwrite : bool, default=False
        Replace existing files at ``save``.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np, nmfkit
    >>> adata = nmfkit.NMFResult.from_frames(np.ones((4, 2)), np.eye(2, 3)).to_anndata()
    >>> fig = top_features(adata, n=2)
    >>> len(fig.axes)
    2
    """
    from .plotting import plot_top_features

    _, H, mask, uns = _anndata.load(adata, key)
    names = [str(v) for v in np.asarray(adata.var_names)[mask]]
    fig = plot_top_features(H, names, n_top=n, n_cols=n_cols, component_names=_names(uns, H.shape[0]),
                            title=f"Top features per component ({key})", fig=fig)
    return finish(fig, save, overwrite=overwrite)


def embedding(adata: Any, basis: str = "umap", key: str = "nmf", components: Sequence[int] | None = None, *,
              n_cols: int = 4, point_size: float | None = None, fig=None,
              save: str | os.PathLike | None = None, overwrite: bool = False):
    """Scatter of an embedding (``obsm[f"X_{basis}"]``) coloured by each component's codes.

    Parameters
    ----------
    basis : str, default="umap"
        ``obsm[f"X_{basis}"]``, first two columns (``sc.tl.umap``, ``sc.tl.tsne``,
        ``sc.tl.pca`` write them).
    components : sequence of int, optional
        Which components (default: all); one panel each. NaN codes are drawn grey.
    n_cols : int, default=4
        Panels per row.
    point_size : float, optional
        Marker size (default: shrinks with the number of cells).
    fig : matplotlib Figure, optional
    save : path, optional
        Write ``<save>.png`` and ``<save>.svg``.
    overwrite : bool, default=False
        Replace existing files at ``save``.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np, nmfkit
    >>> adata = nmfkit.NMFResult.from_frames(np.ones((4, 2)), np.ones((2, 3))).to_anndata()
    >>> adata.obsm["X_umap"] = np.random.default_rng(0).random((4, 2))
    >>> len(embedding(adata).axes)  # two panels, two colour bars
    4
    """
    import matplotlib.pyplot as plt

    codes, _, _, uns = _anndata.load(adata, key)
    rep = f"X_{basis}"
    if rep not in adata.obsm:
        raise NMFInputError(f"adata.obsm has no {rep!r} (obsm: {sorted(adata.obsm)}); compute the embedding "
                            f"first, e.g. sc.pp.neighbors(adata, use_rep='X_{key}'); sc.tl.{basis}(adata)")
    xy = np.asarray(adata.obsm[rep])[:, :2]
    names = _names(uns, codes.shape[1])
    picks = list(range(codes.shape[1])) if components is None else [int(c) for c in components]
    bad = [c for c in picks if not 0 <= c < codes.shape[1]]
    if bad or not picks:
        raise NMFInputError(f"components={bad or picks} out of range; pass indices in 0..{codes.shape[1] - 1}")
    n_cols = max(1, min(int(n_cols), len(picks)))
    n_rows = -(-len(picks) // n_cols)
    fig = fig or plt.figure(figsize=(3.6 * n_cols, 3.0 * n_rows), layout="constrained")
    size = point_size if point_size is not None else max(1.0, 12000 / max(adata.n_obs, 1) ** 1.2)
    for i, c in enumerate(picks):
        ax = fig.add_subplot(n_rows, n_cols, i + 1)
        values = codes[:, c]
        missing = np.isnan(values)
        ax.scatter(xy[missing, 0], xy[missing, 1], s=size, c=MISSING, linewidths=0)
        order = np.flatnonzero(~missing)[np.argsort(values[~missing], kind="stable")]  # high on top
        points = ax.scatter(xy[order, 0], xy[order, 1], s=size, c=values[order], cmap=SEQUENTIAL,
                            linewidths=0)
        fig.colorbar(points, ax=ax, label="code")
        ax.set_title(names[c], fontsize="medium")
        ax.set_xlabel(f"{basis.upper()}1")
        ax.set_ylabel(f"{basis.upper()}2")  # every panel: the axes have no ticks to share
        ax.set_xticks([])
        ax.set_yticks([])
    return finish(fig, save, overwrite=overwrite)
