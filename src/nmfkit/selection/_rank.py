r"""Rank search: restarts, consensus, stability and cross-validation for every candidate k.

For each k in ``ks``, :func:`rank_search` runs

1. ``n_restarts`` fits of :math:`\min_{W,H \ge 0} D_\beta(X \mid WH)` as **one batched
   computation** (:func:`nmfkit.selection.restarts`, all restarts kept);
2. the **consensus** of the samples over those restarts (cophenetic correlation,
   dispersion; :mod:`nmfkit.selection._consensus`);
3. the **stability** of the components (matched clustering and silhouette;
   :mod:`nmfkit.selection._stability`);
4. the **cross-validation** error: speckled hold-out and/or bi-cross-validation
   (:mod:`nmfkit.selection._cv`), on hold-out sets drawn once and shared by every k;

and collects one row per k in a tidy table.
"""

from __future__ import annotations

import time
import warnings
from typing import Optional

import numpy as np

from .._validation import check_data, check_nonneg_float, check_positive_int
from ..backends import is_sparse, to_numpy
from ..backends._random import check_random_state
from ..exceptions import ConvergenceWarning, NMFInputError
from ..losses import resolve_loss
from ._bicv import _BiCV
from ._cv import _Speckled, _check_fraction, check_ks, cv_fit_defaults, one_se_rule
from ._rank_driver import Search, rank_table
from ._rank_result import RankSearchResult

__all__ = ["RankSearchResult", "rank_search"]

_CV = ("speckled", "bicv", "both", None)
_RULES = ("one_se", "min")
#: above this many samples the n × n consensus is skipped unless consensus=True
CONSENSUS_AUTO_MAX = 5000


def _check(n_restarts, cv, rule, consensus, max_time, verbose):
    check_positive_int(n_restarts, "n_restarts")
    if n_restarts < 2:
        raise NMFInputError(
            f"n_restarts={n_restarts}: rank_search compares restarts (consensus, component "
            "stability), so it needs n_restarts >= 2; pass n_restarts=10 (the default)"
        )
    if cv not in _CV:
        raise NMFInputError(f"cv={cv!r} is not known; use 'speckled', 'bicv', 'both' or None")
    if rule not in _RULES:
        raise NMFInputError(f"rule={rule!r} is not known; use 'one_se' or 'min'")
    if consensus not in ("auto", True, False):
        raise NMFInputError(f"consensus={consensus!r} must be 'auto', True or False")
    if max_time is not None:
        check_nonneg_float(max_time, "max_time")
    if isinstance(verbose, bool) or not isinstance(verbose, (int, np.integer)):
        raise NMFInputError(f"verbose={verbose!r} must be an integer (0 = silent)")


def rank_search(X, ks=range(2, 11), *, loss="frobenius", n_restarts: int = 10,
                cv: Optional[str] = "speckled", cv_fraction: float = 0.1, cv_repeats: int = 1,
                bicv_splits=3, rule: str = "one_se", solver: str = "auto", init: str = "random",
                max_iter: int = 200, tol: float = 1e-4, cv_max_iter: Optional[int] = None,
                cv_tol: Optional[float] = None, consensus="auto", random_state=None,
                max_time: Optional[float] = None, verbose: int = 0,
                client=None, dispersion="per_sample") -> RankSearchResult:
    r"""Fit every rank in ``ks`` several times and measure fit, stability and prediction.

    For each k the data are fitted ``n_restarts`` times (one batched computation),
    the consensus of the samples and the stability of the components are measured
    across the restarts, and the cross-validation error is computed on hold-out sets
    shared by all ks (see :mod:`nmfkit.selection._rank`).

    **Choice of k** (``best_k``). With ``rule="one_se"`` (default): the smallest k
    whose cross-validation error is within one standard error of the minimum,

    .. math::
        \hat k = \min\{k \le k^* : \overline{d_k - d_{k^*}} \le \mathrm{sd}(d_k - d_{k^*})/\sqrt{|T|}\},
        \qquad k^* = \arg\min_k \overline{d_k},

    where :math:`d_k` are the per-entry held-out divergences of rank k over the
    held-out entries T (speckled CV, or bi-CV when ``cv="bicv"``) and the standard
    error is that of the paired differences (:func:`~nmfkit.selection.one_se_rule`).
    ``rule="min"`` takes :math:`k^*`. Beyond the true rank the extra components fit
    noise and the held-out error stops falling (or rises): the rule takes the start
    of that plateau. Stability (cophenetic correlation, silhouette) is reported as
    supporting evidence and does not enter the rule. With ``cv=None`` no rule
    applies and ``best_k`` is None.

    Parameters
    ----------
    X : array-like, DataFrame, scipy.sparse or torch.Tensor, shape (n_samples, n_features)
        Non-negative data. NaN entries are missing: the restarts then run one by one
        (``batched=False``) and the CV never holds them out. Speckled CV densifies a
        sparse X (n_samples × n_features floats); bi-CV keeps it sparse.
    ks : iterable of int
        Candidate ranks, each in 1..min(X.shape). Default 2..10.
    loss : {"frobenius", "kl", "is"} or float
        β-divergence of every fit and of the CV error. The default, Frobenius, uses
        batched HALS and is fast; "kl" (Poisson) is the natural loss for counts; with
        numba installed ("auto") its fits run coordinate descent, else multiplicative
        updates: ``nmfkit rank --loss kl --ks 8`` on 7,548 mouse10k cells x 1,000 genes
        took 17.5 s (CD) against 70 s (MU), and ks 4-12 with CD 107 s on an idle
        2-core machine (``benchmarks/bench_rank_kl.py``). With MU on the bundled
        pbmc68k counts it chose k = 8 where Frobenius on the raw counts, dominated by
        a few high-count genes, chose k = 2. "nb" (negative binomial, with ``dispersion``):
        every fit is :func:`nmfkit.nmf`'s NB fit (restarts one by one), the CV error
        (speckled only; bi-CV raises) is the negative NB log-likelihood per held-out
        entry at the α of the training fit (:mod:`nmfkit.selection._cv`), and ``loss`` /
        ``loss_median`` minus the NB log-likelihood (restarts have different α).
    n_restarts : int
        Restarts per k (>= 2; consensus and stability compare restarts).
    cv : {"speckled", "bicv", "both", None}
        Which cross-validation to run; ``best_k`` uses the speckled error unless
        ``cv="bicv"``.
    cv_fraction : float
        Share of entries held out by speckled CV.
    cv_repeats : int
        Hold-out sets (speckled) or partitions (bi-CV), pooled.
    bicv_splits : int or (int, int)
        Row and column groups of bi-CV.
    rule : {"one_se", "min"}
        See above.
    solver, init, max_iter, tol
        Of the restarts (:func:`~nmfkit.selection.restarts`); ``solver`` also of the CV fits
        ("auto": coordinate descent for KL, :func:`nmfkit.nmf`).
    cv_max_iter, cv_tol
        Of each CV fit (one per k and hold-out set, from the deterministic "nndsvda"
        start, loss checked every 10 iterations). Default 200 / 1e-4 for Frobenius
        (HALS) and 500 / 1e-5 for other losses: the CV compares small differences
        between ranks, and multiplicative (KL) updates stopped at 200 / 1e-4 can
        misrank k.
    consensus : {"auto", True, False}
        Compute the n_samples × n_samples consensus ("auto": when n_samples <= 5000).
    random_state : int, Generator or None
        Seeds the restarts and the hold-out sets: the same value, the same table.
    max_time : float, optional
        Budget in seconds for the whole search, shared out over the ks still to run;
        if it runs out, later ks are skipped with a warning.
    verbose : int
        1: progress per k and per stage (restarts, each cross-validation): a bar on a
        terminal, a plain line every few seconds otherwise (log files); 2: also inside each fit.
    client : distributed.Client, optional
        Run each k's restarts as tasks on a dask.distributed cluster
        (:func:`~nmfkit.selection.restarts` with ``client=``): the same seeds, the same
        table. The cross-validation fits run here.
    dispersion : {"per_sample", "global"}, float or array
        The NB α with ``loss="nb"`` (as in :func:`nmfkit.nmf`); ignored otherwise.

    Returns
    -------
    RankSearchResult
        ``table`` columns: ``k``; ``loss`` (best restart's objective), ``loss_median``
        (median over restarts), ``rel_error`` (:math:`\|X-WH\|_F/\|X\|_F` of the best);
        ``cv_error``, ``cv_se``, ``cv_train_error`` (speckled, per entry);
        ``bicv_error``, ``bicv_se``; ``cophenetic``, ``dispersion``; ``silhouette``,
        ``min_cluster_silhouette``, ``similarity`` (mean matched cosine to the
        centroids); ``n_converged``; ``time_restarts``, ``time_cv``, ``time``
        (seconds). Columns of a part that did not run hold NaN.

    Raises
    ------
    NMFInputError
        For ranks that are not positive integers or exceed min(X.shape), fewer than
        2 restarts, or unknown options.

    Examples
    --------
    >>> import nmfkit
    >>> from nmfkit.selection import rank_search
    >>> X = nmfkit.datasets.make_low_rank(120, 60, 4, noise=0.2, random_state=0).X
    >>> res = rank_search(X, range(2, 7), n_restarts=4, random_state=0)
    >>> res.best_k
    4
    >>> list(res.table.columns[:4])
    ['k', 'loss', 'loss_median', 'rel_error']
    """
    _check(n_restarts, cv, rule, consensus, max_time, verbose)
    check_positive_int(max_iter, "max_iter")
    check_nonneg_float(tol, "tol")
    spec = resolve_loss(loss, dispersion)
    cv_max_iter, cv_tol = cv_fit_defaults(spec.beta, cv_max_iter, cv_tol)
    data = check_data(X, allow_nan=True)
    ks = check_ks(ks, data.shape)
    rng = check_random_state(random_state)
    start = time.perf_counter()
    plans = _plans(X, spec, cv, (cv_fraction, cv_repeats, bicv_splits), ks, rng)
    X_host = data.values if is_sparse(data.values) else np.asarray(to_numpy(data.values))
    do_consensus = consensus is True or (consensus == "auto" and data.shape[0] <= CONSENSUS_AUTO_MAX)
    if consensus == "auto" and not do_consensus:
        warnings.warn(f"rank_search: X has {data.shape[0]} samples > {CONSENSUS_AUTO_MAX}: the "
                      "n x n consensus (cophenetic, dispersion) is skipped; pass consensus=True "
                      "to compute it anyway", UserWarning, stacklevel=2)
    fit_kw = dict(**spec.arguments(), solver=solver, init="nndsvda", max_iter=cv_max_iter, tol=cv_tol,
                  loss_every=10, verbose=max(verbose - 1, 0))
    search = Search(X, X_host, plans, fit_kw, cv_seed=int(rng.integers(2**31 - 1)),
                     do_consensus=do_consensus,
                     restart_kw=dict(loss=spec, solver=solver, init=init, max_iter=max_iter, tol=tol,
                                     batched=data.n_nan == 0, verbose=max(verbose - 1, 0),
                                     client=client))
    skipped = search.run(ks, n_restarts, rng, max_time=max_time, start=start, verbose=verbose)
    done = tuple(r["k"] for r in search.rows)
    if search.interrupted is not None:
        warnings.warn(f"rank_search: interrupted (Ctrl-C) at k={search.interrupted}; the result "
                      f"holds the ks finished before it, {list(done)} (params['stopped'])",
                      UserWarning, stacklevel=2)
    if skipped:
        warnings.warn(f"rank_search: max_time={max_time:g} s ran out; ks {skipped} were not "
                      "evaluated (raise max_time)", UserWarning, stacklevel=2)
    if search.not_converged:
        warnings.warn(f"rank_search: some restarts stopped at max_iter={max_iter} before tol={tol:g} "
                      f"at k = {search.not_converged} (see the n_converged column); raise max_iter "
                      "or tol", ConvergenceWarning, stacklevel=2)
    table = rank_table(search.rows)
    results = search.cv_results(done, table)
    best_k, text = _choose(results, search.entries, done, cv, rule)
    _warn_edge(best_k, done, data.shape)
    params = dict(**spec.arguments(), n_restarts=n_restarts, cv=cv, cv_fraction=cv_fraction,
                  cv_repeats=cv_repeats, bicv_splits=bicv_splits, rule=rule, solver=solver,
                  init=init, max_iter=max_iter, tol=tol, cv_max_iter=cv_max_iter, cv_tol=cv_tol,
                  max_time=max_time, ks=list(ks),
                  stopped="interrupted" if search.interrupted is not None else None)
    return RankSearchResult(table=table, best_k=best_k, rule=text, restarts=search.fits,
                            consensus=search.cons, stability=search.stab, cv=results.get("cv"),
                            bicv=results.get("bicv"), params=params,
                            elapsed=time.perf_counter() - start)


def _warn_edge(best_k, done, shape) -> None:
    """Warn when the chosen k is the smallest (above 1) or the largest k searched: the best
    rank may lie outside the range."""
    if best_k is None or len(done) < 2:
        return
    lo, hi = min(done), max(done)
    if best_k == hi and hi < min(shape):
        wider = f"ks up to {min(2 * hi, min(shape))}"
    elif best_k == lo and lo > 1:
        wider = f"ks from {max(1, lo // 2)}"
    else:
        return
    edge = "largest" if best_k == hi else "smallest"
    warnings.warn(f"rank_search: the chosen k={best_k} is the {edge} k searched ({lo}..{hi}); the "
                  f"best rank may lie outside the range: search {wider}", UserWarning, stacklevel=3)


def _plans(X, loss, cv, cv_args, ks, rng) -> dict:
    """The hold-out plans of ``cv`` (drawn once from ``rng``, shared by every k)."""
    cv_fraction, cv_repeats, bicv_splits = cv_args
    plans = {}
    if loss.nb and cv in ("bicv", "both"):
        raise NMFInputError(
            f"cv={cv!r}: bi-cross-validation does not take loss='nb' (its folded-in held-out "
            "rows would need their own dispersion); use cv='speckled' (or None) with loss='nb'"
        )
    if cv in ("speckled", "both"):
        plans["cv"] = _Speckled(X, loss, _check_fraction(cv_fraction, "cv_fraction"),
                                check_positive_int(cv_repeats, "cv_repeats"), rng, "cv_fraction")
    if cv in ("bicv", "both"):
        plans["bicv"] = _BiCV(X, loss.beta, bicv_splits, check_positive_int(cv_repeats, "cv_repeats"), rng)
        big = [k for k in ks if k > plans["bicv"].max_rank()]
        if big:
            raise NMFInputError(
                f"ks {big} exceed the largest rank the bi-CV training blocks allow "
                f"({plans['bicv'].max_rank()}); pass smaller ranks, fewer bicv_splits or cv='speckled'"
            )
    return plans


def _choose(results, entries, done, cv, rule):
    """``(best_k, rule in words)`` from the chosen cross-validation error."""
    chosen = "bicv" if cv == "bicv" else "cv"
    if chosen not in results:
        return None, "none (cv=None): no rule without a cross-validation error"
    label = "speckled" if chosen == "cv" else "bi-cross-validation"
    if rule == "one_se":
        return (one_se_rule(done, entries[chosen]),
                f"smallest k within one (paired) standard error of the minimum {label} error")
    return min(done, key=lambda k: entries[chosen][k].mean()), f"k minimising the {label} error"
