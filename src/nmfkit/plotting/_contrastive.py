"""Plots of background-contrastive NMF: component enrichment and the α path."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..exceptions import NMFInputError
from ._style import NEUTRAL, PALETTE, categorical_colors, finish, legend_outside
from ._utils import new_axes, new_figure

__all__ = ["plot_enrichment", "plot_contrastive_path"]


def _enrichment_of(obj: Any) -> np.ndarray:
    for name in ("enrichment_", "enrichment"):
        value = getattr(obj, name, None)
        if value is not None:
            return np.asarray(value, dtype=float).ravel()
    try:
        return np.asarray(obj, dtype=float).ravel()
    except (TypeError, ValueError):
        raise NMFInputError(
            "pass a fitted ContrastiveNMF, a ContrastiveResult or a sequence of enrichment "
            f"values; got {type(obj).__name__}"
        ) from None


def plot_enrichment(model_or_result: Any, ax=None, component_names: Sequence[str] | None = None,
                    *, save: str | os.PathLike | None = None, overwrite: bool = False):
    """Bar chart of each component's enrichment in the target over the background.

    The enrichment is ``log2(mean target usage / mean background usage)`` (see
    :class:`nmfkit.ContrastiveNMF`): bars above 0 (vermillion, "enriched in target")
    are programs the target uses more, bars at or below 0 are blue; the legend says which.

    Parameters
    ----------
    model_or_result : ContrastiveNMF, ContrastiveResult or sequence of float
    ax : matplotlib.axes.Axes, optional
    component_names : sequence of str, optional
        Bar labels (default ``comp1..compK``).
    save : str or os.PathLike, optional
        Write the figure as ``<save>.png`` and ``<save>.svg``.
    overwrite : bool, default=False
        Replace existing files at ``save``; otherwise they raise ``NMFInputError``.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> from nmfkit.plotting import plot_enrichment
    >>> ax = plot_enrichment([2.5, 0.1, -1.0])
    """
    enr = _enrichment_of(model_or_result)
    if enr.size == 0:
        raise NMFInputError("there are no enrichment values to plot")
    names = [f"comp{i + 1}" for i in range(enr.size)] if component_names is None else list(
        map(str, component_names))
    if len(names) != enr.size:
        raise NMFInputError(
            f"component_names has {len(names)} entries but there are {enr.size} components"
        )
    ax = new_axes(ax, figsize=(max(5.0, 0.6 * enr.size + 3.6), 3.5))  # + legend
    from matplotlib.patches import Patch

    x = np.arange(enr.size)
    up = enr > 0
    ax.bar(x, enr, color=[PALETTE[3] if v else PALETTE[0] for v in up])  # patches in component order
    keys = [(c, text) for c, text, present in ((PALETTE[3], "enriched in target", up.any()),
                                               (PALETTE[0], "not enriched", (~up).any())) if present]
    ax.axhline(0.0, color=NEUTRAL, linewidth=0.8)
    ax.set_xticks(x)
    ax.set_xticklabels(names, rotation=90 if max(len(n) for n in names) > 6 else 0)
    ax.set_xlabel("component")
    ax.set_ylabel("log2 usage ratio (target / background)")
    ax.set_title("Enrichment in the target")
    ax.grid(True, axis="y", alpha=0.3)
    legend_outside(ax, handles=[Patch(color=c) for c, _ in keys], labels=[t for _, t in keys],
                   fontsize="small")
    return finish(ax, save, overwrite=overwrite)


def plot_contrastive_path(path: Any, fig=None, *, save: str | os.PathLike | None = None,
                          overwrite: bool = False):
    """Three panels against α: held-out explained shares, contrast and restart stability.

    The explained shares are drawn on a log scale when all are positive (they fall by
    decades as α grows). :meth:`nmfkit.ContrastivePathResult.plot` adds the line of
    the label-free rule and a star at its chosen ``(k, α)``.

    Parameters
    ----------
    path : ContrastivePathResult or DataFrame
        The output of :func:`nmfkit.contrastive_path` (or its ``table``).
    fig : matplotlib.figure.Figure, optional
        Figure to draw into (a new one when None). One colour per number of
        components; the legend sits outside, right of the figure.
    save : str or os.PathLike, optional
        Write the figure as ``<save>.png`` and ``<save>.svg``.
    overwrite : bool, default=False
        Replace existing files at ``save``; otherwise they raise ``NMFInputError``.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd
    >>> from nmfkit.plotting import plot_contrastive_path
    >>> t = pd.DataFrame({"n_components": 2, "alpha": [0, 1, 2],
    ...                   "target_explained": [.5, .3, .1], "background_explained": [.5, .1, .0],
    ...                   "contrast": [0, 1.6, 6.6], "stability": [.99, .98, .95]})
    >>> fig = plot_contrastive_path(t)
    """
    table = getattr(path, "table", path)
    needed = {"n_components", "alpha", "target_explained", "background_explained", "contrast",
              "stability"}
    if not hasattr(table, "columns") or not needed <= set(table.columns):
        raise NMFInputError(
            "path must be a ContrastivePathResult or its table (a DataFrame with columns "
            f"{sorted(needed)})"
        )
    fig = new_figure(fig, figsize=(12.5, 3.6))
    axes = fig.subplots(1, 3)
    ks = sorted(table["n_components"].unique())
    colors = categorical_colors(len(ks))
    for i, k in enumerate(ks):
        t = table[table["n_components"] == k].sort_values("alpha")
        a = t["alpha"].to_numpy(dtype=float)
        label = f"k={k}"
        axes[0].plot(a, t["target_explained"], marker="o", color=colors[i], label=f"target, {label}")
        axes[0].plot(a, t["background_explained"], marker="s", linestyle="--", color=colors[i],
                     label=f"background, {label}")
        axes[1].plot(a, t["contrast"], marker="o", color=colors[i], label=label)
        axes[2].plot(a, t["stability"], marker="o", color=colors[i], label=label)
    titles = ("Held-out share explained", "Contrast (log2 target / background)",
              "Restart stability (matched cosine)")
    for ax, title in zip(axes, titles):
        ax.set_xscale("symlog", linthresh=0.5)
        ax.set_xlabel("alpha")
        ax.set_title(title, fontsize="medium")
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("1 - D(held-out | fit) / D(held-out | trivial)")
    shares = table[["target_explained", "background_explained"]].to_numpy(dtype=float)
    if np.isfinite(shares).all() and (shares > 0).all():  # shares span decades: log scale
        axes[0].set_yscale("log")
    axes[1].set_ylabel("log2 target / background")
    axes[2].set_ylabel("matched cosine similarity")
    axes[2].set_ylim(min(0.0, float(np.nanmin(table["stability"])) - 0.05)
                     if np.isfinite(table["stability"]).any() else 0.0, 1.02)
    legend_outside(fig, handles=axes[0].get_legend_handles_labels()[0],
                   labels=axes[0].get_legend_handles_labels()[1], fontsize="small")
    return finish(fig, save, overwrite=overwrite)
