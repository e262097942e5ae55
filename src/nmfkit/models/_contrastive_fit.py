"""Validation and the restart driver of background-contrastive NMF (no update math).

Kept apart from :mod:`nmfkit.models.contrastive` (the public estimator and function)
so both stay small. The update steps live in :mod:`nmfkit.solvers.contrastive`.
"""

from __future__ import annotations

import numbers
import time
import warnings
from dataclasses import dataclass, replace
from typing import Any, Optional

import numpy as np

from .._validation import check_data, check_n_components, check_nonneg_float
from ..backends import get_namespace
from ..backends._random import check_random_state
from ..exceptions import ConvergenceWarning, NMFInputError
from ..losses import Penalty
from ..solvers import LoopOptions, run
from ..solvers.contrastive import (
    ContrastiveProblem,
    ContrastiveStep,
    MiniBatchContrastiveStep,
    start_codes,
)
from ._base import COMMON, NONNEG_FLOAT, POSITIVE_INT, ModelSpec, Param, validate_params
from ._contrastive_diagnostics import (  # noqa: F401  (enrichment, trivial_divergence re-exported)
    KL_DEGENERATE,
    enrichment,
    order_by_enrichment,
    trivial_divergence,
)
from ._contrastive_preprocess import check_preprocess
from ._core import build_target, has_exact_projection, project

__all__ = ["check_pair", "check_params", "fit_pair", "PairOptions", "CONTRASTIVE_PARAMS", "enrichment", "PairFit", "trivial_divergence",
           "KL_DEGENERATE", "zero_unobserved_rows",
           "background_argument", "start_state", "evaluate_run"]

_LOSSES = {2.0: "frobenius", 1.0: "kl"}


def _basis_floor(value, name, spec):
    check_nonneg_float(value, name)
    if not 0 < value < 1e-2:
        raise NMFInputError(
            f"{name}={value!r} must be in (0, 0.01): it bounds the basis entries "
            "(rows sum to 1) away from 0; the default 1e-10 suits almost any data"
        )
    return float(value)


def check_n_shared(value, name: str = "n_background_components", spec=None) -> int:
    """The number of background programs: an integer >= 0."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 0:
        raise NMFInputError(
            f"{name}={value!r} must be an integer >= 0 (0: no background programs, the plain "
            "contrastive model)"
        )
    return int(value)


#: ContrastiveNMF's own parameters (the shared ones are in :data:`nmfkit.models._base.COMMON`).
CONTRASTIVE_PARAMS = {
    "alpha": NONNEG_FLOAT,
    "n_restarts": POSITIVE_INT,
    "basis_floor": Param(_basis_floor),
    "n_background_components": Param(check_n_shared),
    "preprocess": Param(check_preprocess),
}
#: The betas the contrastive model supports.
CONTRASTIVE_LOSSES = (2.0, 1.0)


def check_params(*, alpha, loss, n_restarts, max_iter, tol, max_time, batch_size, basis_floor,
                 handle_missing, verbose) -> float:
    """Validate the scalar parameters (by the tables of ContrastiveNMF); return the β (2 or 1)."""
    values = dict(alpha=alpha, loss=loss, n_restarts=n_restarts, max_iter=max_iter, tol=tol,
                  max_time=max_time, batch_size=batch_size, basis_floor=basis_floor,
                  handle_missing=handle_missing, verbose=verbose)
    spec = ModelSpec("ContrastiveNMF", CONTRASTIVE_LOSSES)
    return validate_params({**COMMON, **CONTRASTIVE_PARAMS}, values, spec)["loss"]


def check_pair(X, Y, *, allow_nan: bool = True):
    """Validate target and background; same feature count (and labels for two DataFrames).

    Both end in one float dtype: float32 when both are float32, else float64.
    """
    dX = check_data(X, name="X_target", allow_nan=allow_nan)
    dY = check_data(Y, name="X_background", allow_nan=allow_nan)
    try:
        same = get_namespace(dX.values, dY.values).name == dX.backend.name == dY.backend.name
    except NMFInputError:
        same = False
    if not same:
        raise NMFInputError(
            "X_target and X_background are different array types or on different devices; pass "
            "both as NumPy/pandas/SciPy data or both as torch tensors on one device"
        )
    mX, mY = dX.shape[1], dY.shape[1]
    if mX != mY:
        raise NMFInputError(
            f"X_target has {mX} features but X_background has {mY}; the two datasets must share "
            "their features (columns) in the same order: select the common features of both"
        )
    if dX.columns is not None and dY.columns is not None:
        cx, cy = list(map(str, dX.columns)), list(map(str, dY.columns))
        if cx != cy:
            if set(cx) == set(cy):
                fix = "reorder the background with X_background[X_target.columns]"
            else:
                diff = sorted(set(cx) ^ set(cy))[:3]
                fix = f"they differ in e.g. {diff}; keep the common columns in one order"
            raise NMFInputError(
                f"X_target and X_background have different column labels; {fix}"
            )
    if dX.values.dtype != dY.values.dtype:
        dX = check_data(X, name="X_target", allow_nan=allow_nan, dtype=np.float64)
        dY = check_data(Y, name="X_background", allow_nan=allow_nan, dtype=np.float64)
    return dX, dY


@dataclass
class PairFit:
    W_X: Any
    W_Y: Any
    H: Any
    loss: float
    target_loss: float
    background_loss: float
    enrichment: np.ndarray
    loss_history: tuple
    loss_iters: tuple
    n_iter: int
    converged: bool
    stop_reason: str
    elapsed: float
    restart_losses: np.ndarray
    restart_valid: np.ndarray
    seeds: np.ndarray
    best: int
    beta: float
    loss_before_refine: Optional[float] = None
    n_shared: int = 0  # leading rows of H (and columns of W_X, W_Y): the background programs
    shared_loss: Optional[float] = None  # D(Y | W H_shared) / E_Y of the background-only fit


def shared_programs(dY, n_shared: int, *, beta: float, basis_floor: float, max_iter: int,
                    tol: float, max_time, seed: int, verbose: int):
    """The background programs: an NMF of the background alone (same loss), rows summing to one.

    It runs under the contrastive fit's ``max_iter`` and ``tol`` (looser stopping
    measurably lowers the subtype ARI at β = 16 of the count simulation).

    Returns ``(H_shared, D_Y)``: the basis floored at ``basis_floor`` and the
    background's divergence on it divided by ``E_Y``.
    """
    from .nmf import FitSpec, _fit

    from ..solvers import raise_interrupts

    spec = FitSpec(n_shared, loss=_LOSSES[beta], max_iter=max_iter, tol=tol, max_time=max_time,
                   alpha_H=0.0, random_state=seed, verbose=verbose, refine_W=False)
    # Ctrl-C here stops the whole fit (KeyboardInterrupt): a contrastive basis needs the
    # background programs, so there is nothing consistent to return and no restart to run
    with raise_interrupts():
        out = _fit(dY, spec)
    b = out.target.backend
    H = b.clamp_min_(out.H, basis_floor)  # rows sum to one (fix_gauge), then the floor
    return b.contiguous(H), out.divergence


def _loop_callback(callback):
    """The loop's ``callback(n_iter, state, losses)`` as the public
    ``callback(n_iter, (W_X, W_Y), H, loss)`` of the first restart."""
    if callback is None:
        return None

    def cb(n_iter, state, losses):
        loss = None if losses is None else float(np.asarray(losses).reshape(-1)[0])
        return callback(n_iter, (state["W_X"][0], state["W_Y"][0]), state["H"][0], loss)

    return cb


def start_state(problem, seeds, K, H_shared, dtype):
    """Random starts of every restart, stacked on the restart axis (background programs
    as the first rows of every basis)."""
    b = problem.backend
    starts = [start_codes(problem.X.shape, problem.Y.shape, K, np.random.default_rng(int(s)), b,
                          dtype) for s in seeds]
    state = {name: b.stack([st[i] for st in starts]) for i, name in enumerate(("W_X", "W_Y", "H"))}
    if H_shared is not None:
        state["H"][:, : H_shared.shape[0]] = H_shared
    return state


def _run_restarts(problem, seeds, K, H_shared, batch_size, options, dtype) -> list:
    """Full batch: all restarts as one batched computation; mini-batch: one by one (each
    has its own batch order), sharing ``options.max_time``."""
    if batch_size is None:
        state = start_state(problem, seeds, K, H_shared, dtype)
        out = run(ContrastiveStep(problem), state, options, problem.objective)
        return [out.restart(r) for r in range(len(seeds))]
    outs, start = [], time.perf_counter()
    for seed in seeds:
        used = time.perf_counter() - start
        remaining = None if options.max_time is None else max(options.max_time - used, 0.0)
        if remaining is not None and remaining <= 0 and outs:
            break
        step = MiniBatchContrastiveStep(problem, batch_size, np.random.default_rng(int(seed) + 1))
        state = start_state(problem, [seed], K, H_shared, dtype)
        out = run(step, state, replace(options, max_time=remaining), problem.objective)
        outs.append(out.restart(0))
        if out.stop_reason[0] == "interrupted":  # Ctrl-C: no further restart
            break
    return outs


def evaluate_run(problem, o, refine: bool, limit_X: float):
    """A restart's final codes (exact best fits where available), its terms and validity."""
    b = problem.backend
    W_X, W_Y, H = o.blocks["W_X"], o.blocks["W_Y"], o.blocks["H"]
    before = None
    tX, tY = problem.X, problem.Y
    if refine and has_exact_projection(tX, problem.beta) and has_exact_projection(tY, problem.beta):
        # exact best-fit codes of both datasets for the final basis
        W_X = project(tX, H, beta=problem.beta, penalty=Penalty())
        W_Y = project(tY, H, beta=problem.beta, penalty=Penalty())
        before = o.loss
    state = {"W_X": W_X[None, ...], "W_Y": W_Y[None, ...], "H": H[None, ...]}
    term_X, term_Y = problem.terms()
    dXn = float(term_X.divergences(state)[0]) / problem.E_X
    dYn = float(term_Y.divergences(state)[0]) / problem.E_Y
    loss = dXn - problem.alpha * dYn
    finite = all(np.isfinite(v) for v in (loss, dXn, dYn)) and all(
        bool(np.isfinite(b.to_numpy(A)).all()) for A in (W_X, W_Y, H))
    return (o, W_X, W_Y, H, loss, dXn, dYn, before, finite and dXn < limit_X)


@dataclass(frozen=True)
class PairOptions:
    """The options of :func:`fit_pair` (one contrastive fit with its restarts)."""

    alpha: float
    beta: float
    n_restarts: int = 4
    max_iter: int = 1000
    tol: float = 1e-5
    max_time: Optional[float] = None
    batch_size: Optional[int] = None
    basis_floor: float = 1e-10
    random_state: Any = None
    verbose: int = 0
    loss_every: Optional[int] = None
    callback: Any = None
    refine: bool = True
    n_shared: int = 0


def fit_pair(dX, dY, k, options: Optional[PairOptions] = None, *, shared=None,
             **kwargs) -> PairFit:
    """Run ``n_restarts`` fits; keep the best non-degenerate one (see ContrastiveNMF Notes).

    ``options`` is a :class:`PairOptions`; its fields may instead be passed as keyword
    arguments (``fit_pair(dX, dY, k, alpha=..., beta=..., ...)``).
    With ``n_shared > 0`` an NMF of the background alone first learns ``n_shared``
    background programs (or ``shared = (H_shared, divergence)`` of
    :func:`shared_programs` is reused); they are the first, fixed rows of the basis of
    every restart.
    """
    if options is None:
        options = PairOptions(**kwargs)
    elif kwargs:
        raise TypeError("fit_pair: pass the options either as a PairOptions or as keywords")
    o = options
    n_shared = check_n_shared(o.n_shared)
    k = check_n_components(k, (min(dX.shape[0], dY.shape[0]), dX.shape[1]))
    if n_shared:
        check_n_components(k + n_shared, (min(dX.shape[0], dY.shape[0]), dX.shape[1]))
    tX, tY = build_target(dX), build_target(dY)
    problem = ContrastiveProblem.build(tX, tY, o.alpha, o.beta, o.basis_floor, n_fixed=n_shared)
    if problem.E_Y <= 0:
        raise NMFInputError("X_background has no positive observed entry; nothing to contrast")
    rng = check_random_state(o.random_state)
    seeds = rng.integers(0, 2**31 - 1, size=o.n_restarts)
    start = time.perf_counter()
    H_shared, shared_loss = _background_programs(dY, problem, o, n_shared, shared, rng)
    loop = LoopOptions(max_iter=o.max_iter, tol=o.tol, max_time=o.max_time,
                       loss_every=10 if o.loss_every is None else o.loss_every,
                       verbose=o.verbose, callback=_loop_callback(o.callback), warn=False,
                       desc=f"contrastive x{o.n_restarts}",
                       tol_mode="change" if o.batch_size is None else "decrease",
                       tol_scale=problem.tol_scale)
    outs = _run_restarts(problem, seeds, n_shared + k, H_shared, o.batch_size, loop,
                         dX.values.dtype)
    limit_X = 1.0 if o.beta == 2 else KL_DEGENERATE
    runs = [evaluate_run(problem, out, o.refine, limit_X) for out in outs]
    best, losses, valid = _best_run(runs, o)
    out, W_X, W_Y, H, loss, dXn, dYn, before, _ = runs[best]
    b = tX.backend
    W_X, W_Y, H, enr = order_by_enrichment(W_X, W_Y, H, enrichment(W_X, W_Y, tX, tY, b), b,
                                           n_shared)
    history = out.loss_history
    if before is not None:  # the exact best-fit codes replace the loop's last iterate
        history = history[:-1] + (loss,)
    return PairFit(W_X, W_Y, H, float(loss), float(dXn), float(dYn), enr, tuple(map(float, history)),
                   out.loss_iters, out.n_iter, out.converged, out.stop_reason,
                   time.perf_counter() - start, losses, valid, seeds[: len(runs)], best, o.beta,
                   before, n_shared, shared_loss)


def _background_programs(dY, problem, o: "PairOptions", n_shared: int, shared, rng):
    """``(H_shared, D_b / E_Y)``: given (``shared``), learned on the background, or none."""
    if not n_shared:
        return None, None
    if shared is None:
        shared = shared_programs(
            dY, n_shared, beta=o.beta, basis_floor=o.basis_floor, max_iter=o.max_iter, tol=o.tol,
            max_time=o.max_time, seed=int(rng.integers(0, 2**31 - 1)), verbose=o.verbose)
    H_shared, shared_div = shared
    return H_shared, shared_div / problem.E_Y


def _best_run(runs, o: "PairOptions"):
    """The lowest final ``L`` among the non-degenerate restarts (warnings as documented)."""
    losses = np.array([r[4] for r in runs], dtype=float)
    valid = np.array([r[8] for r in runs], dtype=bool)
    if valid.any():
        best = int(np.flatnonzero(valid)[np.argmin(losses[valid])])
    else:
        finite = np.where(np.isfinite(losses), losses, np.inf)
        best = int(np.argmin(finite)) if np.isfinite(finite).any() else 0
        warnings.warn(
            "every ContrastiveNMF restart is degenerate (non-finite, or a target fit no better "
            "than the zero matrix (Frobenius) / a basis on its floor (KL)); lower alpha",
            ConvergenceWarning, stacklevel=4,
        )
    if runs[best][0].stop_reason == "max_iter" and o.tol > 0:
        warnings.warn(
            f"ContrastiveNMF: the best restart stopped at max_iter={o.max_iter} before the "
            f"relative change fell below tol={o.tol:g}; raise max_iter or tol",
            ConvergenceWarning, stacklevel=4,
        )
    return best, losses, valid


def zero_unobserved_rows(fit, dX, dY):
    """All-missing samples get zero codes (nothing observed, nothing explained), as in NMF."""
    from ._rescale import unobserved

    for data, name in ((dX, "W_X"), (dY, "W_Y")):
        gaps = unobserved(data)
        if gaps is not None and gaps[0].size:
            W = getattr(fit, name).copy()
            W[gaps[0], :] = 0.0
            setattr(fit, name, W)
    return fit


def background_argument(X_target, y, X_background):
    """The background of ``fit``: by keyword, or the second positional argument if 2-D.

    A Pipeline passes its labels ``y`` as the second argument of ``fit``; 1-D data is
    never taken as a background.
    """
    if X_background is None:
        X_background = y
    if X_background is None:
        raise NMFInputError(
            "ContrastiveNMF.fit needs a background: call fit(X_target, X_background) (in a "
            "Pipeline: pipe.fit(X, <step>__X_background=Y))"
        )
    shape = getattr(X_background, "shape", None)
    if shape is None:  # a list or another array-like
        shape = np.asarray(X_background).shape
    if len(shape) != 2:
        raise NMFInputError(
            f"ContrastiveNMF.fit got a {len(shape)}-D second argument (shape "
            f"{tuple(shape)}): that is labels y (a Pipeline passes y there), "
            "not a background; pass the background matrix, 2-D with the target's features, "
            "as fit(X_target, X_background=Y) (in a Pipeline: pipe.fit(X, "
            "<step>__X_background=Y))"
        )
    return X_background
