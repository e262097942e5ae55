"""Plots of mutational signatures: SBS-96 profiles and exposures (rank selection and the
cosine heat-map are in :mod:`nmfkit.plotting._signature_selection`)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import NMFInputError
from ._style import categorical_colors, finish, legend_outside
from ._utils import grid_shape, new_axes, new_figure, thin_ticks

__all__ = ["SBS96_COLORS", "plot_sbs96", "plot_exposures"]

#: Block colours of the standard SBS-96 plot (sigProfilerPlotting), RGB / 256.
#:
#: The one exception to the Okabe–Ito palette of :mod:`nmfkit.plotting._style`: these
#: six colours are the community convention (every published SBS-96 profile and COSMIC
#: use them), so a reader recognises a class by its colour across papers. They are not
#: all colour-blind safe: T>A (grey) and T>G (pale pink) are close (CIELAB ΔE 13.8 with
#: normal vision, 7.6 with deuteranopia, 3.6 with protanopia; see
#: ``_style.cvd_min_distance`` and ``tests/test_plot_style.py``); every other pair is
#: far apart. The class is therefore also written over each block of 16 bars (the strip).
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
               names: Sequence[str] | None = None, percent: bool = True, se: Any = None,
               save: str | os.PathLike | None = None, overwrite: bool = False):
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
    save : str or os.PathLike, optional
        Write the figure as ``<save>.png`` and ``<save>.svg``.
    overwrite : bool, default=False
        Replace existing files at ``save``; otherwise they raise ``NMFInputError``.

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
        return finish(ax, save, overwrite=overwrite)
    nrows, ncols = grid_shape(k, ncols, 1)
    fig = new_figure(fig, figsize=(7.5 * ncols, 2.1 * nrows + 0.4))
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    for j, panel in enumerate(axes):
        panel.set_visible(j < k)
        if j < k:
            _sbs96_panel(panel, values[j], None if errors is None else errors[j], titles[j], percent)
    return finish(fig, save, overwrite=overwrite)


def plot_exposures(exposures: Any, *, ax=None, relative: bool = False, order: Any = None,
                   save: str | os.PathLike | None = None, overwrite: bool = False):
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
    save : str or os.PathLike, optional
        Write the figure as ``<save>.png`` and ``<save>.svg``.
    overwrite : bool, default=False
        Replace existing files at ``save``; otherwise they raise ``NMFInputError``.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax.containers[j]`` holds signature ``j``'s bars, coloured by
        :func:`~nmfkit.plotting._style.categorical_colors`; the legend is outside, right.

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
    ax = new_axes(ax, figsize=(min(17.5, max(6.5, 0.18 * n + 4.5)), 3.8))  # + legend
    x, bottom = np.arange(n), np.zeros(n)
    for j, colour in enumerate(categorical_colors(k)):
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
    legend_outside(ax, fontsize="small", ncol=1 if k <= 20 else 2)
    return finish(ax, save, overwrite=overwrite)
