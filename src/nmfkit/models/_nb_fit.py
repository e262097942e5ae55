r"""Negative-binomial NMF: the fit behind ``NMF(loss="nb")`` / ``nmf(X, k, loss="nb")``.

Counts ``x_ij ~ NB(mean (WH)_ij, size α_i)`` (rows of ``X`` are samples; ``α`` one per
sample, one for all, or fixed; :mod:`nmfkit.losses._nb`). The fit is block-coordinate
ascent on the joint likelihood of ``(W, H, α)``, as SigMoS does it (Pelizzola, Laursen
& Hobolth 2023):

1. a KL (Poisson) fit from the given start (the α → ∞ limit); its factors start
   the NB fit;
2. ``α`` is estimated by maximum likelihood from the current means ``W H``
   (:func:`~nmfkit.losses.estimate_dispersion`; observed entries only);
3. NB multiplicative updates (:class:`~nmfkit.losses.NBTerm`) with ``α`` fixed, run
   to the fit's ``tol`` / ``max_iter``;
4. 2-3 repeat until ``α``'s relative change, ``max_i |log α_i' − log α_i|``, is below
   :data:`ALPHA_RTOL` or :data:`MAX_ROUNDS` NB fits ran.

Each of 2 and 3 can only raise the likelihood. A fixed ``α`` skips 2 and 4 (one NB
fit). The returned factors, ``loss_history`` and divergence belong to the last NB fit
and the ``α`` it used (the α estimated after it differs by less than ``ALPHA_RTOL``
in log when ``info["dispersion_converged"]``); ``info["loglik"]`` is the full NB
log-likelihood of the observed entries there (what compares fits with different α).

New samples (``transform``): with one α (estimated "global" or a fixed number) the
codes are the NB projection on the fixed components under that α; with a per-sample α
(estimated or a fixed array, which belongs to the training samples) the new samples
get their own: KL codes, then :data:`TRANSFORM_ROUNDS` times (ML α per new sample,
NB codes under it).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import replace

import numpy as np

from ..backends import is_sparse
from ..exceptions import ConvergenceWarning
from ..losses import LossSpec, estimate_dispersion, nb_loglik
from ..solvers import LoopOptions
from ._core import FitOutput, fit_factors, project

__all__ = ["fit_nb", "nb_codes", "nb_score", "estimate_alpha", "MAX_ROUNDS", "ALPHA_RTOL",
           "TRANSFORM_ROUNDS"]

#: Most NB fits (α estimates) of one fit.
MAX_ROUNDS = 5
#: α has converged when ``max_i |log α_i' − log α_i|`` is below this.
ALPHA_RTOL = 1e-2
#: Alternations (α of the new samples, then their codes) of ``transform``.
TRANSFORM_ROUNDS = 2


def _host(target):
    """``X`` (dense NumPy, missing entries 0) and the weights (or None) of a target."""
    b = target.backend
    X = target.X.toarray() if is_sparse(target.X) else b.to_numpy(target.X)
    M = None if target.M is None else b.to_numpy(target.M)
    return np.asarray(X, dtype=np.float64), M


def _means(target, W, H):
    return np.asarray(target.backend.to_numpy(W @ H), dtype=np.float64)


def estimate_alpha(target, W, H, mode: str):
    """ML dispersion of the target's observed entries for the means ``W H``."""
    X, M = _host(target)
    return estimate_dispersion(X, _means(target, W, H), per_sample=mode == "per_sample", weights=M)


def _left(options: LoopOptions, start: float) -> LoopOptions:
    """The options of the next stage: what is left of ``max_time``."""
    if options.max_time is None:
        return options
    return replace(options, max_time=max(options.max_time - (time.perf_counter() - start), 0.0))


def _change(new, old) -> float:
    return float(np.max(np.abs(np.log(np.asarray(new, float)) - np.log(np.asarray(old, float)))))


def fit_nb(target, W0, H0, *, loss: LossSpec, penalty, options: LoopOptions,
           accelerate=False) -> FitOutput:
    """The NB fit of the module docstring from ``(W0, H0)``; ``loss`` is the NB spec (a
    mode or a fixed α). Returns the last NB fit's output, with ``info`` on the stages."""
    start = time.perf_counter()
    fixed = loss.concrete
    if fixed:
        loss.terms(target)  # a fixed α of the wrong length fails before any fit
    kw = dict(solver="mu", penalty=penalty, accelerate=accelerate)
    quiet = replace(options, warn=False)  # one warning for the whole fit (_warn)
    kl = fit_factors(target, W0, H0, beta=1.0, options=replace(quiet, desc="nmf[nb: kl start]"),
                     **kw)
    W, H = kl.W, kl.H
    alpha = loss.dispersion if fixed else estimate_alpha(target, W, H, loss.dispersion)
    n_iters, changes, converged_alpha = [], [], fixed
    rounds = 1 if fixed else MAX_ROUNDS
    for rnd in range(rounds):
        out = fit_factors(target, W, H, beta=loss.with_dispersion(alpha),
                          options=replace(_left(quiet, start), desc=f"nmf[nb {rnd + 1}]"), **kw)
        W, H = out.W, out.H
        n_iters.append(out.outcome.n_iter)
        if fixed or out.outcome.stop_reason in ("max_time", "callback", "interrupted", "nonfinite"):
            break
        new = estimate_alpha(target, W, H, loss.dispersion)
        changes.append(_change(new, alpha))
        if changes[-1] < ALPHA_RTOL:
            converged_alpha = True
        if converged_alpha or rnd + 1 == rounds:
            break  # keep the α the last NB fit used
        alpha = new
    if options.warn:
        _warn(out.outcome.stop_reason, converged_alpha, options)
    total = kl.outcome.n_iter + sum(n_iters)
    outcome = replace(out.outcome, n_iter=total, elapsed=time.perf_counter() - start,
                      converged=bool(out.outcome.converged and converged_alpha))
    info = {"loss": "nb", "dispersion": alpha, "dispersion_mode": "fixed" if fixed else loss.dispersion,
            "dispersion_converged": bool(converged_alpha), "dispersion_changes": changes,
            "nb_rounds": len(n_iters), "n_iter_kl": kl.outcome.n_iter, "n_iter_nb": n_iters,
            "kl_divergence": kl.divergence,
            "loglik": nb_score(target, W, H, alpha) * target.n_observed}
    return replace(out, outcome=outcome, info=info)


def _warn(reason, converged_alpha, options):
    problems = []
    if reason == "max_iter" and options.tol > 0:
        problems.append(f"the last NB fit stopped at max_iter={options.max_iter} before the "
                        f"relative decrease fell below tol={options.tol:g} (raise max_iter or tol)")
    if reason == "nonfinite":
        problems.append("the objective became non-finite (check the input scale)")
    if not converged_alpha and reason not in ("max_time", "callback", "interrupted"):
        problems.append(f"the dispersion still moved by more than {ALPHA_RTOL:g} (log) after "
                        f"{MAX_ROUNDS} rounds")
    if problems:
        warnings.warn("nmf[nb]: " + "; ".join(problems), ConvergenceWarning, stacklevel=5)


def nb_codes(target, H, loss: LossSpec, penalty):
    """``(W, α)``: codes of the target's samples on the fixed components ``H`` under the
    fitted NB ``loss`` (see the module docstring for the α of new samples)."""
    alpha = loss.dispersion
    if np.ndim(alpha) == 0:
        return project(target, H, beta=loss, penalty=penalty), alpha
    W = project(target, H, beta=1.0, penalty=penalty)
    for _ in range(TRANSFORM_ROUNDS):
        alpha = estimate_alpha(target, W, H, "per_sample")
        W = project(target, H, beta=loss.with_dispersion(alpha), penalty=penalty, W0=W)
    return W, alpha


def nb_score(target, W, H, alpha) -> float:
    """Mean NB log-likelihood per observed entry of the target for the means ``W H``."""
    X, M = _host(target)
    return float(nb_loglik(X, _means(target, W, H), alpha, weights=M)) / target.n_observed
