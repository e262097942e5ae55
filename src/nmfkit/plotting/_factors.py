"""Pictures of the factors: heat-maps, components as images, top features."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..exceptions import NMFInputError
from ._style import DIVERGING, SEQUENTIAL, categorical_colors, finish
from ._utils import component_names as _component_names
from ._utils import (
    as_matrix,
    axis_labels,
    grid_shape,
    new_axes,
    new_figure,
    thin_ticks,
)

__all__ = ["plot_factor_heatmap", "plot_components_images", "plot_top_features"]


def plot_factor_heatmap(
    M: Any,
    ax=None,
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    title: str | None = None,
    cmap: str | None = None,
    *,
    max_labels: int = 40,
    xlabel: str | None = None,
    ylabel: str | None = None,
    cbar_label: str = "weight",
    save: str | os.PathLike | None = None,
    overwrite: bool = False,
):
    """Draw a factor matrix (``W`` or ``H``) as a heat-map with a colour bar.

    Parameters
    ----------
    M : array-like or DataFrame, shape (n_rows, n_cols)
        The matrix, e.g. ``result.H`` (components x features) or ``result.W``.
        DataFrame labels are used when ``row_labels`` / ``col_labels`` are None.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into; a new figure is made when None.
    row_labels, col_labels : sequence of str, optional
        Tick labels. When there are more than ``max_labels`` only every n-th is
        shown.
    title : str, optional
        Axes title; defaults to a description of the shape.
    cmap : str, optional
        Colour map. By default ``SEQUENTIAL`` ("viridis") from 0 to the maximum for a
        non-negative matrix, and ``DIVERGING`` ("PuOr_r") centred at 0 when some entry
        is negative (e.g. a log fold change), so no value is clipped.
    max_labels : int, default=40
        Most tick labels shown per axis.
    xlabel, ylabel : str, optional
        Axis labels (default ``"column"`` and ``"row"``).
    cbar_label : str, default="weight"
        Label of the colour bar.
    save : str or os.PathLike, optional
        Write the figure as ``<save>.png`` and ``<save>.svg``.
    overwrite : bool, default=False
        Replace existing files at ``save``; otherwise they raise ``NMFInputError``.

    Returns
    -------
    matplotlib.axes.Axes
        The axes holding the image (the colour bar has its own axes).

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit.plotting import plot_factor_heatmap
    >>> ax = plot_factor_heatmap(np.random.default_rng(0).random((4, 30)))
    """
    A = as_matrix(M, "M")
    n_rows, n_cols = A.shape
    row_labels = list(row_labels) if row_labels is not None else axis_labels(M, 0)
    col_labels = list(col_labels) if col_labels is not None else axis_labels(M, 1)
    for name, labels, n in (("row_labels", row_labels, n_rows), ("col_labels", col_labels, n_cols)):
        if labels is not None and len(labels) != n:
            raise NMFInputError(
                f"{name} has {len(labels)} entries but M has {n} {name[:3]}s; pass one label each."
            )
    width = min(12.0, max(4.5, 0.25 * min(n_cols, max_labels) + 2.5))
    height = min(10.0, max(2.5, 0.3 * min(n_rows, max_labels) + 1.5))
    ax = new_axes(ax, figsize=(width, height))

    finite = A[np.isfinite(A)]
    if finite.size and finite.min() < 0:
        top = float(np.abs(finite).max())
        im = ax.imshow(A, aspect="auto", interpolation="nearest", cmap=cmap or DIVERGING,
                       vmin=-top, vmax=top)
    else:
        im = ax.imshow(A, aspect="auto", interpolation="nearest", cmap=cmap or SEQUENTIAL, vmin=0.0)
    cbar = ax.figure.colorbar(im, ax=ax, fraction=0.05, pad=0.02)
    cbar.set_label(cbar_label)
    from matplotlib.ticker import MaxNLocator

    if row_labels is not None:
        thin_ticks(ax, row_labels, "y", max_labels)
    else:
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    if col_labels is not None:
        thin_ticks(ax, col_labels, "x", max_labels)
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("column" if xlabel is None else xlabel)
    ax.set_ylabel("row" if ylabel is None else ylabel)
    ax.set_title(title if title is not None else f"{n_rows} x {n_cols} factor matrix")
    return finish(ax, save, overwrite=overwrite)


def plot_components_images(
    H: Any,
    image_shape: tuple[int, int],
    *,
    n_cols: int | None = None,
    cmap: str = SEQUENTIAL,
    component_names: Sequence[str] | None = None,
    title: str | None = "NMF components",
    fig=None,
    save: str | os.PathLike | None = None,
    overwrite: bool = False,
):
    """Show each component (row of ``H``) as an image, e.g. 8x8 digit pixels.

    Parameters
    ----------
    H : array-like or DataFrame, shape (n_components, n_features)
        The components; ``n_features`` must equal ``prod(image_shape)``.
    image_shape : tuple of int
        ``(height, width)`` each row is reshaped to (row-major, as
        ``load_digits().images``).
    n_cols : int, optional
        Panels per row (default ``min(n_components, 5)``).
    cmap : str, default=SEQUENTIAL ("viridis")
        Colour map; each image is scaled from 0 to its own maximum (so there is no
        shared colour bar; pass ``cmap="gray_r"`` for ink-on-paper digits).
    component_names : sequence of str, optional
        Panel titles (default: H's index when a DataFrame, else ``comp1..compK``).
    title : str or None, default="NMF components"
        Figure title.
    fig : matplotlib.figure.Figure, optional
        Figure to draw into (e.g. a bare ``Figure()`` outside pyplot); a new one is
        made when None.
    save : str or os.PathLike, optional
        Write the figure as ``<save>.png`` and ``<save>.svg``.
    overwrite : bool, default=False
        Replace existing files at ``save``; otherwise they raise ``NMFInputError``.

    Returns
    -------
    matplotlib.figure.Figure
        The figure, with one axes (holding one image) per component.

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit.plotting import plot_components_images
    >>> fig = plot_components_images(np.random.default_rng(0).random((10, 64)), (8, 8))
    """
    A = as_matrix(H, "H")
    k, m = A.shape
    shape = tuple(int(s) for s in image_shape)
    if len(shape) != 2 or int(np.prod(shape)) != m:
        raise NMFInputError(
            f"image_shape {tuple(image_shape)} does not match H's {m} features; pass a "
            f"(height, width) with height * width == {m}."
        )
    names = _component_names(H, k, component_names)
    n_rows, n_cols = grid_shape(k, n_cols, 5)
    fig = new_figure(fig, figsize=(1.7 * n_cols + 0.3, 1.8 * n_rows + (0.4 if title else 0)))
    for i in range(k):
        ax = fig.add_subplot(n_rows, n_cols, i + 1)
        img = A[i].reshape(shape)
        vmax = float(img.max()) if img.max() > 0 else 1.0
        ax.imshow(img, cmap=cmap, vmin=0.0, vmax=vmax, interpolation="nearest")
        ax.set_title(names[i], fontsize="small")
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        fig.suptitle(title)
    return finish(fig, save, overwrite=overwrite)


def plot_top_features(
    H: Any,
    feature_names: Sequence[str] | None = None,
    n_top: int = 10,
    *,
    n_cols: int | None = None,
    component_names: Sequence[str] | None = None,
    title: str | None = "Top features per component",
    fig=None,
    save: str | os.PathLike | None = None,
    overwrite: bool = False,
):
    """Bar chart of the ``n_top`` heaviest features of each component.

    Parameters
    ----------
    H : array-like or DataFrame, shape (n_components, n_features)
        The components.
    feature_names : sequence of str, optional
        One name per column of ``H`` (default: H's columns when a DataFrame, else
        ``f1..fM``).
    n_top : int, default=10
        Bars per component (fewer when there are fewer features).
    n_cols : int, optional
        Panels per row (default ``min(n_components, 4)``).
    component_names : sequence of str, optional
        Panel titles (default: H's index when a DataFrame, else ``comp1..compK``).
    title : str or None, default="Top features per component"
        Figure title.
    fig : matplotlib.figure.Figure, optional
        Figure to draw into; a new one is made when None.
    save : str or os.PathLike, optional
        Write the figure as ``<save>.png`` and ``<save>.svg``.
    overwrite : bool, default=False
        Replace existing files at ``save``; otherwise they raise ``NMFInputError``.

    Returns
    -------
    matplotlib.figure.Figure
        The figure, one axes of horizontal bars per component (heaviest on top), each
        component in its own colour (:func:`~nmfkit.plotting._style.categorical_colors`).

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit.plotting import plot_top_features
    >>> H = np.random.default_rng(0).random((3, 50))
    >>> fig = plot_top_features(H, [f"gene{j}" for j in range(50)], n_top=5)
    """
    A = as_matrix(H, "H")
    k, m = A.shape
    if feature_names is None:
        feature_names = axis_labels(H, 1) or [f"f{j + 1}" for j in range(m)]
    feature_names = [str(v) for v in feature_names]
    if len(feature_names) != m:
        raise NMFInputError(
            f"feature_names has {len(feature_names)} entries but H has {m} columns; "
            "pass one name per feature."
        )
    n_top = int(n_top)
    if n_top < 1:
        raise NMFInputError(f"n_top must be a positive integer; got {n_top}.")
    n_show = min(n_top, m)
    names = _component_names(H, k, component_names)
    n_rows, n_cols = grid_shape(k, n_cols, 4)
    longest = max(len(s) for s in feature_names)
    panel_w = 2.2 + 0.07 * min(longest, 30)
    fig = new_figure(
        fig, figsize=(panel_w * n_cols, (0.22 * n_show + 0.9) * n_rows + (0.4 if title else 0))
    )
    colors = categorical_colors(k)
    for i in range(k):
        ax = fig.add_subplot(n_rows, n_cols, i + 1)
        order = np.argsort(-A[i], kind="stable")[:n_show][::-1]  # heaviest drawn last = on top
        ax.barh(np.arange(n_show), A[i, order], color=colors[i])
        ax.set_yticks(np.arange(n_show))
        ax.set_yticklabels([feature_names[j] for j in order], fontsize="small")
        ax.set_title(names[i], fontsize="medium")
        ax.tick_params(axis="x", labelsize="small")
        ax.set_xlabel("weight", fontsize="small")
        ax.set_ylabel("feature", fontsize="small")
    if title:
        fig.suptitle(title)
    return finish(fig, save, overwrite=overwrite)

