"""The one iteration loop every solver runs in.

It owns stopping (relative decrease ``tol``, ``max_iter``, ``max_time``), the loss
history, the progress bar, callbacks and the stop reason. A solver provides
``step(W, H) -> (W, H, loss_or_None)``: one outer iteration, returning the objective
when it comes for free from products it computed, else ``None`` (the loop then asks
``objective(W, H)`` on the iterations where the loss is checked).
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Optional

from ..exceptions import ConvergenceWarning

__all__ = ["LoopOptions", "LoopOutcome", "NO_PROGRESS", "run"]


class _NoProgress:
    def __repr__(self):
        return "NO_PROGRESS"


#: What a step returns as its loss when it discarded its own result and handed back
#: the previous iterate (a rejected extrapolation): the iteration counts, but no loss
#: is recorded and no convergence test is made on it.
NO_PROGRESS = _NoProgress()


@dataclass
class LoopOptions:
    """Stopping and reporting options of :func:`run`.

    Parameters
    ----------
    max_iter : int
        Most outer iterations.
    tol : float
        Stop when ``(L_prev - L) / |L_prev| < tol`` between two loss checks (``0``
        runs ``max_iter`` iterations).
    tol_mode : {"decrease", "change"}
        ``"change"`` tests ``|L_prev - L| / |L_prev| < tol`` instead: for objectives that
        are not monotone along the iterations (the contrastive model, whose background
        codes move towards their best fit and so raise ``L``), a rise is not convergence.
    tol_scale : callable or None
        ``tol_scale()`` gives the denominator of the relative change in place of
        ``|L_prev|`` (for an objective that is a difference of terms and can be near 0,
        the size of its terms).
    max_time : float or None
        Stop after this many seconds (checked after every iteration).
    loss_every : int
        Check the loss every this many iterations (and at the last one); a step
        that returns its loss is recorded every iteration regardless.
    verbose : int
        ``0`` silent; ``>= 1`` a tqdm progress bar (on a terminal only).
    callback : callable or None
        ``callback(n_iter, W, H, loss)`` after each loss check; returning ``True``
        stops the loop.
    warn : bool
        Emit :class:`~nmfkit.exceptions.ConvergenceWarning` when stopped by
        ``max_iter`` with ``tol > 0``.
    desc : str
        Label of the progress bar.
    """

    max_iter: int = 200
    tol: float = 1e-4
    tol_mode: str = "decrease"
    tol_scale: Optional[Callable] = None
    max_time: Optional[float] = None
    loss_every: int = 1
    verbose: int = 0
    callback: Optional[Callable] = None
    warn: bool = True
    desc: str = "nmf"


@dataclass
class LoopOutcome:
    W: Any
    H: Any
    loss: float
    loss_history: tuple
    loss_iters: tuple
    n_iter: int
    converged: bool
    stop_reason: str
    elapsed: float


def _progress(options: LoopOptions):
    if not options.verbose:
        return None
    from tqdm.auto import tqdm

    # disable=None: tqdm turns itself off when stderr is not a terminal
    return tqdm(total=options.max_iter, desc=options.desc, disable=None, leave=False)


def run(step: Callable, objective: Callable, W, H, options: LoopOptions,
        initial_loss: Optional[float] = None) -> LoopOutcome:
    """Iterate ``step`` from ``(W, H)`` until a stopping rule fires.

    Returns
    -------
    LoopOutcome
        Final factors, the loss history (entry 0 at the start) with the iteration
        of each entry, the stop reason and the elapsed time.
    """
    start = time.perf_counter()
    loss = objective(W, H) if initial_loss is None else initial_loss
    history, iters = [loss], [0]
    last_checked = loss
    bar = _progress(options)
    reason, converged, n_iter, step_loss = "max_iter", False, 0, None
    try:
        for n_iter in range(1, options.max_iter + 1):
            W, H, step_loss = step(W, H)
            if step_loss is NO_PROGRESS:
                if bar is not None:
                    bar.update(1)
                if options.max_time is not None and time.perf_counter() - start >= options.max_time:
                    reason = "max_time"
                    break
                continue
            check = n_iter % options.loss_every == 0 or n_iter == options.max_iter
            if step_loss is not None:
                loss = step_loss
            elif check:
                loss = objective(W, H)
            if step_loss is not None or check:
                history.append(loss)
                iters.append(n_iter)
            if bar is not None:
                bar.update(1)
                if check:
                    bar.set_postfix(loss=f"{loss:.6g}", refresh=False)
            if not math.isfinite(loss):
                reason = "nonfinite"
                break
            if check:
                if options.callback is not None and options.callback(n_iter, W, H, loss):
                    reason = "callback"
                    break
                if options.tol > 0:
                    decrease = last_checked - loss
                    if options.tol_mode == "change":
                        decrease = abs(decrease)
                    scale = abs(last_checked) if options.tol_scale is None else options.tol_scale()
                    if decrease / max(scale, 1e-300) < options.tol:
                        reason, converged = "tol", True
                        break
                last_checked = loss
            if options.max_time is not None and time.perf_counter() - start >= options.max_time:
                reason = "max_time"
                break
    finally:
        if bar is not None:
            bar.close()
    if iters[-1] != n_iter and n_iter > 0 and step_loss is not NO_PROGRESS:
        loss = objective(W, H)
        history.append(loss)
        iters.append(n_iter)
    elapsed = time.perf_counter() - start
    if options.warn and reason == "max_iter" and options.tol > 0:
        warnings.warn(
            f"{options.desc}: stopped at max_iter={options.max_iter} before the relative "
            f"decrease fell below tol={options.tol:g}; raise max_iter or tol",
            ConvergenceWarning,
            stacklevel=3,
        )
    if reason == "nonfinite":
        warnings.warn(
            f"{options.desc}: the objective became {loss} at iteration {n_iter}; "
            "check the input scale or use a different solver",
            ConvergenceWarning,
            stacklevel=3,
        )
    return LoopOutcome(W, H, loss, tuple(history), tuple(iters), n_iter, converged, reason, elapsed)
