"""The one plotting style of nmfkit: colour-blind-safe colours, legends outside, saving.

Every plotting function (``nmfkit.plotting`` and the AnnData ones in ``nmfkit.pl``)
takes its colours from here and ends with :func:`finish`, so all plots look alike and
all of them can be saved as PNG and SVG with one ``save=`` argument. Nothing here
changes matplotlib's global state (no ``rcParams``, no ``plt.style.use``).

- Categorical colours: the Okabe–Ito palette (Okabe & Ito 2008), distinguishable with
  every common colour-vision deficiency, for up to 8 categories; more categories are
  sampled evenly from ``viridis`` (perceptually uniform and colour-blind safe).
- Heat-maps of non-negative values: ``viridis`` (:data:`SEQUENTIAL`); signed values
  (e.g. a log fold change): ``PuOr_r`` (:data:`DIVERGING`), a colour-blind-safe
  diverging map centred on zero.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..exceptions import NMFInputError

__all__ = ["PALETTE", "SEQUENTIAL", "DIVERGING", "FORMATS", "categorical_colors",
           "legend_outside", "finish", "save_plot"]

#: Okabe–Ito: black-free order, blue first (the colour every plot's first series gets).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
SEQUENTIAL = "viridis"
DIVERGING = "PuOr_r"
#: The formats ``save=`` writes.
FORMATS = ("png", "svg")


def categorical_colors(n: int) -> list:
    """``n`` distinguishable colours: Okabe–Ito up to 8, else evenly spaced ``viridis``."""
    n = int(n)
    if n <= len(PALETTE):
        return list(PALETTE[:n])
    from matplotlib import colormaps

    cmap = colormaps[SEQUENTIAL]
    return [cmap(i / max(n - 1, 1)) for i in range(n)]


def legend_outside(ax, **kwargs):
    """A legend to the right of ``ax``, outside the data area; returns it (None if no labels)."""
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return None
    opts = dict(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, frameon=False)
    opts.update(kwargs)
    return ax.legend(handles, labels, **opts)


def _figure_of(obj: Any):
    """The Figure of an Axes, a Figure, or an array/list of Axes."""
    if hasattr(obj, "savefig"):
        return obj
    if hasattr(obj, "get_figure"):
        return obj.get_figure()
    try:
        first = next(iter(getattr(obj, "flat", obj)))
    except (TypeError, StopIteration):
        first = None
    if first is not None and hasattr(first, "get_figure"):
        return first.get_figure()
    raise NMFInputError(f"cannot save a {type(obj).__name__}: pass a matplotlib Axes or Figure")


def save_plot(obj: Any, save: str | os.PathLike, *, formats=FORMATS, overwrite: bool = False,
              dpi: int = 150) -> list[Path]:
    """Write the figure holding ``obj`` as ``<save>.png`` and ``<save>.svg``.

    Parameters
    ----------
    obj : Axes, Figure or array of Axes
        What a plotting function returned.
    save : str or os.PathLike
        Path without extension (``"figures/faces"``); an extension among ``formats`` is
        dropped, so ``"faces.png"`` also writes ``faces.png`` and ``faces.svg``.
    formats : sequence of str, default=("png", "svg")
    overwrite : bool, default=False
        Replace existing files; otherwise an existing file raises ``NMFInputError``.
    dpi : int, default=150
        Resolution of the raster formats.

    Returns
    -------
    list of Path
        The files written, each written atomically (a temp file renamed on success).
    """
    from ..io import atomic_write

    fig = _figure_of(obj)
    stem = Path(save)
    if stem.suffix.lstrip(".").lower() in formats:
        stem = stem.with_suffix("")
    paths = [stem.with_name(f"{stem.name}.{fmt}") for fmt in formats]
    for path in paths:  # refuse before writing anything
        if path.exists() and not overwrite:
            raise NMFInputError(f"{os.fspath(path)} already exists; pass overwrite=True to replace it, "
                                "or choose another save path")
    for path, fmt in zip(paths, formats):
        with atomic_write(path, overwrite=overwrite, mode="wb") as handle:
            fig.savefig(handle, format=fmt, dpi=dpi, bbox_inches="tight")
    return paths


def finish(obj: Any, save: str | os.PathLike | None = None, *, overwrite: bool = False):
    """The last line of every plotting function: save on request, return ``obj``."""
    if save is not None:
        save_plot(obj, save, overwrite=overwrite)
    return obj
