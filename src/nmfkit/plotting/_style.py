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

__all__ = ["PALETTE", "SEQUENTIAL", "DIVERGING", "NEUTRAL", "MISSING", "FORMATS",
           "categorical_colors", "text_color_on", "cvd_min_distance", "legend_outside", "finish",
           "save_plot"]

#: Okabe–Ito: black-free order, blue first (the colour every plot's first series gets).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
SEQUENTIAL = "viridis"
DIVERGING = "PuOr_r"
#: Reference lines and rules (zero lines, a chosen rank): a mid grey, never data.
NEUTRAL = "0.4"
#: Cells or points without a value (NaN: not fitted, held out), drawn behind the data.
MISSING = "lightgrey"
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


def text_color_on(cmap: str, value: float) -> str:
    """``"black"`` or ``"white"``: whichever reads better on ``cmap`` at ``value`` (in [0, 1]).

    Chosen from the relative luminance of the cell's colour (WCAG), so annotations stay
    readable on ``viridis`` (dark at 0) as on any other map.
    """
    from matplotlib import colormaps

    r, g, b = _linear_rgb(colormaps[cmap](float(min(max(value, 0.0), 1.0)))[:3])
    return "black" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.179 else "white"


# Machado, Oliveira & Fernandes (2009), severity 1, on linear sRGB.
_CVD = {
    "protanopia": ((0.152286, 1.052583, -0.204868), (0.114503, 0.786281, 0.099216),
                   (-0.003882, -0.048116, 1.051998)),
    "deuteranopia": ((0.367322, 0.860646, -0.227968), (0.280085, 0.672501, 0.047413),
                     (-0.011820, 0.042940, 0.968881)),
    "tritanopia": ((1.255528, -0.076749, -0.178779), (-0.078411, 0.930809, 0.147602),
                   (0.004733, 0.691367, 0.303900)),
}


def _linear_rgb(rgb):
    import numpy as np

    c = np.asarray(rgb, dtype=float)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _lab(linear):
    """CIELAB (D65) of linear sRGB rows."""
    import numpy as np

    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = np.clip(linear, 0.0, 1.0) @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], 1)


def cvd_min_distance(colors) -> dict:
    """Smallest CIELAB ΔE (CIE76) between any two of ``colors``, as seen with each vision.

    Returns ``{vision: (delta_e, (i, j))}`` for ``"normal"``, ``"protanopia"``,
    ``"deuteranopia"`` and ``"tritanopia"`` (Machado et al. 2009 simulation, full
    severity); ``(i, j)`` is the closest pair. A ΔE above about 10 is told apart at a
    glance; below about 5 two patches look alike.
    """
    import numpy as np
    from matplotlib.colors import to_rgb

    lin = _linear_rgb([to_rgb(c) for c in colors])
    out = {}
    for vision, matrix in (("normal", np.eye(3)),) + tuple(_CVD.items()):
        lab = _lab(lin @ np.asarray(matrix).T)
        d = np.linalg.norm(lab[:, None, :] - lab[None, :, :], axis=-1)
        d[np.diag_indices_from(d)] = np.inf
        i, j = np.unravel_index(np.argmin(d), d.shape)
        out[vision] = (float(d[i, j]), (int(min(i, j)), int(max(i, j))))
    return out


def legend_outside(ax, *, where: str = "right", handles=None, labels=None, **kwargs):
    """A legend outside the data area of ``ax``; returns it (None if nothing is labelled).

    Parameters
    ----------
    ax : Axes or Figure
        With a Figure, one figure legend goes outside its right edge (room is made
        for it by the constrained layout of the figures nmfkit makes).
    where : {"right", "above"}, default="right"
        Beside the axes (top-aligned) or above it (centred, several columns).
    handles, labels : list, optional
        Entries to show (default: everything labelled in ``ax``); repeated labels are
        shown once.
    **kwargs
        Passed to ``legend`` (e.g. ``fontsize``, ``ncol``).
    """
    if handles is None:
        handles, labels = ax.get_legend_handles_labels()
    seen: dict = {}
    for handle, label in zip(handles, labels):
        seen.setdefault(label, handle)
    if not seen:
        return None
    if hasattr(ax, "savefig"):  # a Figure
        opts = dict(loc="outside right upper", frameon=False)
    elif where == "right":
        opts = dict(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, frameon=False)
    elif where == "above":
        opts = dict(loc="lower center", bbox_to_anchor=(0.5, 1.02), borderaxespad=0.0,
                    frameon=False, ncol=min(len(seen), 2))
    else:
        raise NMFInputError(f"where={where!r} is not a legend position; use 'right' or 'above'")
    opts.update(kwargs)
    return ax.legend(list(seen.values()), list(seen), **opts)


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
    """The last line of every plotting function: save on request, return ``obj``.

    ``save`` is a path without extension; ``<save>.png`` and ``<save>.svg`` are written
    atomically, and an existing file raises ``NMFInputError`` unless ``overwrite``.
    """
    if save is not None:
        save_plot(obj, save, overwrite=overwrite)
    return obj
