"""Plots of model selection: the rank-search panel, consensus heat-map, component stability."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..exceptions import NMFInputError
from ._style import NEUTRAL, PALETTE, SEQUENTIAL, finish, legend_outside
from ._utils import new_axes, new_figure

__all__ = ["plot_component_stability", "plot_consensus", "plot_rank_search"]


def _table(result: Any):
    table = getattr(result, "table", result)
    if not (hasattr(table, "columns") and "k" in getattr(table, "columns", [])):
        raise NMFInputError(
            "result must be a RankSearchResult (from nmfkit.selection.rank_search) or its "
            f"table; got {type(result).__name__}"
        )
    return table


def _lower(values) -> float:
    """Lower y limit: below 0 and below the smallest finite value."""
    v = np.asarray([] if values is None else values, dtype=float)
    v = v[np.isfinite(v)]
    return min(-0.05, float(v.min()) - 0.05) if v.size else -0.05


def _mark_best(ax, best_k):
    if best_k is not None:
        ax.axvline(best_k, color=NEUTRAL, linestyle="--", linewidth=1, label=f"best k = {best_k}")


def _curve(ax, table, column, label, color, marker="o", err=None):
    if column not in table.columns or not np.isfinite(table[column].to_numpy(float)).any():
        return False
    y = table[column].to_numpy(float)
    yerr = None if err is None or err not in table.columns else table[err].to_numpy(float)
    ax.errorbar(table["k"], y, yerr=yerr, marker=marker, markersize=4, linewidth=1.5,
                capsize=3 if yerr is not None else 0, color=color, label=label)
    return True


def plot_rank_search(result: Any, fig=None, *, save: str | os.PathLike | None = None,
                     overwrite: bool = False):
    """Panel of a rank search: error, component stability and consensus against k.

    Three axes: (1) the mean divergence per entry of the held-out entries (speckled
    CV, with one standard error; bi-CV when run) and of the training entries; (2) the
    silhouette of the matched component clusters, its worst cluster and the mean
    matched cosine similarity; (3) the cophenetic correlation and dispersion of the
    consensus. The chosen ``best_k`` is marked with a dashed line.

    Parameters
    ----------
    result : RankSearchResult or DataFrame
        The output of :func:`nmfkit.selection.rank_search` (or its ``table``).
    fig : matplotlib.figure.Figure, optional
        An empty figure to draw into; a new one when None. Each panel's legend sits to
        its right, so give it a constrained layout (as the figures made here have).
    save : str or os.PathLike, optional
        Write the figure as ``<save>.png`` and ``<save>.svg``.
    overwrite : bool, default=False
        Replace existing files at ``save``; otherwise they raise ``NMFInputError``.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import nmfkit
    >>> from nmfkit.selection import rank_search
    >>> from nmfkit.plotting import plot_rank_search
    >>> X = nmfkit.datasets.make_low_rank(80, 40, 3, noise=0.2, random_state=0).X
    >>> fig = plot_rank_search(rank_search(X, range(2, 6), n_restarts=3, random_state=0))
    >>> len(fig.axes)
    3
    """
    table = _table(result)
    best_k = getattr(result, "best_k", None)
    fig = new_figure(fig, figsize=(16.0, 3.8))
    ax1, ax2, ax3 = fig.subplots(1, 3, squeeze=True)
    c = PALETTE
    drawn = _curve(ax1, table, "cv_error", "held-out (speckled CV)", c[0], err="cv_se")
    drawn |= _curve(ax1, table, "bicv_error", "held-out (bi-CV)", c[1], marker="s", err="bicv_se")
    drawn |= _curve(ax1, table, "cv_train_error", "training entries", c[2], marker="^")
    if not drawn:
        _curve(ax1, table, "rel_error", "relative error (best restart)", c[3])
        ax1.set_ylabel("‖X − WH‖ / ‖X‖")
    else:
        ax1.set_ylabel("divergence per entry")
    ax1.set_title("Error")
    _curve(ax2, table, "silhouette", "silhouette", c[0])
    _curve(ax2, table, "min_cluster_silhouette", "worst cluster silhouette", c[1], marker="v")
    _curve(ax2, table, "similarity", "matched cosine similarity", c[2], marker="s")
    ax2.set_title("Component stability")
    ax2.set_ylabel("silhouette / cosine similarity")
    ax2.set_ylim(_lower(table.get("min_cluster_silhouette")), 1.05)
    _curve(ax3, table, "cophenetic", "cophenetic correlation", c[0])
    _curve(ax3, table, "dispersion", "dispersion", c[1], marker="s")
    ax3.set_title("Consensus of samples")
    ax3.set_ylabel("cophenetic correlation / dispersion")
    for ax in (ax1, ax2, ax3):
        _mark_best(ax, best_k)
        ax.set_xlabel("rank k")
        ax.set_xticks(table["k"].to_numpy())
        ax.grid(True, alpha=0.3)
        legend_outside(ax, fontsize="small")
    return finish(fig, save, overwrite=overwrite)


def _consensus_of(obj, k):
    if hasattr(obj, "consensus") and isinstance(getattr(obj, "consensus"), dict):  # RankSearchResult
        k = obj.best_k if k is None else k
        if k not in obj.consensus:
            have = sorted(obj.consensus)
            raise NMFInputError(
                f"no consensus for k={k!r} in this rank search (have {have}); pass one of them "
                "as k, or rerun rank_search with consensus=True"
            )
        return obj.consensus[k], k
    if hasattr(obj, "matrix") and hasattr(obj, "order"):
        return obj, k
    raise NMFInputError(
        "consensus must be a Consensus (nmfkit.selection.consensus) or a RankSearchResult; got "
        f"{type(obj).__name__}"
    )


def plot_consensus(consensus: Any, k: int | None = None, ax=None, cmap: str = SEQUENTIAL, *,
                   save: str | os.PathLike | None = None, overwrite: bool = False):
    """Heat-map of a consensus matrix, samples ordered by its average-linkage tree.

    Parameters
    ----------
    consensus : Consensus or RankSearchResult
        A :class:`~nmfkit.selection.Consensus`, or a rank search (then ``k``, by
        default its ``best_k``, picks the rank).
    k : int, optional
        Rank, for a RankSearchResult (also shown in the title).
    ax : matplotlib.axes.Axes, optional
    cmap : str, default=SEQUENTIAL ("viridis")
        Colour map (0 = never together, 1 = always together).
    save : str or os.PathLike, optional
        Write the figure as ``<save>.png`` and ``<save>.svg``.
    overwrite : bool, default=False
        Replace existing files at ``save``; otherwise they raise ``NMFInputError``.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import nmfkit
    >>> from nmfkit.selection import consensus, restarts
    >>> from nmfkit.plotting import plot_consensus
    >>> X = nmfkit.datasets.make_low_rank(60, 30, 3, random_state=0).X
    >>> ax = plot_consensus(consensus(restarts(X, 3, 4, random_state=0, keep_all=True)))
    """
    c, k = _consensus_of(consensus, k)
    order = np.asarray(c.order)
    M = np.asarray(c.matrix)[np.ix_(order, order)]
    ax = new_axes(ax, figsize=(5.2, 4.4))
    im = ax.imshow(M, cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest", aspect="auto")
    ax.figure.colorbar(im, ax=ax, label="share of restarts together")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("samples (tree order)")
    ax.set_ylabel("samples (tree order)")
    label = "" if k is None else f"k = {k}: "
    ax.set_title(f"Consensus, {label}cophenetic {c.cophenetic:.3f}, {c.n_restarts} restarts",
                 fontsize="medium")
    return finish(ax, save, overwrite=overwrite)


def plot_component_stability(stability: Any, k: int | None = None, ax=None, *,
                             save: str | os.PathLike | None = None, overwrite: bool = False):
    """Per-component stability: each restart's matched similarity and the cluster silhouettes.

    For each component cluster j (from :func:`~nmfkit.selection.component_stability`),
    the cosine similarities of the R restarts' members to the centroid are drawn as
    points over a bar of the cluster's mean silhouette.

    Parameters
    ----------
    stability : ComponentStability or RankSearchResult
        With a RankSearchResult, ``k`` (default ``best_k``) picks the rank.
    k : int, optional
    ax : matplotlib.axes.Axes, optional
    save : str or os.PathLike, optional
        Write the figure as ``<save>.png`` and ``<save>.svg``.
    overwrite : bool, default=False
        Replace existing files at ``save``; otherwise they raise ``NMFInputError``.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import nmfkit
    >>> from nmfkit.selection import component_stability, restarts
    >>> from nmfkit.plotting import plot_component_stability
    >>> X = nmfkit.datasets.make_low_rank(60, 30, 3, random_state=0).X
    >>> st = component_stability(restarts(X, 3, 4, random_state=0, keep_all=True))
    >>> ax = plot_component_stability(st)
    """
    if hasattr(stability, "stability") and isinstance(stability.stability, dict):
        k = stability.best_k if k is None else k
        if k not in stability.stability:
            raise NMFInputError(f"no stability for k={k!r} in this rank search (have "
                                f"{sorted(stability.stability)}); pass one of them as k")
        stability = stability.stability[k]
    if not hasattr(stability, "similarity") or not hasattr(stability, "cluster_silhouette"):
        raise NMFInputError("stability must be a ComponentStability or a RankSearchResult; got "
                            f"{type(stability).__name__}")
    sim = np.asarray(stability.similarity)
    sil = np.asarray(stability.cluster_silhouette)
    nR, kk = sim.shape
    ax = new_axes(ax, figsize=(max(6.5, 0.5 * kk + 5.0), 3.8))  # + legend
    x = np.arange(kk)
    ax.bar(x, np.nan_to_num(sil), color=PALETTE[0], alpha=0.35, label="cluster silhouette")
    jitter = (np.random.default_rng(0).random(sim.shape) - 0.5) * 0.3
    ax.scatter((x[None, :] + jitter).ravel(), sim.ravel(), s=10, color=PALETTE[1],
               label=f"similarity to centroid ({nR} restarts)")
    ax.axhline(0, color=NEUTRAL, linewidth=0.8)
    ax.set_xticks(x)
    ax.set_xticklabels([str(j + 1) for j in x])
    ax.set_xlabel("component")
    ax.set_ylabel("cosine similarity / silhouette")
    ax.set_ylim(_lower(sil), 1.05)
    what = "Component stability" if k is None else f"k = {k}"
    ax.set_title(f"{what}: silhouette {stability.silhouette:.3f}", fontsize="medium")
    legend_outside(ax, fontsize="small")
    return finish(ax, save, overwrite=overwrite)
