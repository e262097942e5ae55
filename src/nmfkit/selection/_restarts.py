r"""Many restarts of one NMF problem, best kept: :func:`restarts`.

NMF is non-convex: different starts end in different local minima. ``restarts``
runs ``n_restarts`` fits of

.. math::
    \min_{W \ge 0,\, H \ge 0}\; D_\beta(X \mid W H)

from independent random starts and keeps the one with the lowest final objective.
By default the restarts run as one batched computation
on the engine (:func:`nmfkit.models._core.run_nmf`: the factors of all restarts are
stacked on a leading axis) that reads ``X`` once per half-iteration for all of them; ``batched=False`` runs them one after another with
:func:`nmfkit.nmf` (the reference path; both give the same results up to rounding).
"""

from __future__ import annotations

import numbers
import time
import warnings
from dataclasses import dataclass, replace
from typing import Optional

import numpy as np

from .._result import NMFResult
from .._validation import check_data, check_n_components, check_nonneg_float, check_positive_int
from ..backends._random import check_random_state
from ..exceptions import ConvergenceWarning, NMFInputError
from ..init import initialize
from ..losses import Penalty, resolve_loss
from ..models._core import (build_target, check_beta_data, fix_gauge, resolve_accelerate,
                            resolve_solver, run_nmf)
from ..solvers import LoopOptions

__all__ = ["RestartsResult", "restarts"]


@dataclass(frozen=True)
class RestartsResult:
    """Outcome of :func:`restarts`.

    Attributes
    ----------
    best : NMFResult
        The restart with the lowest final objective (in the fixed gauge: rows of H sum
        to 1, components ordered by mass). ``best.info["restart"]`` is its index.
    losses : ndarray, shape (n_restarts,)
        Final objective of every restart, in restart order (``loss="nb"``: minus the NB
        log-likelihood of the observed entries at the restart's own α).
    results : tuple of NMFResult or None
        Every restart (with ``keep_all=True``), else None.
    seeds : ndarray, shape (n_restarts,)
        The seed of each restart's initialisation: ``nmfkit.nmf(X, k, init=init,
        random_state=seeds[r], ...)`` reproduces restart r alone.
    """

    best: NMFResult
    losses: np.ndarray
    results: Optional[tuple]
    seeds: np.ndarray

    @property
    def best_index(self) -> int:
        return int(self.best.info["restart"])


def _check_args(n_restarts, max_iter, tol, max_time, verbose, keep_all, batched):
    check_positive_int(n_restarts, "n_restarts")
    check_positive_int(max_iter, "max_iter")
    check_nonneg_float(tol, "tol")
    if max_time is not None:
        check_nonneg_float(max_time, "max_time")
    if not isinstance(verbose, numbers.Integral):
        raise NMFInputError(f"verbose={verbose!r} must be an integer (0 = silent)")
    for name, val in (("keep_all", keep_all), ("batched", batched)):
        if not isinstance(val, (bool, np.bool_)):
            raise NMFInputError(f"{name}={val!r} must be True or False")


def _summarise_warnings(reasons, tol, max_iter):
    n_max = sum(r == "max_iter" for r in reasons)
    if tol > 0 and n_max:
        warnings.warn(
            f"restarts: {n_max} of {len(reasons)} restarts stopped at max_iter={max_iter} before "
            f"the relative decrease fell below tol={tol:g}; raise max_iter or tol",
            ConvergenceWarning, stacklevel=3,
        )
    n_bad = sum(r == "nonfinite" for r in reasons)
    if n_bad:
        warnings.warn(
            f"restarts: the objective became non-finite in {n_bad} of {len(reasons)} restarts; "
            "check the input scale", ConvergenceWarning, stacklevel=3,
        )


def _labelled(W, H, data):
    if data.index is None:
        return W, H
    import pandas as pd

    names = [f"nmf{j}" for j in range(H.shape[0])]
    return (pd.DataFrame(W, index=data.index, columns=names),
            pd.DataFrame(H, index=names, columns=data.columns))


def _batched(data, k, seeds, loss, opts: "_FitOptions"):
    beta = loss.beta  # a β-divergence: the NB fit runs restart by restart (_sequential)
    solver = opts.solver
    target = build_target(data)
    check_beta_data(target, beta)
    b = target.backend
    starts = [initialize(target.X, k, opts.init, backend=b, dtype=data.values.dtype,
                         weights=target.M, random_state=int(s)) for s in seeds]
    options = LoopOptions(max_iter=opts.max_iter, tol=opts.tol, max_time=opts.max_time,
                          verbose=opts.verbose,
                          loss_every=1 if solver in ("hals", "cd") else 10, warn=False,
                          desc=f"restarts[{solver}]x{len(seeds)}")
    out, _ = run_nmf(target, [w for w, _ in starts], [h for _, h in starts], beta=beta,
                     solver=solver, penalty=Penalty(), options=options,
                     accelerate=resolve_accelerate(opts.accelerate, solver, target))
    results = []
    for r in range(len(seeds)):
        o = out.restart(r)
        W, H = fix_gauge(o.blocks["W"], o.blocks["H"], b)
        # no penalties here, so the last loss is the divergence (and the gauge keeps it):
        # no extra pass over X per restart
        div = float(o.loss_history[-1])
        W, H = _labelled(W, H, data)
        info = {"loss_iters": o.loss_iters, "divergence": div,
                "reconstruction_err": float(np.sqrt(2.0 * max(div, 0.0))),
                "restart": r, "seed": int(seeds[r]), "batched": True}
        results.append(NMFResult(W=W, H=H, loss=o.loss_history[-1], loss_history=o.loss_history,
                                 n_iter=o.n_iter, converged=o.converged, stop_reason=o.stop_reason,
                                 elapsed=out.elapsed, beta=beta, solver=solver, info=info))
    return results


@dataclass(frozen=True)
class _FitOptions:
    """Options every restart shares (passed down as one object)."""

    solver: str
    init: str
    max_iter: int
    tol: float
    max_time: Optional[float]
    verbose: int
    accelerate: object


def _sequential(X, k, seeds, loss, opts: _FitOptions):
    from ..models.nmf import nmf

    per = None if opts.max_time is None else opts.max_time / len(seeds)
    results = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for r, s in enumerate(seeds):
            res = nmf(X, k, **loss.arguments(), solver=opts.solver, init=opts.init, max_iter=opts.max_iter,
                      tol=opts.tol, max_time=per, random_state=int(s), verbose=opts.verbose,
                      accelerate=opts.accelerate)
            info = dict(res.info, restart=r, seed=int(s), batched=False)
            results.append(NMFResult(W=res.W, H=res.H, loss=res.loss, loss_history=res.loss_history,
                                     n_iter=res.n_iter, converged=res.converged,
                                     stop_reason=res.stop_reason, elapsed=res.elapsed,
                                     beta=res.beta, solver=res.solver, info=info))
            if res.stop_reason == "interrupted":  # Ctrl-C: no further restart
                break
    return results


def _one_fit(X, k, seed, loss, opts: _FitOptions, batched: bool):
    """One restart from ``seed`` (a task on a dask worker): the batched path with R = 1,
    or :func:`nmfkit.nmf`."""
    if batched:
        return _batched(check_data(X, allow_nan=True), k, [seed], loss, opts)[0]
    return _sequential(X, k, [seed], loss, opts)[0]


def _on_client(client, X, k, seeds, loss, opts: _FitOptions, batched: bool):
    """Every restart as its own task on a dask.distributed cluster (``X`` sent once to
    each worker); restart r is the fit from ``seeds[r]``, as without a client."""
    if not batched and opts.max_time is not None:  # as _sequential: the budget is shared
        opts = replace(opts, max_time=opts.max_time / len(seeds))
    # hash=False: a fresh key each call (a content-hashed key reused right after the previous
    # call released it can be deleted under the new call: "lost dependencies")
    from ..distributed._blocks import tune_malloc

    client.run(tune_malloc)  # dask workers otherwise mmap every large temporary
    X_f = client.scatter(X, broadcast=True, hash=False)
    futs = [client.submit(_one_fit, X_f, k, int(s), loss, opts, batched, pure=False, retries=2)
            for s in seeds]  # retries: a worker lost mid-task reruns the fit elsewhere
    return [NMFResult(**{**res.__dict__, "info": dict(res.info, restart=r, client=True)})
            for r, res in enumerate(client.gather(futs))]


def restarts(X, n_components, n_restarts=10, *, loss="frobenius", solver="auto", init="random",
             max_iter=200, tol=1e-4, max_time=None, random_state=None, keep_all=False,
             batched=True, verbose=0, accelerate="auto", client=None,
             dispersion="per_sample") -> RestartsResult:
    r"""Fit ``X ≈ W H`` from ``n_restarts`` starts and keep the lowest objective.

    Parameters
    ----------
    X : array-like or DataFrame, shape (n_samples, n_features)
        Non-negative data: dense or scipy.sparse NumPy data, or torch tensors. NaN
        entries are missing (left out of the objective), batched or not.
    n_components : int
        The rank k.
    n_restarts : int
        Number of restarts R.
    loss : {"frobenius", "kl", "is", "nb"} or float
        The β-divergence, or the negative binomial, as in :func:`nmfkit.nmf`. "nb" runs
        the restarts one by one (each alternates its own α with its factors), whatever
        ``batched`` says, and ranks them by their NB log-likelihood (``losses`` holds minus
        it: the NB divergences of restarts at different α are not comparable).
    solver : {"auto", "hals", "mu", "cd"}
        "auto" is HALS for Frobenius, CD for KL (as in :func:`nmfkit.nmf`), MU otherwise.
        Batched, every product with
        ``X`` serves all restarts (dense ``X`` is read once per half-iteration, in row
        chunks for the ``X / (W_r H_r)``-type products of β ≠ 2 and of missing values);
        sparse KL evaluates ``W_r H_r`` at the non-zeros restart by restart.
    init : {"random", "nndsvd", "nndsvda", "nndsvdar"}
        Start of each restart, drawn with that restart's seed ("random" is the useful
        one: the SVD-based starts differ little between seeds).
    max_iter, tol : int, float
        Per restart, as in :func:`nmfkit.nmf`; a batched restart that converged is
        frozen while the others go on.
    max_time : float, optional
        Budget in seconds for all restarts together (batched: the whole batch stops;
        sequential: each restart gets ``max_time / n_restarts``).
    random_state : int, Generator or None
        One Generator made from it draws the R seeds, so the same value gives the same
        restarts.
    keep_all : bool
        Keep every restart's result in ``results``.
    batched : bool
        One batched computation (default) or ``nmfkit.nmf`` per restart.
    verbose : int
        1 shows a progress bar on a terminal.
    accelerate : {"auto", True, False}
        Safeguarded extrapolation, as in :func:`nmfkit.nmf` ("auto": HALS only);
        batched restarts apply it per restart, step for step like the sequential fits.
    client : distributed.Client, optional
        Spread the restarts over a dask.distributed cluster: each restart is one task
        (the batched engine with one restart, or ``nmfkit.nmf`` when ``batched=False``)
        from the same seed, so the results are those without a client (exactly with
        ``batched=False``; batched, up to the rounding of stacking the restarts).
        ``max_time`` is then each task's budget (``max_time / n_restarts`` unbatched).
    dispersion : {"per_sample", "global"}, float or array
        The NB α with ``loss="nb"`` (as in :func:`nmfkit.nmf`); ignored otherwise.

    Returns
    -------
    RestartsResult

    Examples
    --------
    >>> import nmfkit
    >>> from nmfkit.selection import restarts
    >>> X = nmfkit.datasets.make_low_rank(100, 40, 3, random_state=0).X
    >>> res = restarts(X, 3, n_restarts=4, random_state=0)
    >>> res.losses.shape, res.best.H.shape
    ((4,), (3, 40))
    """
    _check_args(n_restarts, max_iter, tol, max_time, verbose, keep_all, batched)
    loss = resolve_loss(loss, dispersion)
    batched = batched and not loss.nb
    if init == "custom":
        raise NMFInputError(f"init={init!r} cannot seed several restarts; use 'random' or an SVD start")
    data = check_data(X, allow_nan=True)
    solver = resolve_solver(solver, loss, cd_backend=data.backend)
    k = check_n_components(n_components, data.shape)
    rng = check_random_state(random_state)
    seeds = rng.integers(0, 2**31 - 1, size=n_restarts)
    opts = _FitOptions(solver=solver, init=init, max_iter=max_iter, tol=tol, max_time=max_time,
                       verbose=verbose, accelerate=accelerate)
    start = time.perf_counter()
    if client is not None:
        results = _on_client(client, X, k, seeds, loss, opts, batched)
    elif batched:
        results = _batched(data, k, seeds, loss, opts)
    else:
        results = _sequential(X, k, seeds, loss, opts)
    _summarise_warnings([r.stop_reason for r in results], tol, max_iter)
    losses = np.array([-r.info["loglik"] if loss.nb else r.loss for r in results], dtype=np.float64)
    ranked = np.where(np.isfinite(losses), losses, np.inf)
    best = results[int(np.argmin(ranked))]
    interrupted = any(r.stop_reason == "interrupted" for r in results)  # Ctrl-C: the ones run
    best = NMFResult(**{**best.__dict__, "info": dict(best.info, total_elapsed=time.perf_counter() - start,
                                                       interrupted=interrupted)})
    return RestartsResult(best=best, losses=losses, results=tuple(results) if keep_all else None,
                          seeds=seeds[: len(results)])
