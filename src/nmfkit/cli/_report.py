"""What ``fit`` and ``demo`` write: factor tables, result files, summary, figures."""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._files import figure, save_figure, versions, write_json
from ..backends import to_numpy

__all__ = [
    "component_labels",
    "factor_frames",
    "figure",
    "relative_error",
    "save_figure",
    "versions",
    "write_factors",
    "write_json",
    "write_standard_figures",
    "make_summary",
]


def component_labels(k: int, prefix: str = "nmf") -> list[str]:
    """``nmf0 .. nmf{K-1}``: the library's one scheme (:func:`nmfkit._result.component_names`)."""
    from .._result import component_names

    return component_names(prefix, k)


def _host(M: Any) -> np.ndarray:
    return np.asarray(to_numpy(M))  # the one host conversion


def factor_frames(result, row_names: Sequence[str] | None, col_names: Sequence[str] | None):
    """``W`` and ``H`` of ``result`` as labelled DataFrames.

    Rows of ``W`` are the samples (``row_names``, else ``sample1..``), columns
    ``nmf0..nmf{K-1}``; rows of ``H`` are ``nmf0..nmf{K-1}``, columns the features
    (``col_names``, else ``feature1..``).
    """
    import pandas as pd

    n, k, m = result.W.shape[0], result.H.shape[0], result.H.shape[1]
    rows = list(row_names) if row_names is not None else [f"sample{i + 1}" for i in range(n)]
    cols = list(col_names) if col_names is not None else [f"feature{j + 1}" for j in range(m)]
    W_df, H_df = result.to_frames(rows, cols)  # the one conversion (host arrays, labels)
    comps = component_labels(k)
    W_df = W_df.set_axis(pd.Index(rows, name="sample")).set_axis(comps, axis=1)
    H_df = H_df.set_axis(pd.Index(comps, name="component")).set_axis(cols, axis=1)
    return W_df, H_df


def relative_error(X: Any, W: Any, H: Any) -> float:
    """``||X - W H||_F / ||X||_F`` over the finite entries of ``X``.

    For sparse ``X`` the numerator is expanded as ``||X||^2 - 2 <X, W H> + ||W H||^2``
    so that the dense product ``W H`` is never formed.
    """
    import scipy.sparse as sp

    W, H = np.asarray(_host(W), dtype=float), np.asarray(_host(H), dtype=float)
    # scale-free: X and W divided by a power of two near max |X| (X * 1e300 squared overflows)
    top = float(abs(X).max()) if sp.issparse(X) else float(np.nanmax(np.abs(_host(X)), initial=0.0))
    if math.isfinite(top) and top > 0:
        c = math.ldexp(1.0, -math.frexp(top)[1])
        X, W = X * c, W * c
    if sp.issparse(X):
        X = sp.csr_matrix(X, dtype=float)
        xx = float(X.multiply(X).sum())
        cross = float(np.sum(np.asarray(X @ H.T) * W))
        model = float(np.sum((W.T @ W) * (H @ H.T)))
        num = max(xx - 2.0 * cross + model, 0.0)
    else:
        X = np.asarray(_host(X), dtype=float)
        finite = np.isfinite(X)
        diff = np.where(finite, X - W @ H, 0.0)
        num = float(np.sum(diff * diff))
        xx = float(np.sum(np.where(finite, X, 0.0) ** 2))
    return math.sqrt(num) / math.sqrt(xx) if xx > 0 else float("nan")


def write_factors(directory: Path, result, row_names, col_names):
    """Write ``W.tsv``, ``H.tsv`` and ``result.npz`` + ``result.json`` into ``directory``.

    Returns
    -------
    W_df, H_df : DataFrame
        The labelled factors that were written.
    """
    from .. import io

    W_df, H_df = factor_frames(result, row_names, col_names)
    io.write_table(W_df, directory / "W.tsv")
    io.write_table(H_df, directory / "H.tsv")
    io.save_result(
        result,
        directory / "result.npz",
        row_names=list(W_df.index),
        col_names=list(H_df.columns),
    )
    return W_df, H_df


def streamed_relative_error(source, W, H, batch: int = 4096) -> float:
    """``‖X − W H‖_F / ‖X‖_F`` of a row source, one block of rows at a time."""
    import scipy.sparse as sp

    W, H = np.asarray(W), np.asarray(H)
    num = den = 0.0
    for start, block in source.blocks(batch):
        R = W[start:start + block.shape[0]] @ H
        if sp.issparse(block):
            num += float(np.sum((block.toarray() - R) ** 2))
            den += float(block.multiply(block).sum())
        else:
            num += float(np.sum((block - R) ** 2))
            den += float(np.sum(block * block))
    return float(np.sqrt(num / den)) if den > 0 else float("nan")


def make_summary(X: Any, result, **extra: Any) -> dict:
    """The numbers of one fit, for ``summary.json``.

    ``extra`` (input path, parameters, ...) comes first; then the shape and the
    outcome of the fit, the relative error and the versions.
    """
    import scipy.sparse as sp

    history = [float(v) for v in result.loss_history]
    summary = dict(extra)
    streamed = hasattr(X, "blocks") and hasattr(X, "read")  # a row source: never loaded whole
    summary.update(
        shape=[int(s) for s in X.shape],
        sparse=bool(X.sparse if streamed else sp.issparse(X)),
        k=int(result.n_components),
        beta=float(result.beta),
        solver=result.solver,
        loss=float(result.loss),
        loss_initial=history[0] if history else None,
        reconstruction_err=float(result.reconstruction_err),
        # None for a model that approximates something else than X (SymNMF: an affinity)
        relative_error=(streamed_relative_error(X, result.W, result.H) if streamed
                        else relative_error(X, result.W, result.H)
                        if (result.W.shape[0], result.H.shape[1]) == tuple(X.shape) else None),
        n_iter=int(result.n_iter),
        converged=bool(result.converged),
        stop_reason=result.stop_reason,
        partial=result.stop_reason == "interrupted",  # Ctrl-C: the last iterate, not a finished fit
        elapsed=float(result.elapsed),
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        versions=versions(),
    )
    return summary


def write_standard_figures(directory: Path, result, H_df) -> None:
    """Write ``loss.png`` (convergence) and ``factors.png`` (heat-map of H)."""
    from ..plotting import plot_factor_heatmap, plot_loss

    fig = figure(6.0, 4.0)
    plot_loss(result, ax=fig.add_subplot())
    save_figure(fig, directory / "loss.png")

    k, m = H_df.shape
    fig = figure(min(14.0, max(6.0, 0.22 * min(m, 60) + 3.0)), min(10.0, max(2.8, 0.35 * k + 1.8)))
    plot_factor_heatmap(
        H_df,
        ax=fig.add_subplot(),
        title=f"H: {k} components x {m} features",
        xlabel="feature",
        ylabel="component",
        max_labels=60,
    )
    save_figure(fig, directory / "factors.png")
