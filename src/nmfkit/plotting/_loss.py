"""Convergence plot: the objective against the iteration."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..exceptions import NMFInputError
from ._style import NEUTRAL, PALETTE, finish, legend_outside
from ._utils import new_axes

__all__ = ["plot_loss"]

_BETA_NAMES = {2.0: "Frobenius", 1.0: "KL", 0.0: "Itakura-Saito"}
_STOP_TEXT = {
    "tol": "converged (tol)",
    "max_iter": "stopped: max_iter",
    "max_time": "stopped: max_time",
    "callback": "stopped by callback",
}


def _unpack(obj: Any) -> tuple[np.ndarray, np.ndarray | None, dict]:
    """History, evaluated iterations (or None) and metadata of a result-like object."""
    meta: dict = {}
    if hasattr(obj, "loss_history") and hasattr(obj, "stop_reason"):  # NMFResult
        history = obj.loss_history
        info = getattr(obj, "info", None) or {}
        iters = info.get("loss_iters")
        meta = {
            "stop_reason": obj.stop_reason,
            "n_iter": getattr(obj, "n_iter", None),
            "beta": getattr(obj, "beta", None),
        }
    elif hasattr(obj, "loss_history_"):  # fitted estimator
        history = obj.loss_history_
        iters = None
        meta = {"n_iter": getattr(obj, "n_iter_", None)}
    else:
        history, iters = obj, None
    try:
        history = np.asarray([float(v) for v in history], dtype=float)
    except (TypeError, ValueError) as exc:
        raise NMFInputError(
            "result_or_history must be an NMFResult, a fitted estimator or a sequence of "
            f"loss values; got {type(obj).__name__}."
        ) from exc
    if iters is not None:
        iters = np.asarray(iters, dtype=float)
        if iters.shape != history.shape:
            iters = None
    return history, iters, meta


def plot_loss(result_or_history: Any, ax=None, log: bool = True, *,
              save: str | os.PathLike | None = None, overwrite: bool = False):
    """Plot the objective against the iteration and mark why the solver stopped.

    Parameters
    ----------
    result_or_history : NMFResult, fitted estimator or sequence of float
        An :class:`~nmfkit.NMFResult` (its ``loss_history`` is drawn against
        ``info["loss_iters"]`` when present, and its ``stop_reason`` is marked), an
        estimator with ``loss_history_``, or a plain sequence of loss values (entry 0
        being the loss after initialisation, iteration 0).
    ax : matplotlib.axes.Axes, optional
        Axes to draw into; a new figure is made when None.
    log : bool, default=True
        Use a logarithmic y axis (ignored when some value is not positive).
    save : str or os.PathLike, optional
        Write the figure as ``<save>.png`` and ``<save>.svg`` (see
        :func:`nmfkit.plotting._style.save_plot`).
    overwrite : bool, default=False
        Replace existing files at ``save``; otherwise they raise ``NMFInputError``.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn into.

    Examples
    --------
    >>> import numpy as np, nmfkit
    >>> from nmfkit.plotting import plot_loss
    >>> X = np.random.default_rng(0).random((30, 20))
    >>> ax = plot_loss(nmfkit.nmf(X, 3, random_state=0))
    """
    history, iters, meta = _unpack(result_or_history)
    if history.size == 0:
        raise NMFInputError("result_or_history holds no loss values; nothing to plot.")
    x = iters if iters is not None else np.arange(history.size, dtype=float)
    ax = new_axes(ax, figsize=(7.5, 3.8))  # room for the legend on the right

    marker = "o" if history.size <= 40 else None
    ax.plot(x, history, marker=marker, markersize=3, linewidth=1.5, color=PALETTE[0], label="objective")

    stop_reason = meta.get("stop_reason")
    if stop_reason is not None:
        text = _STOP_TEXT.get(stop_reason, f"stopped: {stop_reason}")
        n_iter = meta.get("n_iter")
        if n_iter is not None:
            text += f" after {n_iter} it."
        color = PALETTE[2] if stop_reason == "tol" else PALETTE[3]
        ax.scatter([x[-1]], [history[-1]], s=60, marker="*", color=color, zorder=3, label=text)
        ax.axvline(x[-1], color=NEUTRAL, linestyle=":", linewidth=1)
        legend_outside(ax, fontsize="small")

    if log and np.all(history[np.isfinite(history)] > 0):
        ax.set_yscale("log")
    beta = meta.get("beta")
    ylabel = "objective"
    if beta is not None:
        name = _BETA_NAMES.get(float(beta), f"β = {float(beta):g}")
        ylabel += f" ({name})"
    ax.set_xlabel("iteration")
    ax.set_ylabel(ylabel)
    ax.set_title(f"Convergence (final {history[-1]:.4g})")
    ax.grid(True, which="major", alpha=0.3)
    return finish(ax, save, overwrite=overwrite)
