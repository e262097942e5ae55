"""Plots of mutational signatures: SBS-96 profiles, exposures, rank selection, cosine heat-map."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import NMFInputError
from ._selection import _curve, _lower
from ._utils import grid_shape, new_axes, new_figure, thin_ticks

__all__ = ["SBS96_COLORS", "plot_sbs96", "plot_exposures", "plot_signature_selection",
           "plot_cosine_heatmap"]

#: Block colours of the standard SBS-96 plot (sigProfilerPlotting), RGB / 256.
SBS96_COLORS = {name: tuple(c / 256 for c in rgb) for name, rgb in (
    ("C>A", (3, 189, 239)), ("C>G", (1, 1, 1)), ("C>T", (228, 41, 38)),
    ("T>A", (203, 202, 202)), ("T>C", (162, 207, 99)), ("T>G", (236, 199, 197)))}


@lru_cache(maxsize=1)
def _orders() -> tuple[list[str], list[str]]:
    """(SBS96_TYPES, substitution-major order), imported late to keep ``nmfkit.plotting`` light."""
    from ..signatures import SBS96_TYPES, sbs96_types
    return list(SBS96_TYPES), sbs96_types("substitution")


def _labels_are_types(labels) -> bool:
    known = set(_orders()[0])
    return len(labels) == 96 and all(str(v).strip().upper() in known for v in labels)


def _sbs96_rows(data: Any, name: str) -> pd.DataFrame:
    """``data`` as a (k, 96) DataFrame whose columns are in substitution-major (plotting) order."""
    if isinstance(data, pd.Series):
        data = data.to_frame(name=data.name if data.name is not None else "S1").T
    if isinstance(data, pd.DataFrame):
        if not _labels_are_types(data.columns) and _labels_are_types(data.index):
            data = data.T  # a 96 x k catalog-style table
        if not _labels_are_types(data.columns):
            raise NMFInputError(f"{name} needs the 96 SBS mutation types (e.g. A[C>A]A) as its columns "
                                "(one signature per row) or as its index")
        frame = data.set_axis([str(c).strip().upper() for c in data.columns], axis=1)
    else:
        arr = np.asarray(data, dtype=float)
        arr = arr[None, :] if arr.ndim == 1 else arr
        if arr.ndim != 2 or arr.shape[1] != 96:
            hint = " (pass its transpose: one signature per row)" if arr.ndim == 2 and arr.shape[0] == 96 else ""
            raise NMFInputError(f"{name} must have 96 columns, one per SBS type in SBS96_TYPES order; "
                                f"got shape {arr.shape}{hint}")
        frame = pd.DataFrame(arr, columns=_orders()[0])
        frame.index = [f"S{i + 1}" for i in range(arr.shape[0])]
    return frame[_orders()[1]].astype(float)


def _draw_strip(ax) -> None:
    """The coloured strip with the class label over each block of 16 bars (lines, not patches)."""
    from matplotlib.transforms import blended_transform_factory

    trans = blended_transform_factory(ax.transData, ax.transAxes)
    for b, (label, colour) in enumerate(SBS96_COLORS.items()):
        lo, hi = 16 * b - 0.45, 16 * b + 15.45
        ax.plot([lo, hi], [1.03, 1.03], transform=trans, color=colour, linewidth=7,
                solid_capstyle="butt", clip_on=False)
        ax.text((lo + hi) / 2, 1.07, label, transform=trans, ha="center", va="bottom",
                fontsize=8, fontweight="bold", clip_on=False)


def _sbs96_panel(ax, heights, se, title: str, percent: bool) -> None:
    order = _orders()[1]
    colours = [SBS96_COLORS[t[2:5]] for t in order]
    x = np.arange(96)
    err = None if se is None else dict(elinewidth=0.6, ecolor="0.25", capsize=0)
    ax.bar(x, heights, width=0.75, color=colours, linewidth=0, yerr=se, error_kw=err)
    ax.set_xlim(-0.6, 95.6)
    top = float(np.nanmax(heights + (0 if se is None else np.nan_to_num(se)))) if heights.size else 1.0
    ax.set_ylim(0, 1.12 * top if top > 0 else 1.0)
    ax.text(0.01, 0.95, title, transform=ax.transAxes, ha="left", va="top", fontsize=9,
            fontweight="bold")
    ax.set_ylabel("percentage of SBS (%)" if percent else "value", fontsize=8)
    ax.set_xticks(x)
    ax.set_xticklabels([t[0] + t[2] + t[6] for t in order], rotation=90, fontsize=5,
                       family="monospace")
    ax.tick_params(axis="x", length=0, pad=1)
    ax.tick_params(axis="y", labelsize=7)
    ax.grid(True, axis="y", alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    _draw_strip(ax)


def plot_sbs96(signatures: Any, *, ax=None, fig=None, ncols: int = 1,
               names: Sequence[str] | None = None, percent: bool = True, se: Any = None):
    """Standard SBS-96 bar plot: one panel per signature, bars in substitution-major order.

    The 96 bars follow the blocks C>A, C>G, C>T, T>A, T>C, T>G (5' base outer, 3' base
    inner) whatever the input's column order, coloured by block (:data:`SBS96_COLORS`),
    under a strip labelled by class; x tick labels are the trinucleotides. The bars are
    the only patches (``ax.patches``, plotting order); the strip is drawn with lines.

    Parameters
    ----------
    signatures : DataFrame (k, 96), Series (96,) or array
        One signature per row; DataFrame/Series labels name the types (any order;
        a 96 × k catalog-style table is transposed). Arrays are taken in
        :data:`nmfkit.signatures.SBS96_TYPES` (lexicographic) order.
    ax : matplotlib.axes.Axes, optional
        Draw a single signature here (then the Axes is returned).
    fig : matplotlib.figure.Figure, optional
        An empty figure for the grid of panels; a new one when ``ax`` and ``fig`` are None.
    ncols : int, default=1
        Panels per row of the grid.
    names : sequence of str, optional
        Panel titles; default the DataFrame index, else ``S1 … Sk``.
    percent : bool, default=True
        Show each signature as percentages of its total (bars sum to 100).
    se : DataFrame or array, optional
        Standard errors of the same shape (e.g. ``Solution.signatures_se``), drawn as
        error bars (scaled like the bars when ``percent``).

    Returns
    -------
    matplotlib.figure.Figure, or the Axes when ``ax`` was given.

    Examples
    --------
    >>> from nmfkit.signatures import random_signatures
    >>> from nmfkit.plotting import plot_sbs96
    >>> fig = plot_sbs96(random_signatures(2, random_state=0), ncols=2)
    >>> len(fig.axes), len(fig.axes[0].patches)
    (2, 96)
    """
    S = _sbs96_rows(signatures, "signatures")
    E = None if se is None else _sbs96_rows(se, "se")
    if E is not None and E.shape != S.shape:
        raise NMFInputError(f"se has shape {E.shape} but signatures have {S.shape}; pass one standard "
                            "error per entry")
    k = S.shape[0]
    titles = [str(v) for v in (S.index if names is None else names)]
    if len(titles) != k:
        raise NMFInputError(f"names has {len(titles)} entries for {k} signatures")
    values, errors = S.to_numpy(), None if E is None else E.to_numpy()
    if percent:
        totals = values.sum(axis=1, keepdims=True)
        scale = np.divide(100.0, totals, out=np.zeros_like(totals), where=totals > 0)
        values = values * scale
        errors = None if errors is None else errors * scale
    if ax is not None:
        if k != 1:
            raise NMFInputError(f"ax holds one panel but there are {k} signatures; pass fig= (or no "
                                "ax) for a grid, or select one row")
        _sbs96_panel(ax, values[0], None if errors is None else errors[0], titles[0], percent)
        return ax
    nrows, ncols = grid_shape(k, ncols, 1)
    fig = new_figure(fig, figsize=(7.5 * ncols, 2.1 * nrows + 0.4))
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    for j, panel in enumerate(axes):
        panel.set_visible(j < k)
        if j < k:
            _sbs96_panel(panel, values[j], None if errors is None else errors[j], titles[j], percent)
    return fig


def _palette(n: int) -> list:
    from matplotlib import colormaps
    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def plot_exposures(exposures: Any, *, ax=None, relative: bool = False, order: Any = None):
    """Stacked bars of the exposures: one bar per sample, one colour per signature.

    Parameters
    ----------
    exposures : DataFrame (n_samples, k) or array
        Mutations attributed to each signature per sample (e.g. ``Solution.exposures``).
    ax : matplotlib.axes.Axes, optional
    relative : bool, default=False
        Show each sample's fractions (bars of height 1) instead of counts.
    order : None, "total" or sequence of sample labels
        Sample order: as given, by decreasing total, or this order (a subset is allowed).

    Returns
    -------
    matplotlib.axes.Axes
        ``ax.containers[j]`` holds signature ``j``'s bars.

    Examples
    --------
    >>> import pandas as pd
    >>> from nmfkit.plotting import plot_exposures
    >>> E = pd.DataFrame([[3.0, 1.0], [0.0, 2.0]], index=["a", "b"], columns=["S1", "S2"])
    >>> ax = plot_exposures(E, relative=True)
    >>> [round(float(p.get_height()), 2) for p in ax.containers[0]]
    [0.75, 0.0]
    """
    E = exposures if isinstance(exposures, pd.DataFrame) else pd.DataFrame(np.asarray(exposures, float))
    if E.ndim != 2 or E.shape[1] == 0:
        raise NMFInputError("exposures must be a samples x signatures table")
    if isinstance(order, str):
        if order != "total":
            raise NMFInputError(f"order={order!r} is not known; use None, 'total' or a list of samples")
        E = E.loc[E.sum(axis=1).sort_values(ascending=False, kind="stable").index]
    elif order is not None:
        missing = [s for s in order if s not in E.index]
        if missing:
            raise NMFInputError(f"order names {len(missing)} unknown sample(s): {missing[:5]}")
        E = E.loc[list(order)]
    values = E.to_numpy(dtype=float)
    if relative:
        totals = values.sum(axis=1, keepdims=True)
        values = np.divide(values, totals, out=np.zeros_like(values), where=totals > 0)
    n, k = values.shape
    ax = new_axes(ax, figsize=(min(16.0, max(5.0, 0.18 * n + 3.0)), 3.8))
    x, bottom = np.arange(n), np.zeros(n)
    for j, colour in enumerate(_palette(k)):
        ax.bar(x, values[:, j], bottom=bottom, width=0.85, color=colour, linewidth=0,
               label=str(E.columns[j]))
        bottom += values[:, j]
    thin_ticks(ax, [str(s) for s in E.index], "x", 60)
    if n > 8:  # short names too (thin_ticks rotates long ones only)
        ax.tick_params(axis="x", labelrotation=90)
    ax.set_xlim(-0.6, n - 0.4)
    ax.set_xlabel("sample")
    ax.set_ylabel("fraction of mutations" if relative else "mutations")
    ax.set_title("Relative exposures" if relative else "Exposures", fontsize="medium")
    ax.legend(fontsize="small", frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0),
              ncol=1 if k <= 20 else 2)
    return ax


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
    for k, style, colour, what in ((k_sigprofiler, "--", "C3", "SigProfiler rule"),
                                   (k_cv, ":", "C4", "CV rule")):
        if k is not None:
            ax.axvline(k, color=colour, linestyle=style, linewidth=1.5,
                       label=f"k = {k} ({what})")


def plot_signature_selection(table: Any, *, k_sigprofiler: int | None = None,
                             k_cv: int | None = None, ax=None, fig=None):
    """SigProfiler-style selection panel: stability and error against the rank k.

    Left (or ``ax``): average and minimum cosine silhouette of the signature clusters,
    with SigProfiler's thresholds 0.8 and 0.2 dashed. Right: the relative reconstruction
    error and, on a twin axis, the held-out CV error ± one SE (with ``ax``, both errors go
    on a twin of ``ax``). Labelled vertical lines mark the ranks of the two rules.

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
    _curve(right, table, "reconstruction_error", "reconstruction error", "C2", marker="s")
    _curve(cv_ax, table, "cv_error", "CV error (± SE)", "C5", marker="^", err="cv_se")
    for panel in (left,) if ax is not None else (left, right):
        _mark_ranks(panel, k_sigprofiler, k_cv)
        panel.set_xlabel("rank k")
        panel.set_xticks(table["k"].to_numpy())
        panel.grid(True, alpha=0.3)
    error_axes = (right,) if cv_ax is right else (right, cv_ax)
    handles, labels = [], []
    for panel in ((left,) if ax is not None else ()) + error_axes:
        h, lab = panel.get_legend_handles_labels()
        handles, labels = handles + h, labels + lab
    if ax is not None:
        left.legend(handles, labels, fontsize="x-small", frameon=False, loc="lower left")
        return ax
    left.legend(fontsize="x-small", frameon=False, loc="lower left")
    right.legend(handles, labels, fontsize="x-small", frameon=False, loc="upper right")
    return fig


def _stability_panel(ax, table) -> None:
    _curve(ax, table, "avg_stability", "average stability", "C0")
    _curve(ax, table, "min_stability", "minimum stability", "C1", marker="v")
    ax.axhline(0.8, color="C0", linestyle="--", linewidth=0.8, alpha=0.7, label="0.8 threshold")
    ax.axhline(0.2, color="C1", linestyle="--", linewidth=0.8, alpha=0.7, label="0.2 threshold")
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
                        cmap: str = "Blues"):
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
    cmap : str, default="Blues"

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
    ax.set_xlabel("reference" if threshold is None and top is None else "reference (best matches)")
    if annotate and k1 * k2 <= 600:
        for i in range(k1):
            for j in range(k2):
                ax.text(j, i, f"{C[i, j]:.2f}", ha="center", va="center", fontsize=6 if k2 > 15 else 8,
                        color="white" if C[i, j] > 0.6 else "black")
    return ax
