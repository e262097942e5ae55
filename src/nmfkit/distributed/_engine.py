"""Client side of the distributed fit: the row blocks, the steps and fault recovery.

The loop (:func:`nmfkit.solvers._loop.run`) drives a step whose state is
``{"H": H (1, k, n_features) on the client, "W": [future of At_b per row block]}``.
One iteration is the engine's own: the W half-step runs the engine's update on every
block where the block lives, the H half-step sums the blocks' products (HALS) or
gradient parts (MU) in a tree and applies the engine's update to ``H`` on the client.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from ..backends import get_namespace, single_threaded_blas
from ..losses import frobenius_values
from ..solvers import BlockPenalty, hals_sweeps, inner_budget, inner_stop, mu_apply, sweep_scales
from ..solvers.hals import penalty_values
from . import _blocks

__all__ = ["Blocks", "DaskHALSStep", "DaskMUStep", "RecoveryWarning"]

#: arrays shared by every block's task travel inside the tasks below this size (bytes)
INLINE_BYTES = 256 * 1024

#: HALS inner-sweep parameters of the single-machine engine (HALSStep's defaults)
INNER_ALPHA, INNER_TOL, MAX_INNER = 0.5, 0.1, 20


class RecoveryWarning(UserWarning):
    """A worker was lost during a distributed fit; it went on from the last checkpoint."""


def lost_errors():
    """The exception types that mean a worker (or the data it held) was lost."""
    import asyncio
    import concurrent.futures

    import distributed
    from distributed.comm.core import CommClosedError

    out = [distributed.scheduler.KilledWorker, CommClosedError, asyncio.CancelledError,
           concurrent.futures.CancelledError, OSError, TimeoutError]
    fce = getattr(distributed.client, "FutureCancelledError", None)
    if fce is not None:
        out.append(fce)
    return tuple(out)


@dataclass
class Blocks:
    """The row blocks of ``X`` on the cluster and the traffic of the client.

    ``make()`` gives one future of a :class:`~nmfkit.losses.Target` per block with
    ``persist`` (the same futures every time: ``X`` stays on the workers; a lost block
    is recomputed by dask from its source), otherwise one :class:`_blocks.BlockReader`
    per block, read from the source inside every task that uses it.
    """

    client: object
    x_chunks: list  # dask.delayed per row block
    m_chunks: list  # dask.delayed per row block, or Nones
    bounds: list  # (r0, r1) per row block
    persist: bool
    shape: tuple
    n_workers: int = 1
    bytes_sent: int = 0
    bytes_received: int = 0
    _held: list = field(default=None, repr=False)

    def make(self):
        if not self.persist:  # read in each task that uses the block (BlockReader)
            return [_blocks.BlockReader(x, m) for x, m in zip(self.x_chunks, self.m_chunks)]
        if self._held is not None:
            return self._held
        from dask import delayed

        build = delayed(_blocks.make_target, pure=False)
        futs = self.client.compute([build(x, m) for x, m in zip(self.x_chunks, self.m_chunks)])
        if self.persist:
            self._held = futs
        return futs

    def reset(self):
        """Forget the held blocks (after a loss: they are rebuilt from the source)."""
        self._held = None

    @property
    def n(self) -> int:
        return len(self.bounds)

    def submit(self, fn, *args, **kw):
        return self.client.submit(fn, *args, pure=False, **kw)

    def map(self, fn, *per_block, shared=()):
        """``fn(block args..., *shared)`` on every block (shared args are futures or small)."""
        return [self.submit(fn, *args, *shared) for args in zip(*per_block)]

    def gather(self, futs):
        out = self.client.gather(futs)
        self.bytes_received += sum(_nbytes(o) for o in out)
        return out

    def broadcast(self, *arrays):
        """Arrays every block's task reads (``H``, ``G``): sent once to every worker.

        Under :data:`INLINE_BYTES` in all they travel inside the tasks instead (one
        copy per block, no extra round trip to scatter them)."""
        size = sum(_nbytes(a) for a in arrays)
        if size <= INLINE_BYTES:
            self.bytes_sent += self.n * size
            return list(arrays)
        futs = self.client.scatter(list(arrays), broadcast=True, hash=False)
        self.bytes_sent += self.n_workers * size
        return futs

    def tree_sum(self, futs, fan_in: int = 4):
        """Element-wise sum of the blocks' tuples, reduced in a tree on the workers."""
        while len(futs) > 1:
            futs = [self.submit(_blocks.add, *futs[i : i + fan_in]) if len(futs[i : i + fan_in]) > 1
                    else futs[i] for i in range(0, len(futs), fan_in)]
        return self.gather(futs)[0]

    def scatter_codes(self, W):
        """Futures of ``At_b`` for the row blocks of ``W`` (n, k), placed with their blocks."""
        targets = self.make()
        where = self.client.who_has(targets) if self.persist else {}
        out = []
        for (r0, r1), t in zip(self.bounds, targets):
            At = _blocks.start_codes(W[r0:r1])
            workers = (list(where.get(t.key, ())) or None) if self.persist else None
            out.append(self.client.scatter(At, workers=workers, hash=False))
            self.bytes_sent += At.nbytes
        return out

    def gather_codes(self, At_futs) -> np.ndarray:
        return np.concatenate([_blocks.codes(a) for a in self.gather(At_futs)], axis=0)


def _nbytes(o) -> int:
    if isinstance(o, (tuple, list)):
        return sum(_nbytes(v) for v in o)
    return int(getattr(o, "nbytes", 8))


class _DaskStep:
    """What both steps share: checkpoints, recovery and the objective."""

    def __init__(self, blocks: Blocks, beta, penalties, checkpoint_every: int):
        self.blocks, self.beta = blocks, float(beta)
        self.pW = penalties.get("W", BlockPenalty())
        self.pH = penalties.get("H", BlockPenalty())
        self.checkpoint_every = max(1, int(checkpoint_every))
        self.done = 0  # iterations completed
        self.ckpt = None  # (iteration, W (n, k), H (1, k, n))
        self.n_recoveries = 0
        self.iter_times = []
        self._errors = lost_errors()

    def prepare(self, state):
        return state

    def checkpoint(self, state, W=None):
        W = self.blocks.gather_codes(state["W"]) if W is None else W
        self.ckpt = (self.done, W, state["H"].copy())

    def __call__(self, state, idx=None, want_loss=True):
        t0 = time.perf_counter()
        out = self._guarded(lambda: self.iterate(state), state)
        self.done += 1
        if self.done % self.checkpoint_every == 0:
            self._guarded(lambda: self.checkpoint(state), state)
        self.iter_times.append(time.perf_counter() - t0)
        return out

    def objective(self, state):
        return self._guarded(lambda: self.value(state), state)

    def _guarded(self, fn, state, attempts: int = 5):
        for _ in range(attempts):
            try:
                return fn()
            except self._errors as exc:
                self.recover(state, exc)
        raise RuntimeError(f"the distributed fit lost workers {attempts} times in a row; "
                           "check the cluster (memory limits, worker logs)")

    def recover(self, state, exc):
        """Rebuild the codes from the last checkpoint and replay to the current iteration."""
        self.n_recoveries += 1
        it, W, H = self.ckpt
        warnings.warn(f"distributed nmf: lost a worker or its data ({type(exc).__name__}: {exc}); "
                      f"going on from the checkpoint of iteration {it} and replaying "
                      f"{self.done - it} iterations", RecoveryWarning, stacklevel=2)
        self.blocks.reset()
        state["H"][...] = H
        state["W"] = self.blocks.scatter_codes(W)
        for _ in range(self.done - it):  # replay: the same iterates (deterministic updates)
            self.iterate(state)

    def value(self, state):
        """``Σ_b D_β(X_b | W_b H)`` + penalties, evaluated on the workers."""
        bl = self.blocks
        (Hf,) = bl.broadcast(state["H"])
        parts = bl.map(_blocks.value, bl.make(), state["W"], shared=(Hf, self.beta, self.pW))
        total = np.asarray(bl.tree_sum(parts)[0], dtype=np.float64)
        return total + penalty_values(state["H"], self.pH, get_namespace(state["H"]))


class DaskHALSStep(_DaskStep):
    """One HALS iteration of :class:`nmfkit.solvers.HALSStep` over row blocks.

    W half-step: ``H`` and ``G = H Hᵀ`` go to every worker; each block forms
    ``H X_bᵀ`` and runs the single-machine budget of :func:`~nmfkit.solvers.hals_sweep`
    one sweep at a time (:func:`_blocks.hals_w_sweep`); after each the client sums the
    blocks' changes and applies :func:`~nmfkit.solvers.inner_stop` to the sum as
    ``hals_sweeps`` does (a round trip of one float per block per sweep; memory
    O(rows × k) per block). H half-step: the blocks' ``(W_bᵀ X_b, W_bᵀ W_b)`` are summed
    in a tree and :func:`~nmfkit.solvers.hals_sweeps` updates ``H`` on the client.
    The objective comes from those products.
    """

    def __init__(self, blocks: Blocks, k: int, penalties, checkpoint_every: int, norm2: float,
                 mask_scale=None):
        super().__init__(blocks, 2.0, penalties, checkpoint_every)
        # element weights: the EM majorisation of HALSStep, weights and penalties divided
        # by the largest weight; the objective is then evaluated on the terms
        self.scale = 1.0 if mask_scale is None else float(mask_scale)
        self.weighted = mask_scale is not None
        s = self.scale
        self.sW = BlockPenalty(self.pW.l1 / s, self.pW.l2 / s)
        self.sH = BlockPenalty(self.pH.l1 / s, self.pH.l2 / s)
        n, m = blocks.shape
        # HALSStep._budget: (rows of the block, the other dimension, k)
        self.budget_W = inner_budget(n, m, k, INNER_ALPHA, MAX_INNER)
        self.budget_H = inner_budget(m, n, k, INNER_ALPHA, MAX_INNER)
        self.norm2 = float(norm2)
        self.n_sweeps_W = []

    def iterate(self, state):
        bl = self.blocks
        H = state["H"]
        b = get_namespace(H)
        targets = bl.make()
        # -- W half-step: sweeps on every block, one global stopping rule
        G = H @ b.mT(H)
        d = sweep_scales(G, b, self.sW)
        Hf, Gf = bl.broadcast(H, G)
        cur = bl.map(_blocks.hals_w_begin, targets, state["W"], shared=(Hf, self.scale))
        cur, n_sweeps = self._sweeps(bl, cur, Gf, d)
        W_new = bl.map(_blocks.sweep_codes, cur)
        # -- H half-step: products summed in a tree, sweeps on the client
        prods = bl.map(_blocks.hals_h_products, targets, W_new,
                       shared=(self.pW, Hf if self.weighted else None, self.scale))
        Rt, Gt, penW = bl.tree_sum(prods)
        state["W"] = W_new
        self.n_sweeps_W.append(n_sweeps)
        with single_threaded_blas():
            hals_sweeps(H, b.contiguous(Rt), Gt, b, self.sH, self.budget_H, INNER_TOL)
        return None if self.weighted else self._loss(state, Rt, Gt, penW)

    def _sweeps(self, bl, cur, Gf, d):
        """The sweeps ``hals_sweeps`` would run, block by block: after each, the blocks'
        changes are summed and the inner rule (sweep 1 sets the reference) decides."""
        track = self.budget_W > 1
        first = None
        for n_sweeps in range(1, self.budget_W + 1):
            cur = bl.map(_blocks.hals_w_sweep, cur, shared=(Gf, d, self.sW, track))
            if not track:
                break
            total = float(sum(bl.gather(bl.map(_blocks.sweep_change, cur))))
            if first is None:
                first = total
            elif bool(inner_stop(total, first, INNER_TOL)):
                break
        return cur, n_sweeps

    def _loss(self, state, Rt, Gt, penW):
        """``HALSStep._loss_from`` on the summed products (transposed problem)."""
        H = state["H"]
        b = get_namespace(H)
        stub = _NormTarget(b, self.norm2)
        val = frobenius_values(stub, b.mT(Rt), b.mT(H), H @ b.mT(H), Gt)
        if val[0] <= 1e3 * b.eps(H.dtype) * self.norm2:  # the cancellation guard, blockwise
            bl = self.blocks
            (Hf,) = bl.broadcast(H)
            res = bl.map(_blocks.residual2, bl.make(), state["W"], shared=(Hf,))
            val = np.array([0.5 * sum(bl.gather(res))])
        return val + penW + penalty_values(H, self.pH, b)


@dataclass
class _NormTarget:
    """What :func:`nmfkit.losses.frobenius_values` reads of a target: ‖X‖² summed over
    the blocks (``sparse=True`` skips its dense residual guard, done blockwise here)."""

    backend: object
    norm2: float
    sparse: bool = True


class DaskMUStep(_DaskStep):
    """One MU iteration of :class:`nmfkit.solvers.MUStep` over row blocks.

    W half-step: :func:`~nmfkit.solvers.mu_update` on every block where it lives. H
    half-step: the blocks' gradient parts ``(P_b, N_b)`` of ``H`` are summed in a tree
    and :func:`~nmfkit.solvers.mu_apply` updates ``H`` on the client.
    """

    def __init__(self, blocks: Blocks, beta: float, penalties, checkpoint_every: int, gamma: float):
        super().__init__(blocks, beta, penalties, checkpoint_every)
        self.gamma = gamma

    def iterate(self, state):
        bl = self.blocks
        H = state["H"]
        targets = bl.make()
        (Hf,) = bl.broadcast(H)
        W_new = bl.map(_blocks.mu_w, targets, state["W"], shared=(Hf, self.beta, self.pW, self.gamma))
        parts = bl.map(_blocks.mu_h_parts, targets, W_new, shared=(Hf, self.beta))
        P, N = bl.tree_sum(parts)
        state["W"] = W_new
        mu_apply(H, P, N, get_namespace(H), self.pH, self.gamma)
        return None

