r"""The batched fits of signature extraction: replicates and cross-validation folds.

Both are declarations on the engine: a *stacked* target (one catalog per restart of the
state, :class:`nmfkit.losses.Target` with a 3-D ``X``; held-out entries are weight 0),
one term (:class:`~nmfkit.losses.Term` with β = 1 for KL/Poisson, or
:class:`~nmfkit.losses.NBTerm` for the negative binomial), the one MU engine and loop
(:func:`nmfkit.solvers.run_terms`). Orientation: samples × types, so the state's ``W``
holds exposures (R, samples, k) and ``H`` the signatures (R, k, types).
"""

from __future__ import annotations

import numpy as np

from ..backends import get_namespace
from ..exceptions import NMFInputError
from ..losses import Target, estimate_dispersion
from ..losses._nb import nb_loglik_entries
from ..losses._spec import LossSpec, resolve_loss
from ..losses._target import REPLICATE
from ..solvers import LoopOptions, run_terms

__all__ = ["extraction_loss", "rank_loss", "fit_replicates", "cv_errors", "heldout_nll"]


def extraction_loss(loss, dispersion) -> LossSpec:
    """The loss of an extraction: Poisson / KL (SigProfiler's) or the negative binomial."""
    spec = resolve_loss(loss, dispersion)
    if spec.nb or spec.beta == 1.0:
        return spec
    raise NMFInputError(f"loss={loss!r} is not a count loss; extraction takes 'kl' (Poisson, "
                        "SigProfiler's) or 'nb' (negative binomial)")


def _interrupted(outcome) -> bool:
    return "interrupted" in outcome.stop_reason


def rank_loss(spec: LossSpec, X: np.ndarray, k: int, seed: int, options: LoopOptions):
    """The concrete loss at rank ``k``: for NB with an estimated dispersion, ``α`` by
    maximum likelihood from a KL fit of ``X`` at rank ``k`` (the SigMoS procedure).
    None when that fit was interrupted (Ctrl-C)."""
    if spec.concrete:
        return spec
    W, H, out = fit_replicates(X[None], k, [seed], LossSpec(1.0), options)
    if _interrupted(out):
        return None
    alpha = estimate_dispersion(X, W[0] @ H[0], per_sample=spec.dispersion == "per_sample")
    return spec.with_dispersion(alpha)


def heldout_nll(spec: LossSpec, X, Y):
    """Negative log-likelihood of every entry of ``X`` under means ``Y`` (Poisson or NB):
    comparable across ranks even when each rank has its own α."""
    if not spec.nb:
        return -nb_loglik_entries(X, Y, np.inf)
    a = spec.dispersion
    return -nb_loglik_entries(X, Y, a if np.ndim(a) == 0 else np.asarray(a)[:, None])


def _starts(D, k, seeds, dtype):
    """Uniform random starts scaled so that ``W H`` has the data's mean, one per seed."""
    R, n, p = D.shape
    W = np.empty((R, n, k), dtype=dtype)
    H = np.empty((R, k, p), dtype=dtype)
    for r, s in enumerate(seeds):
        rng = np.random.default_rng(s)
        a = 2.0 * np.sqrt(max(float(D[r].mean()), 1e-12) / k)
        W[r] = rng.random((n, k)) * a + 1e-3 * a
        H[r] = rng.random((k, p)) * a + 1e-3 * a
    return W, H


def fit_replicates(D, k, seeds, loss: LossSpec, options: LoopOptions, weights=None):
    """Fit rank ``k`` to every catalog of the stack ``D`` (R, n, p) at once.

    Returns ``(W, H, outcome)`` with ``H``'s rows on the simplex (signatures) and the
    scale moved into ``W`` (exposures).
    """
    b = get_namespace(D)
    W0, H0 = _starts(D, k, seeds, D.dtype)
    target = Target(D, weights, b)
    state = {"W": W0, "H": H0, REPLICATE: np.arange(D.shape[0])}
    outcome, _ = run_terms(loss.terms(target), state, b, solver="mu", options=options)
    W, H = outcome.state["W"], outcome.state["H"]
    scale = np.maximum(H.sum(axis=-1, keepdims=True), 1e-300)  # (R, k, 1)
    return W * np.swapaxes(scale, 1, 2), H / scale, outcome


def cv_errors(X, k, masks, seeds, loss: LossSpec, options: LoopOptions, dtype=np.float64):
    """Held-out negative log-likelihood per entry of each fold (``masks[f]`` True = held out).

    All folds are one stacked fit (weights 0 on the held-out entries). For NB with an
    estimated dispersion, each fold's ``α`` comes from a KL fit of its *training*
    entries only (``estimate_dispersion(..., weights=)``), so the held-out entries never
    inform the model that scores them. None when a fit was interrupted (Ctrl-C).
    """
    F = len(masks)
    D = np.broadcast_to(X, (F,) + X.shape).astype(dtype)
    M = (~masks).astype(D.dtype)
    spec = loss
    if loss.nb and not loss.concrete:
        W, H, out = fit_replicates(D, k, seeds, LossSpec(1.0), options, weights=M)
        if _interrupted(out):
            return None
        per = loss.dispersion == "per_sample"
        mu = (W @ H).astype(np.float64)
        spec = loss.with_dispersion(np.stack([
            np.broadcast_to(estimate_dispersion(X, mu[f], per_sample=per, weights=M[f]),
                            (X.shape[0],)) for f in range(F)]))
    W, H, out = fit_replicates(D, k, seeds, spec, options, weights=M)
    if _interrupted(out):
        return None
    Y = (W @ H).astype(np.float64)
    errs = np.full(F, np.nan)
    for f in range(F):
        t = masks[f]
        fold = spec if not spec.nb or np.ndim(spec.dispersion) < 2 else \
            spec.with_dispersion(spec.dispersion[f])
        if t.any():
            errs[f] = float(heldout_nll(fold, X, Y[f])[t].mean())
    return errs
