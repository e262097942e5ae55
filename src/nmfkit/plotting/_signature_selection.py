"""Plots of a signature extraction's choices: the per-rank selection panel and the cosine
heat-map of signatures against a reference."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import NMFInputError
from ._selection import _curve, _lower
from ._style import PALETTE, SEQUENTIAL, finish, legend_outside, text_color_on
from ._utils import new_axes, new_figure

__all__ = ["plot_signature_selection", "plot_cosine_heatmap"]


def _selection_table(table: Any):
    ks = dict(k_sigprofiler=getattr(table, "k_sigprofiler", None), k_cv=getattr(table, "k_cv", None))
    table = getattr(table, "table", table)
    if not isinstance(table, pd.DataFrame):
        raise NMFInputError("table must be ExtractionResult.table (a DataFrame indexed by k) or an "
                            f"ExtractionResult; got {type(table).__name__}")
    if "k" not in table.columns:
        table = table.rename_axis("k").reset_index()
    return table.sort_values("k"), ks


def _mark_ranks(ax, k_sigprofiler, k_cv) -> None:
    for k, style, colour, what in ((k_sigprofiler, "--", PALETTE[3], "SigProfiler rule"),
                                   (k_cv, ":", PALETTE[4], "CV rule")):
        if k is not None:
            ax.axvline(k, color=colour, linestyle=style, linewidth=1.5,
                       label=f"k = {k} ({what})")


def plot_signature_selection(table: Any, *, k_sigprofiler: int | None = None,
                             k_cv: int | None = None, ax=None, fig=None,
                             save: str | os.PathLike | None = None, overwrite: bool = False):
    """SigProfiler-style selection panel: stability and error against the rank k.

    Left (or ``ax``): average and minimum cosine silhouette of the signature clusters,
    with SigProfiler's thresholds 0.8 and 0.2 dashed. Right: the relative reconstruction
    error and, on a twin axis, the held-out CV error ± one SE (with ``ax``, both errors go
    on a twin of ``ax``). Labelled vertical lines mark the ranks of the two rules. One
    legend holds every entry: outside the figure on its right, or above ``ax``.

    Parameters
    ----------
    table : DataFrame or ExtractionResult
        ``ExtractionResult.table`` (indexed by k; columns ``avg_stability``,
        ``min_stability``, ``reconstruction_error``, ``cv_error``, ``cv_se``), or the
        result itself (then its ``k_sigprofiler`` / ``k_cv`` are the defaults).
    k_sigprofiler, k_cv : int, optional
        Ranks to mark.
    ax : matplotlib.axes.Axes, optional
    fig : matplotlib.figure.Figure, optional
        An empty figure for the two panels; new when ``ax`` and ``fig`` are None.
    save : str or os.PathLike, optional
        Write the figure as ``<save>.png`` and ``<save>.svg``.
    overwrite : bool, default=False
        Replace existing files at ``save``; otherwise they raise ``NMFInputError``.

    Returns
    -------
    matplotlib.figure.Figure, or the Axes when ``ax`` was given.

    Examples
    --------
    >>> import pandas as pd
    >>> from nmfkit.plotting import plot_signature_selection
    >>> t = pd.DataFrame({"avg_stability": [0.99, 0.9, 0.6], "min_stability": [0.98, 0.7, 0.1],
    ...                   "reconstruction_error": [0.3, 0.2, 0.19]}, index=[2, 3, 4])
    >>> len(plot_signature_selection(t, k_sigprofiler=3).axes)
    2
    """
    table, chosen = _selection_table(table)
    k_sigprofiler = chosen["k_sigprofiler"] if k_sigprofiler is None else k_sigprofiler
    k_cv = chosen["k_cv"] if k_cv is None else k_cv
    has_cv = "cv_error" in table.columns and np.isfinite(table["cv_error"].to_numpy(float)).any()
    if ax is not None:
        left = ax
        right = cv_ax = ax.twinx()
        right.set_ylabel("error")
    else:
        fig = new_figure(fig, figsize=(11.0, 3.8))
        left, right = fig.subplots(1, 2, squeeze=True)
        cv_ax = right.twinx() if has_cv else right
        right.set_ylabel("relative reconstruction error")
        if has_cv:
            cv_ax.set_ylabel("held-out CV error")
        left.set_title("Stability", fontsize="medium")
        right.set_title("Error", fontsize="medium")
    _stability_panel(left, table)
    _curve(right, table, "reconstruction_error", "reconstruction error", PALETTE[2], marker="s")
    _curve(cv_ax, table, "cv_error", "CV error (± SE)", PALETTE[5], marker="^", err="cv_se")
    for panel in (left,) if ax is not None else (left, right):
        _mark_ranks(panel, k_sigprofiler, k_cv)
        panel.set_xlabel("rank k")
        panel.set_xticks(table["k"].to_numpy())
        panel.grid(True, alpha=0.3)
    error_axes = (right,) if cv_ax is right else (right, cv_ax)
    handles, labels = [], []
    for panel in (left,) + error_axes:
        h, lab = panel.get_legend_handles_labels()
        handles, labels = handles + h, labels + lab
    rules = [lab.endswith("threshold") or lab.endswith("rule)") for lab in labels]  # listed last
    order = sorted(range(len(labels)), key=lambda i: rules[i])
    handles, labels = [handles[i] for i in order], [labels[i] for i in order]
    if ax is not None:  # above: the twin's y axis holds the right side
        legend_outside(left, where="above", handles=handles, labels=labels, fontsize="x-small")
        return finish(ax, save, overwrite=overwrite)
    legend_outside(fig, handles=handles, labels=labels, fontsize="x-small")
    return finish(fig, save, overwrite=overwrite)


def _stability_panel(ax, table) -> None:
    _curve(ax, table, "avg_stability", "average stability", PALETTE[0])
    _curve(ax, table, "min_stability", "minimum stability", PALETTE[1], marker="v")
    ax.axhline(0.8, color=PALETTE[0], linestyle="--", linewidth=0.8, alpha=0.7, label="0.8 threshold")
    ax.axhline(0.2, color=PALETTE[1], linestyle="--", linewidth=0.8, alpha=0.7, label="0.2 threshold")
    ax.set_ylim(_lower(table.get("min_stability")), 1.05)
    ax.set_ylabel("stability (cosine silhouette)")


def _keep_columns(C: np.ndarray, top: int | None, threshold: float | None) -> np.ndarray:
    if top is None and threshold is None:
        return np.arange(C.shape[1])
    n = 1 if top is None else int(top)
    if n < 1:
        raise NMFInputError(f"top must be a positive integer; got {top}")
    keep = np.zeros(C.shape[1], dtype=bool)
    best = np.argsort(-C, axis=1, kind="stable")[:, :n]
    keep[best.ravel()] = True
    if threshold is not None:
        keep |= (C >= float(threshold)).any(axis=0)
    return np.flatnonzero(keep)


def plot_cosine_heatmap(A: Any, B: Any, *, ax=None, annotate: bool = True,
                        threshold: float | None = None, top: int | None = None,
                        cmap: str = SEQUENTIAL, save: str | os.PathLike | None = None,
                        overwrite: bool = False):
    """Heat-map of the cosine similarity of the rows of ``A`` against the rows of ``B``.

    Parameters
    ----------
    A, B : DataFrame or array, (k1, p) and (k2, p)
        Signatures, one per row (e.g. de novo signatures and COSMIC); see
        :func:`nmfkit.signatures.cosine_similarity`.
    ax : matplotlib.axes.Axes, optional
    annotate : bool, default=True
        Write the values in the cells (skipped beyond 600 cells).
    threshold, top : optional
        Keep only some columns of ``B`` (readable with COSMIC's 86): each row's ``top``
        best matches (1 with ``threshold`` alone) and every column reaching ``threshold``
        for some row. All columns when both are None.
    cmap : str, default=SEQUENTIAL ("viridis")
        Colour map of the similarities (from 0 to 1; signatures are non-negative); cell
        values are written in black or white, whichever reads better on the cell.
    save : str or os.PathLike, optional
        Write the figure as ``<save>.png`` and ``<save>.svg``.
    overwrite : bool, default=False
        Replace existing files at ``save``; otherwise they raise ``NMFInputError``.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax.images[0]`` holds the similarities of the kept columns.

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit.plotting import plot_cosine_heatmap
    >>> ax = plot_cosine_heatmap(np.eye(3), np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]))
    >>> ax.images[0].get_array().shape
    (3, 2)
    """
    from ..signatures import cosine_similarity

    C = cosine_similarity(A, B)
    rows = list(C.index) if isinstance(C, pd.DataFrame) else [f"S{i + 1}" for i in range(C.shape[0])]
    cols = list(C.columns) if isinstance(C, pd.DataFrame) else [f"R{j + 1}" for j in range(C.shape[1])]
    C = np.asarray(C, dtype=float)
    kept = _keep_columns(C, top, threshold)
    C, cols = C[:, kept], [str(cols[j]) for j in kept]
    k1, k2 = C.shape
    ax = new_axes(ax, figsize=(min(18.0, max(4.5, 0.45 * k2 + 2.5)), min(12.0, max(2.5, 0.4 * k1 + 1.5))))
    im = ax.imshow(C, cmap=cmap, vmin=0.0, vmax=1.0, aspect="auto", interpolation="nearest")
    ax.figure.colorbar(im, ax=ax, label="cosine similarity", shrink=0.9)
    ax.set_xticks(np.arange(k2))
    ax.set_xticklabels(cols, rotation=90, fontsize=7 if k2 > 20 else 8)
    ax.set_yticks(np.arange(k1))
    ax.set_yticklabels([str(r) for r in rows], fontsize=8)
    ax.set_ylabel("signature")
    ax.set_xlabel("reference" if threshold is None and top is None else "reference (best matches)")
    if annotate and k1 * k2 <= 600:
        for i in range(k1):
            for j in range(k2):
                ax.text(j, i, f"{C[i, j]:.2f}", ha="center", va="center", fontsize=6 if k2 > 15 else 8,
                        color=text_color_on(cmap, C[i, j]))
    return finish(ax, save, overwrite=overwrite)
