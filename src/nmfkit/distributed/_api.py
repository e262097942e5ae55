"""``nmfkit.distributed.nmf`` and ``DaskNMF``: input checks, start, loop, result."""

from __future__ import annotations

import math
import numbers

import numpy as np

from .._optional import require
from .._result import NMFResult
from .._validation import check_n_components
from ..backends import get_namespace, is_sparse
from ..backends._random import check_random_state
from ..exceptions import NMFInputError
from ..losses import Penalty, loss_to_beta
from ..models._core import fix_gauge, resolve_solver
from ..solvers import LoopOptions, mu_gamma, penalties_of, run
from . import _blocks
from ._engine import Blocks, DaskHALSStep, DaskMUStep

PURPOSE = "fit NMF on a dask.distributed cluster (nmfkit.distributed)"


def get_client(client):
    """The given client, else the default one; a clear error when there is none."""
    distributed = require("distributed", PURPOSE)
    if client is not None:
        return client
    try:
        return distributed.get_client()
    except ValueError:
        raise NMFInputError("nmfkit.distributed needs a dask.distributed client: pass client=, or "
                            "create one first (from distributed import Client; client = Client() "
                            "or Client('scheduler-address'))") from None


def _read_block(path, layer, r0, r1):
    from ..io import open_rows

    with open_rows(path, layer=layer) as src:
        return src.read(r0, r1)


def read_rows(path, *, chunk_rows: int = 50_000, layer=None):
    """A file of rows (``.h5ad`` CSR or dense, ``.zarr``, ``.npy``; :func:`nmfkit.io.open_rows`)
    as a dask array chunked by rows, each chunk read **on its worker** from the file.

    The workers must see ``path`` (a shared or local disk). With ``persist=False`` in
    :func:`nmf`, the chunks are re-read every iteration, so the cluster never holds ``X``.
    """
    dask = require("dask", PURPOSE)
    da = require("dask.array", PURPOSE)
    import os

    from ..io import open_rows

    path = os.fspath(path)
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, numbers.Integral) or chunk_rows < 1:
        raise NMFInputError(f"chunk_rows={chunk_rows!r} must be a positive integer")
    with open_rows(path, layer=layer) as src:
        if not src.random_access:
            raise NMFInputError(f"{path}: a stream has no random access; write it to .h5ad, .zarr or "
                                ".npy to read it by rows on the workers")
        (n, m), dtype, sparse = src.shape, src.dtype, src.sparse
    if sparse:
        import scipy.sparse as sp

        meta = sp.csr_matrix((0, m), dtype=dtype)
    else:
        meta = np.empty((0, m), dtype=dtype)
    parts = [da.from_delayed(dask.delayed(_read_block)(path, layer, r0, min(n, r0 + chunk_rows)),
                             shape=(min(n, r0 + chunk_rows) - r0, m), dtype=dtype, meta=meta)
             for r0 in range(0, n, chunk_rows)]
    return da.concatenate(parts, axis=0)


def as_row_blocks(X, client, name: str = "X"):
    """``X`` as a dask array chunked by rows only (columns in one chunk)."""
    import os

    da = require("dask.array", PURPOSE)
    if isinstance(X, (str, os.PathLike)):
        X = read_rows(X)
    if not isinstance(X, da.Array):
        if not (is_sparse(X) or isinstance(X, np.ndarray)):
            raise NMFInputError(f"{name} must be a dask.array (or a NumPy / scipy.sparse matrix, "
                                f"split into one row block per worker), not {type(X).__name__}")
        if is_sparse(X):
            import scipy.sparse as sp

            X = sp.csr_matrix(X)
        n_workers = max(1, len(client.nthreads()))
        rows = max(1, math.ceil(X.shape[0] / n_workers))
        # name=False: fresh keys, so a fit right after another on the same matrix never races
        # the release of the previous keys on the scheduler
        X = da.from_array(X, chunks=(rows, X.shape[1]), asarray=False, name=False)
    if X.ndim != 2:
        raise NMFInputError(f"{name} must be 2-D (n_samples x n_features), got {X.ndim}-D")
    if any(math.isnan(c) for c in X.chunks[0]):
        raise NMFInputError(f"{name} has unknown row chunk sizes; call {name}.compute_chunk_sizes() "
                            "first")
    if X.numblocks[1] > 1:
        X = X.rechunk({1: -1})
    if X.dtype.kind not in "biuf":
        raise NMFInputError(f"{name} has dtype {X.dtype}; NMF needs real numbers")
    return X


def _mask_blocks(mask, X, client):
    if mask is None:
        return [None] * X.numblocks[0]
    da = require("dask.array", PURPOSE)
    if not isinstance(mask, da.Array):
        mask = np.asarray(mask)
    if tuple(mask.shape) != tuple(X.shape):
        raise NMFInputError(f"mask has shape {tuple(mask.shape)} but X has {tuple(X.shape)}")
    if not isinstance(mask, da.Array):
        mask = da.from_array(mask, chunks=(X.chunks[0], X.shape[1]))
    if mask.chunks[0] != X.chunks[0] or mask.numblocks[1] > 1:
        mask = mask.rechunk((X.chunks[0], -1))
    return list(mask.to_delayed().ravel())


def _bounds(chunks):
    edges = np.concatenate([[0], np.cumsum(chunks)]).astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]


def _inspect(bl: Blocks, beta: float):
    """Validate every row block on its worker; return (observed sum, observed count)."""
    targets = bl.make()
    futs = [bl.submit(_check_target, t, r0, r1, beta) for t, (r0, r1) in zip(targets, bl.bounds)]
    out = bl.gather(futs)
    for err, *_ in out:
        if err:
            raise NMFInputError(err)
    zeros = sum(o[3] for o in out)
    if zeros:
        raise NMFInputError(f"X has {zeros} zero entries but loss beta={beta:g} <= 0 (Itakura-Saito) "
                            "is undefined at X = 0; add a small offset (X + eps), mark them missing, "
                            "or use loss='kl'")
    total, count = sum(o[1] for o in out), sum(o[2] for o in out)
    if not total > 0:
        raise NMFInputError("X has no positive observed entry; nothing to fit")
    return total, count


def _check_target(t, r0, r1, beta):
    t = _blocks._as_target(t)
    return _blocks.inspect(t.X, t.M, r0, r1, beta)


def _start(init, W, H, shape, k, mean, dtype, random_state):
    """``(W0 (n, k), H0 (1, k, m))``: the draws of :func:`nmfkit.init.initialize`'s
    ``"random"`` (same seed, same numbers) or a custom start."""
    n, m = shape
    if init == "custom" or (init is None and W is not None and H is not None):
        from ..init import _check_custom

        b = get_namespace(np.zeros(1))
        W0 = np.asarray(_check_custom("W", W, (n, k), b, dtype))
        H0 = np.asarray(_check_custom("H", H, (k, m), b, dtype))
    elif init in ("random", None):
        if W is not None or H is not None:
            raise NMFInputError("W / H were given but init='random'; pass init='custom' to start "
                                "from them")
        rng = check_random_state(random_state)
        avg = np.sqrt(mean / k)
        H0 = (avg * np.abs(rng.standard_normal((k, m)))).astype(dtype)
        W0 = (avg * np.abs(rng.standard_normal((n, k)))).astype(dtype)
    else:
        raise NMFInputError(f"init={init!r}: the distributed fit starts from 'random' or 'custom' "
                            "(W=, H=); an SVD start (nndsvd*) would need a distributed SVD")
    return W0, np.ascontiguousarray(H0)[None, ...]


def _check_int(v, name, low=1):
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < low:
        raise NMFInputError(f"{name}={v!r} must be an integer >= {low}")
    return int(v)


def nmf(X, n_components, *, client=None, loss="frobenius", solver="auto", mask=None,
        init="random", W=None, H=None, max_iter=200, tol=1e-4, max_time=None, loss_every=None,
        alpha_W=0.0, alpha_H="same", l1_ratio=0.0, random_state=None, verbose=0, callback=None,
        persist=True, checkpoint_every=10) -> NMFResult:
    r"""Full-batch NMF ``X ≈ W H`` on a dask.distributed cluster, with the engine's updates.

    ``X`` stays on the workers, split in row blocks; each block's codes ``W_b`` live
    with it. Every iteration is the single-machine one (:class:`nmfkit.solvers.HALSStep`
    or :class:`nmfkit.solvers.MUStep`), its products summed over the row blocks: ``H``
    (k × n_features) and the k × n_features sums travel, ``X`` never does.

    Parameters
    ----------
    X : dask.array, shape (n_samples, n_features), or a path
        Non-negative, finite data chunked by rows (columns are rechunked to one chunk):
        dense chunks or ``scipy.sparse.csr_matrix`` chunks. A NumPy / SciPy matrix is
        split into one row block per worker. A path (``.h5ad``, ``.zarr``, ``.npy``) is
        :func:`read_rows` of it (chunks of 50,000 rows read on the workers; pair it with
        ``persist=False`` for data larger than the cluster's memory).
    n_components : int
    client : distributed.Client, optional
        Default: the current client (``distributed.get_client()``).
    loss, solver, max_iter, tol, max_time, loss_every, alpha_W, alpha_H, l1_ratio, verbose
        As in :func:`nmfkit.nmf` (no extrapolation: ``accelerate=False``).
    mask : dask.array or array, optional
        Element weights (0 = missing), rechunked to ``X``'s row chunks. HALS handles
        them by the EM majorisation of :class:`nmfkit.solvers.HALSStep` (the objective
        is then evaluated every ``loss_every`` iterations, on the workers).
    init : {"random", "custom"}
        ``"random"`` makes the draws of :func:`nmfkit.nmf`'s ``init="random"`` for the
        same ``random_state``; ``"custom"`` starts from ``W`` and ``H``.
    callback : callable, optional
        ``callback(n_iter, H, loss)`` at each loss check (``W`` stays on the workers);
        returning True stops.
    persist : bool
        Keep the row blocks in the workers' memory (default). False re-reads every
        block from its source (e.g. ``da.from_zarr``) every iteration: for data larger
        than the cluster's memory.
    checkpoint_every : int
        Gather ``W`` (n_samples × k) to the client every this many iterations. When a
        worker is lost the fit goes on from the last checkpoint (replaying the
        iterations since, so the iterates are those of an uninterrupted fit) with a
        :class:`~nmfkit.distributed.RecoveryWarning`; ``info["n_recoveries"]`` counts.

    Returns
    -------
    NMFResult
        ``W`` (NumPy, gathered), ``H``, in the gauge of :func:`nmfkit.nmf`; ``info``
        adds ``n_blocks``, ``n_recoveries``, ``bytes_sent`` / ``bytes_received`` (arrays
        the client sent to / gathered from the workers), ``bytes_per_iter`` (the same in
        the loop, per iteration, checkpoints included) and ``time_per_iter`` (median s).
    """
    client = get_client(client)
    client.run(_blocks.tune_malloc)  # large temporaries from the heap (see tune_malloc)
    beta = loss_to_beta(loss)
    solver = resolve_solver(solver, beta)
    X = as_row_blocks(X, client)
    if mask is not None and is_sparse(getattr(X, "_meta", None)):
        import warnings

        warnings.warn("a mask with sparse X densifies each row block of X on its worker so that "
                      "entries can be weighted", UserWarning, stacklevel=2)
    k = check_n_components(n_components, X.shape)
    max_iter = _check_int(max_iter, "max_iter")
    checkpoint_every = _check_int(checkpoint_every, "checkpoint_every")
    n, m = X.shape
    dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    bl = Blocks(client, list(X.to_delayed().ravel()), _mask_blocks(mask, X, client),
                _bounds(X.chunks[0]), bool(persist), (n, m), n_workers=max(1, len(client.nthreads())))
    total, count = _inspect(bl, beta)
    penalty = Penalty.from_alphas(alpha_W, alpha_H, l1_ratio, n, m)
    W0, H0 = _start(init, W, H, (n, m), k, total / max(count, 1.0), dtype, random_state)
    if solver == "hals":
        norm2 = sum(bl.gather([bl.submit(_blocks.norm2, t) for t in bl.make()]))
        scale = None
        if mask is not None:
            scale = max(bl.gather([bl.submit(_blocks.mask_max, t) for t in bl.make()]))
        step = DaskHALSStep(bl, k, penalties_of(penalty), checkpoint_every, norm2, scale)
    else:
        step = DaskMUStep(bl, beta, penalties_of(penalty), checkpoint_every, mu_gamma(beta))
    state = {"H": H0, "W": bl.scatter_codes(W0)}
    step.checkpoint(state, W0)
    if loss_every is None:
        loss_every = 1 if solver == "hals" else 10
    cb = None
    if callback is not None:
        cb = lambda it, st, losses: callback(it, st["H"][0], float(losses[0]))  # noqa: E731
    options = LoopOptions(max_iter=max_iter, tol=tol, max_time=max_time,
                          loss_every=_check_int(loss_every, "loss_every"), verbose=verbose,
                          callback=cb, desc=f"dask_nmf[{solver}]")
    traffic0 = bl.bytes_sent + bl.bytes_received
    out = run(step, state, options, step.objective).restart(0)
    step.bytes_per_iter = (bl.bytes_sent + bl.bytes_received - traffic0) / max(out.n_iter, 1)
    W_fit = step._guarded(lambda: bl.gather_codes(state["W"]), state)
    return _result(out, step, W_fit, state["H"][0], beta, solver, penalty)


def _result(o, step, W, H, beta, solver, penalty) -> NMFResult:
    b = get_namespace(H)
    W, H = fix_gauge(W, H, b, normalise=not penalty.any)
    div = float(o.loss_history[-1]) - (penalty.value(W, H, b) if penalty.any else 0.0)
    bl = step.blocks
    info = {
        "loss_iters": o.loss_iters,
        "divergence": div,
        "reconstruction_err": float(np.sqrt(2.0 * max(div, 0.0))),
        "penalty": penalty.__dict__.copy(),
        "n_blocks": bl.n,
        "persist": bl.persist,
        "n_recoveries": step.n_recoveries,
        "bytes_sent": bl.bytes_sent,
        "bytes_received": bl.bytes_received,
        "bytes_per_iter": float(step.bytes_per_iter),
        "time_per_iter": float(np.median(step.iter_times)) if step.iter_times else float("nan"),
    }
    if solver == "hals":
        info["n_sweeps_W"] = tuple(step.n_sweeps_W)
    return NMFResult(W=W, H=H, loss=o.loss_history[-1], loss_history=o.loss_history,
                     n_iter=o.n_iter, converged=o.converged, stop_reason=o.stop_reason,
                     elapsed=o.elapsed, beta=beta, solver=solver, info=info)
