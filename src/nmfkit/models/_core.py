"""Shared machinery of the NMF estimator and the functional API.

Builds the data term from validated input, picks the solver, runs the loop and
fixes the gauge. Holds no update rule: those live in ``nmfkit.solvers``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .._result import NMFResult, component_names
from .._validation import CheckedData, check_mask
from ..backends import Backend
from ..exceptions import NMFInputError
from ..losses import Penalty, Target, as_loss
from ..solvers import LoopOptions, nnls_codes, penalties_of, run_terms
from ..solvers.kl_codes import kl_codes
from ._dense import gauge

__all__ = ["FitOutput", "build_target", "resolve_solver", "fit_factors", "fix_gauge", "project",
           "resolve_accelerate", "has_exact_projection", "nmf_terms", "run_nmf", "stack", "fit_result"]

SOLVERS = ("auto", "mu", "hals", "cd")


def build_target(data: CheckedData, mask=None) -> Target:
    """The weighted data term: NaN entries and ``mask == 0`` entries get weight 0."""
    b = data.backend
    X = data.values
    dtype = X.dtype
    weights = None
    if data.n_nan:
        observed = ~b.isnan(X)
        weights = b.astype(observed, dtype)
        X = b.nan_to_zero(X)
    if mask is not None:
        if data.sparse:
            import warnings

            warnings.warn("a mask with sparse X densifies X so that entries can be weighted",
                          UserWarning, stacklevel=3)
            X = X.toarray()
        M = check_mask(mask, data.shape, b, dtype)
        weights = M if weights is None else weights * M
        if not float(b.item(b.sum(weights * X))) > 0:
            raise NMFInputError("every entry with a positive value is masked out; nothing is left to fit")
    return Target(X, weights, b)


def resolve_solver(solver: str, beta, *, cd_backend=None) -> str:
    """The solver for ``beta`` (a β or a :class:`~nmfkit.losses.LossSpec`).

    "hals" is Frobenius only; "cd" (coordinate descent with extrapolation) runs for
    1 <= β < 2 (KL: :mod:`nmfkit.solvers.kl_cd`; 1 < β < 2:
    :mod:`nmfkit.solvers.beta_cd`) and only for callers that run it (plain and masked NMF
    and its batched restarts), which pass their data's backend as ``cd_backend``. "auto"
    is "hals" for Frobenius; for KL it is "cd" where that is the faster (NumPy / SciPy
    data with the compiled kernel, numba, installed: measured in
    ``benchmarks/bench_kl_cd.py``), else "mu"; the same for 1 < β < 2 (the compiled
    kernel of :mod:`nmfkit.solvers._beta_cd_numba` reached MU's 200-iteration objective
    in 0.09-0.31 of MU's time at β = 1.5 and 1.2 on pbmc68k and mouse10k,
    ``benchmarks/bench_beta_cd.py``; the NumPy path is not faster than MU, 0.87 or worse,
    so without numba "auto" is "mu"); every other β and the negative binomial run
    multiplicative updates. On torch / array-API data "cd" runs the vectorised path
    (one whole-column update per coordinate), which "auto" does not pick: it reached MU's
    200-iteration KL objective in 1.6-6.7x MU's time on an H200 and not at all within 10 s
    on the CPU (``benchmarks/bench_kl_cd_torch.py``).
    """
    if solver not in SOLVERS:
        raise NMFInputError(f"solver={solver!r} is not known; use one of {', '.join(map(repr, SOLVERS))}")
    spec = as_loss(beta)
    if spec.nb:
        if solver in ("hals", "cd"):
            raise NMFInputError(f"solver={solver!r} does not minimise loss='nb' (negative binomial), which "
                                "runs multiplicative updates: use solver='mu' (or 'auto')")
        return "mu"
    beta = spec.beta
    if solver == "auto":
        if beta == 2:
            return "hals"
        return "cd" if 1 <= beta < 2 and _cd_is_faster(cd_backend) else "mu"
    if solver == "hals" and beta != 2:
        raise NMFInputError(
            f"solver='hals' minimises the Frobenius loss only (beta=2), not beta={beta:g}; "
            "use solver='mu' (or 'auto')"
        )
    if solver == "cd" and (not 1 <= beta < 2 or cd_backend is None):
        what = f"the KL loss only (beta=1) and 1 < beta < 2, not beta={beta:g}" if not 1 <= beta < 2 \
            else "plain and masked NMF (and their restarts) only, not this model"
        hals = "; for beta=2, solver='hals' is exact coordinate descent" if beta == 2 else ""
        raise NMFInputError(f"solver='cd' (coordinate descent) runs for {what}; use solver='mu' (or "
                            f"'auto'){hals}")
    return solver


def _cd_is_faster(backend) -> bool:
    from ..solvers.kl_cd import numba_available

    return backend is not None and getattr(backend, "name", "") == "numpy" and numba_available()


def check_beta_data(t: Target, beta):
    """β <= 0 (Itakura-Saito and below) is undefined at X = 0 (the NB loss is defined there)."""
    beta = as_loss(beta).beta
    if beta > 0:
        return
    b = t.backend
    if t.sparse:
        zeros = t.shape[0] * t.shape[1] - t.info.data.size + int((t.info.data == 0).sum())
    else:
        zero = t.X == 0
        if t.M is not None:
            zero = zero & (t.M > 0)
        zeros = int(b.item(b.sum(zero)))
    if zeros:
        raise NMFInputError(
            f"X has {zeros} zero entries but loss beta={beta:g} <= 0 (Itakura-Saito) is undefined at "
            "X = 0; add a small offset (X + eps), mark them missing, or use loss='kl'"
        )


def nmf_terms(target: Target, beta) -> list:
    """The declaration of (masked) NMF: one term ``D(X | W H)`` (weights 0 = missing):
    ``D_β`` for a β, the NB divergence (:class:`~nmfkit.losses.NBTerm`) for a concrete
    negative-binomial :class:`~nmfkit.losses.LossSpec`."""
    return as_loss(beta).terms(target, "W", "H")


def stack(backend: Backend, arrays):
    """Factors of R restarts as one stack with a leading restart axis."""
    return backend.stack(list(arrays))


def run_nmf(target: Target, W0s, H0s, *, beta, solver, penalty, options: LoopOptions,
            accelerate=False, update_H: bool = True):
    """Run (masked) NMF from R starts at once on the engine; returns ``(LoopOutcome, step)``.

    ``W0s`` and ``H0s`` are sequences of R starting factors (or stacks (R, ·, ·));
    ``beta`` a β or a concrete :class:`~nmfkit.losses.LossSpec`.
    """
    b = target.backend
    state = {"W": stack(b, W0s), "H": stack(b, H0s)}
    return run_terms(nmf_terms(target, beta), state, b, solver=solver, options=options,
                     blocks=("W", "H") if update_H else ("W",), penalties=penalties_of(penalty),
                     accelerate=accelerate)


@dataclass
class FitOutput:
    W: Any
    H: Any
    outcome: Any
    beta: float  # the β (1 for the negative binomial; its α is in ``loss``)
    solver: str
    penalty: Penalty
    target: Target
    divergence: float
    loss_before_refine: Any = None
    n_steps: int = 0  # inner solver steps (extrapolation: a failed iteration runs two)
    n_failed: int = 0  # discarded extrapolated steps
    loss: Any = None  # the LossSpec fitted (concrete: NB with its α)
    info: dict = field(default_factory=dict)  # extra entries for the result's info


def has_exact_projection(target: Target, beta) -> bool:
    """Whether :func:`project` solves the codes exactly (to round-off, KKT conditions met).

    Frobenius without element weights (one batched NNLS) and KL with or without
    element weights (projected Newton, :func:`nmfkit.solvers.kl_codes.kl_codes`, to a
    scaled KKT residual of 1e-10). The negative binomial, other β and weighted
    Frobenius are iterative.
    """
    spec = as_loss(beta)
    if spec.nb:
        return False
    return target.M is None if spec.beta == 2 else spec.beta == 1


def resolve_accelerate(accelerate, solver: str, target: Target) -> bool:
    """``accelerate="auto"``: extrapolation for HALS without element weights and for KL
    coordinate descent (where the loss of each step comes free from its products);
    otherwise as given."""
    if accelerate == "auto":
        return (solver == "hals" and target.M is None) or solver == "cd"
    if not isinstance(accelerate, (bool, np.bool_)):
        raise NMFInputError(f"accelerate={accelerate!r} must be 'auto', True or False")
    return bool(accelerate)


def fit_factors(target: Target, W0, H0, *, beta, solver, penalty, options: LoopOptions,
                refine_W: bool = False, accelerate=False) -> FitOutput:
    """Run the chosen solver from ``(W0, H0)``; return factors in the fixed gauge.

    With ``refine_W`` and an exact projection available (:func:`has_exact_projection`:
    Frobenius without element weights, and KL), ``W`` is finally replaced by the exact
    minimiser for the final ``H`` (:func:`project`, what ``transform`` computes): the
    objective can only decrease, and ``W`` then satisfies the KKT conditions of its
    sub-problem to round-off. The objective of the returned factors replaces the last
    ``loss_history`` entry (the objective at the loop's own ``W`` is kept in
    ``FitOutput.loss_before_refine``). For Frobenius it costs one product with ``X`` and
    a batched k × k NNLS, about one iteration; for KL the NNLS start, 5 multiplicative
    sweeps and a few batched Newton iterations (a 200-iteration KL fit on the bundled
    counts took 1.15–1.18× as long with it, ``benchmarks/bench_kl_transform.py``). Other
    losses (NB, other β) keep the loop's ``W``.
    """
    spec = as_loss(beta)
    check_beta_data(target, spec)
    acc = resolve_accelerate(accelerate, solver, target)
    if options.callback is not None:  # the public callback(n_iter, W, H, loss) of one fit
        user = options.callback
        options = replace(options, callback=lambda it, state, losses: user(
            it, state["W"][0], state["H"][0], float(losses[0])))
    loop, step = run_nmf(target, [W0], [H0], beta=spec, solver=solver, penalty=penalty,
                         options=options, accelerate=acc)
    outcome = loop.restart(0)
    steps = (int(step.n_steps[0]) if acc else outcome.n_iter,
             int(step.n_failed[0]) if acc else 0)
    b = target.backend
    W, H = fix_gauge(outcome.blocks["W"], outcome.blocks["H"], b, normalise=not penalty.any)
    divergence = spec.divergence(target, W, H)
    loss_before_refine = None
    if refine_W and has_exact_projection(target, spec):
        W_new = project(target, H, beta=spec, penalty=penalty)
        W_new, H_new = fix_gauge(W_new, H, b, normalise=False)  # the order only
        div_new = spec.divergence(target, W_new, H_new)
        before = divergence + (penalty.value(W, H, b) if penalty.any else 0.0)
        after = div_new + (penalty.value(W_new, H_new, b) if penalty.any else 0.0)
        # exact up to round-off; keep the loop's W in the (pathological) case it was better
        if after <= before * (1.0 + 1e-6) + 1e-300:
            W, H, divergence, loss_before_refine = W_new, H_new, div_new, before
            outcome = replace(outcome, blocks={"W": W, "H": H}, loss=after,
                              loss_history=outcome.loss_history[:-1] + (after,))
    return FitOutput(W, H, outcome, spec.beta, solver, penalty, target, divergence,
                     loss_before_refine, *steps, loss=spec)


def fit_result(out, labels=None) -> NMFResult:
    """The :class:`~nmfkit.NMFResult` of a :class:`FitOutput` (DataFrames with ``labels``)."""
    o = out.outcome
    W, H = out.W, out.H
    if labels is not None and labels[0] is not None:
        import pandas as pd

        names = component_names("nmf", H.shape[0])
        W = pd.DataFrame(W, index=labels[0], columns=names)
        H = pd.DataFrame(H, index=names, columns=labels[1])
    info = {
        "loss_iters": o.loss_iters,
        "divergence": out.divergence,
        "reconstruction_err": float(np.sqrt(2.0 * max(out.divergence, 0.0))),
        "penalty": out.penalty.__dict__.copy(),
        "W_refined": out.loss_before_refine is not None,
        "loss_before_refine": out.loss_before_refine,
        "n_steps": out.n_steps,
        "n_failed_extrapolations": out.n_failed,
        **out.info,
    }
    return NMFResult(W=W, H=H, loss=o.loss_history[-1], loss_history=o.loss_history,
                     n_iter=o.n_iter, converged=o.converged, stop_reason=o.stop_reason,
                     elapsed=o.elapsed, beta=out.beta, solver=out.solver, info=info)


def fix_gauge(W, H, backend: Backend, normalise: bool = True):
    """Rows of H sum to 1 (scale moved into W) and components ordered by total mass.

    The mass of component j is ``Σ_i W_ij · Σ_f H_jf``, its share of ``Σ W H``.
    With penalties the scale is not free (it changes the penalty), so only the
    order is fixed (:func:`nmfkit.models._dense.gauge` with a unit scale).
    """
    scale = None if normalise else backend.ones((H.shape[0],), H.dtype)
    W, H, _, _ = gauge(W, H, backend, scale)
    return W, H


def project(target: Target, H, *, beta, penalty: Penalty, max_iter: int = 500,
            tol: float = 1e-6, R=None, W0=None):
    """The codes ``W >= 0`` minimising ``D(X | W H) + W-penalties`` with H fixed.

    ``beta`` is a β or a concrete :class:`~nmfkit.losses.LossSpec` (the negative
    binomial with its α). Frobenius without missing entries: an exact NNLS solve (one
    product ``H Xᵀ``, one Gram ``H Hᵀ`` and batched block principal pivoting). KL
    (β = 1), with or without element weights: exact too
    (:func:`nmfkit.solvers.kl_codes.kl_codes`, projected Newton on all rows at once to a
    scaled KKT residual of 1e-10, from ``W0`` or the Frobenius solution; ``max_iter``
    and ``tol`` do not apply). It is NumPy code: torch / CuPy / array-API data are
    copied to the host for it and the codes copied back in ``H``'s namespace. Features
    with an all-zero column of ``H`` and positive counts cannot be reconstructed and
    are left out of the KL objective with a ``RuntimeWarning``. Other losses
    (the negative binomial included) and weighted Frobenius data: multiplicative updates
    (HALS for Frobenius) iterated to convergence (relative decrease ``tol``), starting
    from ``W0`` when given (strictly positive), else from the Frobenius solution.
    """
    b = target.backend
    k = H.shape[0]
    spec = as_loss(beta)
    exact = has_exact_projection(target, spec)
    kl = exact and spec.beta == 1
    if W0 is None or (exact and not kl):
        if R is None:
            R = b.contiguous((target.X @ H.T).T)  # H Xᵀ, k x m (as (X Hᵀ)ᵀ: faster GEMM shape)
        W = nnls_codes(H, R, l1=penalty.l1_W, l2=penalty.l2_W)  # solved on X's device
        if exact and not kl:
            return W
    else:
        W = b.asarray(W0, dtype=H.dtype) + 0  # a copy: the loop updates it in place
    check_beta_data(target, spec)
    # a strictly positive start: multiplicative updates cannot leave exact zeros
    floor = max(float(b.item(b.sum(W))) / max(W.shape[0] * k, 1), 1e-12) * 1e-2
    W = b.clamp_min_(W, floor)
    if kl:  # on the host (scipy.sparse or NumPy); other namespaces copied there and back
        X = target.X if target.sparse else b.to_numpy(target.X)
        M = None if target.M is None else b.to_numpy(target.M)
        Wk = kl_codes(X, b.to_numpy(H), M=M, W0=b.to_numpy(W), l1=penalty.l1_W, l2=penalty.l2_W)
        return b.cast_like(b.from_numpy(Wk), H)
    solver = "hals" if spec.beta == 2 and not spec.nb else "mu"
    options = LoopOptions(max_iter=max_iter, tol=tol, loss_every=1 if solver == "hals" else 10,
                          warn=False, desc="transform")
    loop, _ = run_nmf(target, [W], [H], beta=spec, solver=solver, penalty=penalty,
                      options=options, update_H=False)
    return b.contiguous(loop.state["W"][0])
