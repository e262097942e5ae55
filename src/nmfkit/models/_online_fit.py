"""What ``MiniBatchNMF``'s fit runs on: rows in memory or in a source, the start, the epoch
step and the pass that solves the codes of every row.

``EpochStep`` is the step the one loop (:func:`nmfkit.solvers.run`) iterates: one
mini-batch per call, with the loss check at each epoch's end.
"""

from __future__ import annotations

import os

import numpy as np

from .._rowblocks import RowSource
from ..backends import NumpyBackend, is_dask_array
from ..exceptions import NMFInputError
from ..init import initialize
from ..losses import Penalty, Target, Term
from ..solvers import BlockPenalty
from ..solvers.hals import penalty_values
from ..solvers.online import OnlineNMF
from ._core import project

__all__ = ["Rows", "EpochStep", "codes_rows", "is_row_source", "start_H"]


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
    return isinstance(X, (str, os.PathLike, RowSource)) or is_dask_array(X)


class EpochStep:
    """One mini-batch per call of the loop; the loop's loss check falls at each epoch's end.

    The epoch objective is the sum of the batches' objectives at their codes (before
    each ``H`` update) plus the ``H`` penalty, scaled to all rows when the epoch was cut
    short: an estimate of the full objective that costs nothing extra.
    """

    def __init__(self, online: OnlineNMF, rows: Rows, W, batch_size, rng, shuffle: bool,
                 penalty: Penalty):
        self.o, self.rows, self.W = online, rows, W
        n = rows.shape[0]
        self.starts = np.arange(0, n, batch_size)
        self.batch_size, self.rng, self.shuffle = batch_size, rng, shuffle
        self.seen = np.zeros(self.starts.size, dtype=bool)
        self.penalty_H = BlockPenalty(penalty.l1_H, penalty.l2_H)
        self.order, self.pos = None, 0
        self.loss_sum, self.rows_done = 0.0, 0

    def _next(self, state):
        if self.order is None or self.pos == self.order.size:
            self.order = self.rng.permutation(self.starts.size) if self.shuffle \
                else np.arange(self.starts.size)
            self.pos, self.loss_sum, self.rows_done = 0, 0.0, 0
            self.o.new_epoch(state)
        i = int(self.order[self.pos])
        self.pos += 1
        return i

    def __call__(self, state, idx=None, want_loss=False):
        i = self._next(state)
        n = self.rows.shape[0]
        s = int(self.starts[i])
        e = min(n, s + self.batch_size)
        target = self.rows.batch(s, e)
        W0 = self.W[s:e][None, ...] if self.seen[i] else None
        frac = (self.rows_done + e - s) / n
        Wb, loss = self.o.step(state, target, 1.0, W0, replace=True, fraction=frac)
        self.W[s:e] = Wb[0]
        self.seen[i] = True
        self.loss_sum += loss
        self.rows_done += e - s
        return np.array([self.estimate(state)]) if want_loss else None

    def estimate(self, state) -> float:
        n = self.rows.shape[0]
        if self.rows_done == 0:
            return float("inf")
        pen = float(penalty_values(state["H"], self.penalty_H, self.rows.backend)[0])
        return self.loss_sum * n / self.rows_done + pen


def start_H(rows: Rows, k: int, init: str, H, rng, batch_size: int):
    """``H`` from ``init`` on the first batch (or ``H`` itself for ``init="custom"``)."""
    first = rows.batch(0, min(rows.shape[0], max(batch_size, k)))
    b = rows.backend
    if init == "custom":
        if H is None:
            raise NMFInputError("init='custom' needs H= (n_components x n_features) in fit")
    elif H is not None:
        raise NMFInputError("H= is used only with init='custom'; set init='custom' or drop H")
    X0 = first.MX
    if first.M is None and min(X0.shape) < k and init not in ("random", "custom"):
        init = "random"  # an SVD start needs at least k rows and columns
    _, H0 = initialize(X0, k, init, backend=b, dtype=rows.dtype, weights=first.M, random_state=rng,
                       W=None if init != "custom" else b.ones((X0.shape[0], k), rows.dtype), H=H)
    return H0


def codes_rows(online: OnlineNMF, rows: Rows, H, batch_size: int, out=None, warm: bool = False):
    """Codes of every row of ``rows`` on ``H`` (k, n), batch by batch, and ``D_β`` at them.

    Frobenius without missing entries: the exact NNLS. Otherwise, cold (``transform``):
    :func:`~nmfkit.models._core.project`, what ``NMF.transform`` computes: for KL the
    exact codes (:func:`~nmfkit.solvers.kl_codes.kl_codes`; positive counts on features
    whose column of ``H`` is all zero, which online fits can produce, are left out of
    that solve with a ``RuntimeWarning``), for other β multiplicative updates to a
    relative decrease of 1e-5. Warm (the end of ``fit``): the fit's own codes in ``out``
    refined by the training's code steps at the final ``H`` (one pass costing about an
    epoch, where a converged multiplicative solve costs tens of passes), so for KL
    ``fit_transform`` agrees with ``transform`` to the solvers' tolerance, not to
    round-off.
    """
    b = rows.backend
    n = rows.shape[0]
    W = b.zeros((n, H.shape[0]), H.dtype) if out is None else out
    total = 0.0
    Hs = H[None, ...]
    for s in range(0, n, batch_size):
        e = min(n, s + batch_size)
        target = rows.batch(s, e)
        if online.exact(target) or warm:  # the engine's codes, with their objective
            Wb, loss = online.codes(target, Hs, None if online.exact(target) else W[s:e][None, ...])
            div = loss - float(penalty_values(Wb, online.pW, b)[0])
        else:
            pen = Penalty(l1_W=online.pW.l1, l2_W=online.pW.l2)
            Wb = project(target, H, beta=online.beta, penalty=pen, tol=1e-5)[None, ...]
            div = float(Term(target, online.beta, 1.0, "W", "H").divergences({"W": Wb, "H": Hs})[0])
        W[s:e] = b.cast_like(Wb[0], H)
        total += div
    return W, total
