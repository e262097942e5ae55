"""Small helpers shared by the plotting functions (no drawing here)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..backends import is_sparse, to_numpy
from ..exceptions import NMFInputError

__all__ = [
    "as_matrix",
    "axis_labels",
    "component_names",
    "grid_shape",
    "new_axes",
    "new_figure",
    "thin_ticks",
]


def as_matrix(M: Any, name: str = "M") -> np.ndarray:
    """Return ``M`` as a 2-D float NumPy array on the host.

    Accepts NumPy arrays, pandas DataFrames, scipy.sparse matrices (densified) and
    whatever :func:`nmfkit.backends.to_numpy` converts (torch tensors on any device).
    """
    M = to_numpy(M)  # DataFrame, torch tensor (any device), ... -> NumPy; sparse stays sparse
    if is_sparse(M):
        M = M.toarray()
    arr = np.asarray(M, dtype=float)
    if arr.ndim != 2:
        raise NMFInputError(
            f"{name} must be a 2-D matrix; got an array with shape {arr.shape}. "
            "Pass result.W or result.H."
        )
    return arr


def axis_labels(M: Any, axis: int) -> list[str] | None:
    """Labels carried by a DataFrame along ``axis`` (0 = index, 1 = columns), else None."""
    if hasattr(M, "columns") and hasattr(M, "index"):
        labels = M.index if axis == 0 else M.columns
        return [str(v) for v in labels]
    return None


def component_names(M: Any, k: int, given: Sequence[str] | None) -> list[str]:
    """Names of the ``k`` components: ``given``, a DataFrame index, or ``comp1..compK``."""
    if given is not None:
        names = [str(v) for v in given]
        if len(names) != k:
            raise NMFInputError(
                f"component_names has {len(names)} entries but there are {k} components; "
                "pass one name per row of H."
            )
        return names
    from_frame = axis_labels(M, 0)
    if from_frame is not None:
        return from_frame
    return [f"comp{i + 1}" for i in range(k)]


def new_axes(ax, figsize: tuple[float, float]):
    """``ax`` itself, or a fresh Axes in a new constrained-layout figure."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def new_figure(fig, figsize: tuple[float, float]):
    """``fig`` itself, or a new constrained-layout figure.

    A given figure without a layout engine gets constrained layout, which makes room for
    the legends placed outside the panels (``_style.legend_outside``).
    """
    if fig is not None:
        if fig.get_layout_engine() is None:
            fig.set_layout_engine("constrained")
        return fig
    import matplotlib.pyplot as plt

    return plt.figure(figsize=figsize, layout="constrained")


def grid_shape(n: int, n_cols: int | None, default_cols: int) -> tuple[int, int]:
    """(rows, cols) of a panel grid holding ``n`` panels."""
    if n_cols is None:
        n_cols = min(n, default_cols)
    n_cols = int(n_cols)
    if n_cols < 1:
        raise NMFInputError(f"n_cols must be a positive integer; got {n_cols}.")
    n_cols = min(n_cols, max(n, 1))
    return math.ceil(n / n_cols), n_cols


def thin_ticks(ax, labels: Sequence[str], axis: str, max_labels: int) -> None:
    """Label every ``step``-th tick so that at most ``max_labels`` labels show."""
    n = len(labels)
    if n == 0:
        return
    step = max(1, math.ceil(n / max(1, int(max_labels))))
    positions = np.arange(0, n, step)
    shown = [str(labels[i]) for i in positions]
    fontsize = 8 if len(positions) > 20 else None
    if axis == "x":
        longest = max(len(s) for s in shown)
        ax.set_xticks(positions)
        ax.set_xticklabels(shown, rotation=90 if longest > 3 else 0, fontsize=fontsize)
    else:
        ax.set_yticks(positions)
        ax.set_yticklabels(shown, fontsize=fontsize)
