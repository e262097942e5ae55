"""What ``MiniBatchNMF``'s fit runs on: rows in memory or in a source, and the epoch step.

``EpochStep`` is the step the one loop (:func:`nmfkit.solvers.run`) iterates: one
mini-batch per call, with the loss check at each epoch's end.
"""

from __future__ import annotations

import os

import numpy as np

from ..backends import NumpyBackend
from ..exceptions import NMFInputError
from ..losses import Penalty, Target
from ..solvers.online import OnlineNMF

__all__ = ["Rows", "EpochStep", "is_row_source", "check_forget", "check_positive"]


def check_forget(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise NMFInputError(f"{name}={value!r} must be a number in (0, 1] (1 keeps all past batches)")
    return float(value)


class Rows:
    """Rows of the data, in memory (a checked target) or in a row source (a file)."""

    def __init__(self, target: Target | None = None, source=None):
        self.target, self.source = target, source
        self.shape = tuple(target.shape if target is not None else source.shape)
        self.backend = target.backend if target is not None else NumpyBackend()
        # a stream of blocks (no random access) is read in order, one pass per epoch
        self.stream = source is not None and not getattr(source, "random_access", True)
        self.batch_size = None
        self._it = None

    @property
    def dtype(self):
        return self.target.X.dtype if self.target is not None else np.dtype(self.source.dtype)

    def batch(self, start: int, stop: int) -> Target:
        if self.target is not None:
            t = self.target
            return Target(t.X[start:stop], None if t.M is None else t.M[start:stop], t.backend)
        if not self.stream:
            return Target(self.source.read(start, stop), None, self.backend)
        if start == 0 or self._it is None:
            self._it = self.source.blocks(self.batch_size)
        at, block = next(self._it)
        if at != start:  # pragma: no cover - the callers read a stream in order
            raise RuntimeError(f"stream read out of order: rows {start} wanted, {at} came")
        return Target(block, None, self.backend)


def is_row_source(X) -> bool:
    """A path, a row source, or a dask array (read chunk by chunk, never loaded whole)."""
    return (isinstance(X, (str, os.PathLike)) or (hasattr(X, "read") and hasattr(X, "blocks"))
            or (type(X).__module__.startswith("dask.") and hasattr(X, "compute")))


class EpochStep:
    """One mini-batch per call of the loop; the loop's loss check falls at each epoch's end.

    The epoch objective is the sum of the batches' objectives at their codes (before
    each ``H`` update) plus the ``H`` penalty, scaled to all rows when the epoch was cut
    short: an estimate of the full objective that costs nothing extra.
    """

    def __init__(self, model, online: OnlineNMF, rows: Rows, W, batch_size, rng,
                 shuffle: bool, penalty: Penalty):
        self.m, self.o, self.rows, self.W = model, online, rows, W
        n = rows.shape[0]
        self.starts = np.arange(0, n, batch_size)
        self.batch_size, self.rng, self.shuffle = batch_size, rng, shuffle
        self.seen = np.zeros(self.starts.size, dtype=bool)
        self.penalty = penalty
        self.order, self.pos = None, 0
        self.epoch_stats = online.solver == "mu"
        self.loss_sum, self.rows_done = 0.0, 0

    def _next(self):
        if self.order is None or self.pos == self.order.size:
            self.order = self.rng.permutation(self.starts.size) if self.shuffle \
                else np.arange(self.starts.size)
            self.pos, self.loss_sum, self.rows_done = 0, 0.0, 0
            if self.epoch_stats:
                self.o.new_epoch(self.state)
        i = int(self.order[self.pos])
        self.pos += 1
        return i

    def __call__(self, state, idx=None, want_loss=False):
        self.state = state
        i = self._next()
        n = self.rows.shape[0]
        s = int(self.starts[i])
        e = min(n, s + self.batch_size)
        target = self.rows.batch(s, e)
        W0 = self.W[s:e][None, ...] if (self.seen[i] and self.W is not None) else None
        frac = (self.rows_done + e - s) / n
        Wb, loss = self.o.step(state, target, 1.0, W0, replace=True, fraction=frac)
        if self.W is not None:
            self.W[s:e] = Wb[0]
        self.seen[i] = True
        self.loss_sum += loss
        self.rows_done += e - s
        return np.array([self.estimate(state)]) if want_loss else None

    def estimate(self, state) -> float:
        n = self.rows.shape[0]
        if self.rows_done == 0:
            return float("inf")
        H = state["H"][0]
        b = self.rows.backend
        pen = 0.0
        if self.penalty.l1_H:
            pen += self.penalty.l1_H * float(b.item(b.sum(H)))
        if self.penalty.l2_H:
            pen += 0.5 * self.penalty.l2_H * b.norm2(H)
        return self.loss_sum * n / self.rows_done + pen


def check_positive(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise NMFInputError(f"{name}={value!r} must be an integer >= 1")
    return int(value)
