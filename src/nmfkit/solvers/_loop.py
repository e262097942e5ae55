"""The one iteration loop every solver runs in.

It iterates a *step* over a *state*: a dict of named factor blocks, each with a
leading restart axis of length R (R restarts or replicates of one problem computed
together; a single fit is R = 1). It owns stopping (``tol``, ``max_iter``,
``max_time``, Ctrl-C), the loss history, the progress bar, callbacks and the stop
reason, **per restart**: a restart whose stopping rule fired is frozen and leaves the
batch (the step then runs on the rows of the others), the rest go on.

A step is a callable ``step(state, idx, want_loss) -> losses | None`` that updates the
state in place (or puts new arrays into the dict) for the restarts ``idx`` (the dict
it receives holds only those rows when some restarts are frozen) and returns their
objectives when they come free from products it formed, else None (the loop then
calls ``objective(state)`` on the iterations where the loss is checked). A step may
set ``step.no_progress`` (bool per restart of ``idx``): those restarts handed back
their previous point (a rejected extrapolation): the iteration counts, no loss is
recorded and no convergence test is made. A step may have ``prepare(state)``.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from ..backends import get_namespace
from ..exceptions import ConvergenceWarning
from ._interrupt import raising_interrupts, sigint_deferred

__all__ = ["LoopOptions", "LoopOutcome", "SingleFitStep", "run"]


@dataclass
class LoopOptions:
    """Stopping and reporting options of :func:`run`.

    Parameters
    ----------
    max_iter : int
        Most outer iterations.
    tol : float
        Stop a restart when ``(L_prev - L) / |L_prev| < tol`` between two loss checks
        (``0`` runs ``max_iter`` iterations).
    tol_mode : {"decrease", "change"}
        ``"change"`` tests ``|L_prev - L| / scale < tol`` instead: for objectives that
        are not monotone along the iterations (the contrastive model, whose background
        codes move towards their best fit and so raise ``L``), a rise is not convergence.
    tol_scale : callable or None
        ``tol_scale(idx)`` gives, per restart of ``idx``, the denominator of the
        relative change in place of ``|L_prev|`` (for an objective that is a difference
        of terms and can be near 0: the size of its terms).
    max_time : float or None
        Stop every restart after this many seconds (checked after every iteration).
    loss_every : int
        Check the loss every this many iterations (and at the last one); a step that
        returns its loss is recorded every iteration regardless.
    verbose : int
        ``0`` silent; ``>= 1`` a tqdm progress bar on a terminal, else (a log file, a
        pipe) a plain line every few seconds when the run lasts that long.
    callback : callable or None
        ``callback(n_iter, state, losses)`` after each loss check (``losses`` of the
        active restarts); returning ``True`` stops the loop.
    warn : bool
        Emit :class:`~nmfkit.exceptions.ConvergenceWarning` when a single fit stopped
        at ``max_iter`` with ``tol > 0``, or its objective became non-finite.
    desc : str
        Label of the progress bar and the warnings.
    checkpoint : str, os.PathLike or None
        A file (:mod:`nmfkit._checkpoint`) the loop writes its state to, atomically,
        every ``checkpoint_every`` seconds and when Ctrl-C stops it; when the file
        exists at the start, the loop resumes from it (after checking
        ``checkpoint_key``) and reaches the iterates of an uninterrupted run. Deleted
        when the loop ends for any other reason than Ctrl-C.
    checkpoint_every : float
        Seconds between two checkpoints (0: after every iteration).
    checkpoint_key : dict
        JSON-serialisable description of the fit (parameters, data fingerprint) that a
        checkpoint must match to be resumed.
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
    checkpoint: Optional[object] = None
    checkpoint_every: float = 60.0
    checkpoint_key: dict = field(default_factory=dict)


@dataclass
class LoopOutcome:
    """Per-restart outcome of :func:`run` (``single()`` for R = 1 callers)."""

    state: dict
    loss: np.ndarray
    loss_history: list
    loss_iters: list
    n_iter: np.ndarray
    converged: np.ndarray
    stop_reason: list
    elapsed: float

    def restart(self, r: int) -> "RestartOutcome":
        blocks = {k: (v[r, ...] if hasattr(v, "shape") else v[r]) for k, v in self.state.items()}
        return RestartOutcome(blocks, float(self.loss[r]),
                              tuple(self.loss_history[r]), tuple(self.loss_iters[r]),
                              int(self.n_iter[r]), bool(self.converged[r]), self.stop_reason[r],
                              self.elapsed)


@dataclass
class RestartOutcome:
    """One restart's blocks (without the restart axis), history and stop reason."""

    blocks: dict
    loss: float
    loss_history: tuple
    loss_iters: tuple
    n_iter: int
    converged: bool
    stop_reason: str
    elapsed: float


def _progress(options: LoopOptions):
    """A bar on a terminal, else a plain line every few seconds (:class:`nmfkit._progress.Progress`)."""
    if not options.verbose:
        return None
    from .._progress import Progress

    return Progress(options.max_iter, options.desc, True)


def _sub(state, idx, full):
    """The rows ``idx`` of every block (the state itself when every restart is active)."""
    if full:
        return state
    b = get_namespace(*state.values())
    return {k: b.take(v, idx) for k, v in state.items()}


def _put_back(state, sub, idx, full):
    if not full:
        b = get_namespace(*state.values())
        for k, v in sub.items():
            b.put_(state[k], idx, v)


class _Record:
    """Histories and per-restart stopping bookkeeping."""

    def __init__(self, losses, options):
        nR = len(losses)
        self.o = options
        self.hist = [[float(v)] for v in losses]
        self.iters = [[0] for _ in range(nR)]
        self.last = np.array(losses, dtype=np.float64)
        self.active = np.ones(nR, dtype=bool)
        self.n_iter = np.zeros(nR, dtype=int)
        self.stale = np.zeros(nR, dtype=bool)
        self.reason = ["max_iter"] * nR

    def update(self, it, idx, losses, check, skip):
        o = self.o
        scale = None
        if check and o.tol > 0 and o.tol_scale is not None:
            scale = np.asarray(o.tol_scale(idx), dtype=np.float64).reshape(-1)
        for pos, r in enumerate(idx):
            self.stale[r] = skip is not None and bool(skip[pos])
            if (losses is None and not check) or self.stale[r]:
                continue
            loss = float(losses[pos])
            self.hist[r].append(loss)
            self.iters[r].append(it)
            if not math.isfinite(loss):
                self.reason[r], self.active[r] = "nonfinite", False
                continue
            if not check:
                continue
            if o.tol > 0:
                dec = self.last[r] - loss
                if o.tol_mode == "change":
                    dec = abs(dec)
                den = abs(self.last[r]) if scale is None else scale[pos]
                if dec / max(den, 1e-300) < o.tol:
                    self.reason[r], self.active[r] = "tol", False
                    continue
            self.last[r] = loss

    def to_dict(self) -> dict:
        return {"hist": self.hist, "iters": self.iters, "last": self.last.tolist(),
                "active": self.active.tolist(), "n_iter": self.n_iter.tolist(),
                "stale": self.stale.tolist(), "reason": list(self.reason)}

    def restore(self, d: dict) -> None:
        self.hist = [[float(v) for v in h] for h in d["hist"]]
        self.iters = [[int(v) for v in i] for i in d["iters"]]
        self.last = np.array(d["last"], dtype=np.float64)
        self.active = np.array(d["active"], dtype=bool)
        self.n_iter = np.array(d["n_iter"], dtype=int)
        self.stale = np.array(d["stale"], dtype=bool)
        self.reason = list(d["reason"])

    def stop_all(self, reason):
        for r in np.flatnonzero(self.active):
            self.reason[r] = reason
        self.active[:] = False


def run(step, state: dict, options: LoopOptions, objective: Callable,
        initial_losses=None) -> LoopOutcome:
    """Iterate ``step`` over ``state`` until every restart has stopped (module docstring).

    Parameters
    ----------
    step : callable
        ``step(state, idx, want_loss) -> losses | None``.
    state : dict of str -> array
        Factor blocks with a leading restart axis (R, ...). Updated in place.
    options : LoopOptions
    objective : callable
        ``objective(state) -> ndarray (R_sub,)``: the objective of every restart of a
        (sub-)state.
    initial_losses : array of length R, optional
        The objective at the start, if known.

    Returns
    -------
    LoopOutcome
    """
    start = time.perf_counter()
    ck = None
    if options.checkpoint is not None:
        from .._checkpoint import Checkpoints

        ck = Checkpoints(options.checkpoint, options.checkpoint_every, options.checkpoint_key,
                         state, options.desc)
    resume = ck.load(state) if ck is not None else None
    if hasattr(step, "prepare"):
        state = step.prepare(state)
    if resume is not None:
        losses0 = [h[0] for h in resume.record["hist"]]
    else:
        losses0 = objective(state) if initial_losses is None else initial_losses
    losses0 = np.asarray(losses0, dtype=np.float64).reshape(-1)
    if hasattr(step, "start"):
        step.start(losses0)
    nR = losses0.size
    rec = _Record(losses0, options)
    it0 = 0
    if resume is not None:
        rec.restore(resume.record)
        if hasattr(step, "restore_state"):
            step.restore_state(resume.step_state, state)
        it0, start = resume.it, start - resume.elapsed
    bar = _progress(options)
    try:
        with sigint_deferred() as sigint:
            for it in range(it0 + 1, options.max_iter + 1):
                idx = np.flatnonzero(rec.active)
                if idx.size == 0:
                    break
                full = idx.size == nR
                check = it % options.loss_every == 0 or it == options.max_iter
                sub = _sub(state, idx, full)
                losses = step(sub, idx, check)
                skip = getattr(step, "no_progress", None)
                if losses is None and check:
                    losses = objective(sub)
                _put_back(state, sub, idx, full)
                rec.n_iter[idx] = it
                rec.update(it, idx, losses, check, skip)
                if bar is not None:
                    shown = check and losses is not None and len(losses)
                    bar.advance(1, note=f"loss {float(np.min(losses)):.6g}" if shown else "")
                if ck is not None:  # before any stop_all: a resumed run goes on from here
                    ck.maybe_save(it, state, rec, step, start, now=sigint.hit)
                if sigint.hit:  # Ctrl-C during this iteration: stop at its (complete) iterate
                    rec.stop_all("interrupted")
                    break
                if check and options.callback is not None and options.callback(
                        it, state, None if losses is None else np.asarray(losses)):
                    rec.stop_all("callback")
                    break
                if options.max_time is not None and time.perf_counter() - start >= options.max_time:
                    rec.stop_all("max_time")
                    break
    except KeyboardInterrupt:  # a second Ctrl-C, or one raised by a callback: the last iterate
        rec.stop_all("interrupted")
    finally:
        if bar is not None:
            bar.close()
    if ck is not None and "interrupted" not in rec.reason:
        ck.remove()
    if raising_interrupts() and "interrupted" in rec.reason:
        raise KeyboardInterrupt(f"{options.desc}: interrupted at iteration {int(rec.n_iter.max())}")
    _finish(rec, state, objective, nR)
    elapsed = time.perf_counter() - start
    _warn(rec, options, nR)
    return LoopOutcome(state, np.array([h[-1] for h in rec.hist]), [tuple(h) for h in rec.hist],
                       [tuple(i) for i in rec.iters], rec.n_iter,
                       np.array([s == "tol" for s in rec.reason]), rec.reason, elapsed)


def _finish(rec, state, objective, nR):
    """The objective at each restart's last iterate, where it was not recorded."""
    todo = [r for r in range(nR)
            if rec.iters[r][-1] != rec.n_iter[r] and rec.n_iter[r] > 0 and not rec.stale[r]]
    if not todo:
        return
    idx = np.array(todo)
    vals = objective(_sub(state, idx, idx.size == nR))
    for pos, r in enumerate(todo):
        rec.hist[r].append(float(vals[pos]))
        rec.iters[r].append(int(rec.n_iter[r]))


def _warn(rec, options, nR):
    if not options.warn or nR != 1:
        return
    if rec.reason[0] == "max_iter" and options.tol > 0:
        warnings.warn(
            f"{options.desc}: stopped at max_iter={options.max_iter} before the relative "
            f"decrease fell below tol={options.tol:g}; raise max_iter or tol",
            ConvergenceWarning, stacklevel=4,
        )
    if rec.reason[0] == "nonfinite":
        warnings.warn(
            f"{options.desc}: the objective became {rec.hist[0][-1]} at iteration "
            f"{rec.n_iter[0]}; check the input scale or use a different solver",
            ConvergenceWarning, stacklevel=4,
        )



class SingleFitStep:
    """Base of steps for models fitted one restart at a time (convex, semi-NMF, autoencoder).

    A subclass names its blocks in ``blocks`` and implements ``update(**blocks) ->
    (new_blocks, loss_or_None)`` and ``value(**blocks) -> float`` on the blocks without
    the restart axis; this class maps them onto the loop's state (restart axis of 1).
    """

    blocks: tuple = ()

    def __call__(self, state, idx=None, want_loss=False):
        new, loss = self.update(**_first(state, self.blocks))
        for k, v in new.items():
            state[k] = v[None, ...] if hasattr(v, "shape") else [v]
        return None if loss is None else np.array([loss], dtype=np.float64)

    def objective(self, state) -> np.ndarray:
        return np.array([self.value(**_first(state, self.blocks))], dtype=np.float64)

    def state(self, **blocks) -> dict:
        """The loop's state for one restart from blocks without the restart axis."""
        return {k: (v[None, ...] if hasattr(v, "shape") else [v]) for k, v in blocks.items()}


def _first(state, names):
    return {k: (state[k][0, ...] if hasattr(state[k], "shape") else state[k][0]) for k in names}
