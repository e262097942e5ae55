"""The :class:`~nmfkit.ContrastiveResult` of a contrastive fit: split, label, pack (no math)."""

from __future__ import annotations

from .._result import ContrastiveResult, component_names
from ._contrastive_fit import PairFit

__all__ = ["_pack", "_split"]


def _split(fit: PairFit):
    """``(H, W_X, W_Y)`` of the contrastive components and of the background programs."""
    ns = fit.n_shared
    own = (fit.H[ns:], fit.W_X[:, ns:], fit.W_Y[:, ns:])
    shared = (fit.H[:ns], fit.W_X[:, :ns], fit.W_Y[:, :ns])
    return own, shared


def _labelled(parts, names, index, columns):
    """``(H, W_X, W_Y)`` as DataFrames where the data had labels."""
    import pandas as pd

    H, W_X, W_Y = parts
    if columns is not None:
        H = pd.DataFrame(H, index=names, columns=columns)
    if index[0] is not None:
        W_X = pd.DataFrame(W_X, index=index[0], columns=names)
    if index[1] is not None:
        W_Y = pd.DataFrame(W_Y, index=index[1], columns=names)
    return H, W_X, W_Y


def _pack(fit: PairFit, alpha: float, dX=None, dY=None) -> ContrastiveResult:
    """The :class:`ContrastiveResult` of a fit (DataFrames where ``dX`` / ``dY`` had labels)."""
    own, shared = _split(fit)
    names = component_names("contrastivenmf", own[0].shape[0])
    shared_names = component_names("contrastivenmf_bg", shared[0].shape[0])
    if dX is not None and (dX.index is not None or dY.index is not None):
        index = (dX.index, dY.index)
        own = _labelled(own, names, index, dX.columns)
        shared = _labelled(shared, shared_names, index, dX.columns)
    ns = fit.n_shared
    info = {"loss_iters": fit.loss_iters, "restart": fit.best, "restart_valid": fit.restart_valid,
            "seeds": fit.seeds, "loss_before_refine": fit.loss_before_refine,
            "component_names": names, "shared_names": shared_names,
            "shared_enrichment": fit.enrichment[:ns], "shared_loss": fit.shared_loss}
    return ContrastiveResult(
        W=own[1], H=own[0], loss=fit.loss, loss_history=fit.loss_history, n_iter=fit.n_iter,
        converged=fit.converged, stop_reason=fit.stop_reason, elapsed=fit.elapsed, beta=fit.beta,
        solver="contrastive-mu", info=info, W_background=own[2], enrichment=fit.enrichment[ns:],
        target_loss=fit.target_loss, background_loss=fit.background_loss, alpha=float(alpha),
        restart_losses=fit.restart_losses, H_shared=shared[0], W_target_shared=shared[1],
        W_background_shared=shared[2])
