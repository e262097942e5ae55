"""The driver of :func:`nmfkit.selection.rank_search`: one candidate k after another.

For each k: the batched restarts, the consensus, the component stability and the
cross-validation entries, with the time budget, progress and Ctrl-C (the finished ks are
kept); then the tidy per-k table. Split from ``_rank.py``, which holds the public function,
its validation and the choice of k.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..backends import is_sparse, to_numpy
from ..exceptions import ConvergenceWarning
from ..solvers import raise_interrupts
from ._consensus import consensus as _consensus
from ._cv import CVResult
from ._restarts import restarts
from ._stability import component_stability

__all__ = ["Search", "rank_table"]

def _rel_error(X_host, W, H) -> float:
    """``‖X − WH‖_F / ‖X‖_F`` over the observed entries (sparse: by products)."""
    W, H = np.asarray(to_numpy(W), float), np.asarray(to_numpy(H), float)
    if is_sparse(X_host):
        xx = float(X_host.multiply(X_host).sum())
        num = xx - 2.0 * float(np.sum(np.asarray(X_host @ H.T) * W)) + float(np.sum((W.T @ W) * (H @ H.T)))
    else:
        obs = ~np.isnan(X_host)
        R = np.where(obs, X_host - W @ H, 0.0)
        num, xx = float(np.sum(R * R)), float(np.sum(np.where(obs, X_host, 0.0) ** 2))
    return float(np.sqrt(max(num, 0.0) / xx)) if xx > 0 else float("nan")


@dataclass
class Search:
    """The per-k work of :func:`rank_search` and what it collects (rows, fits, CV entries)."""

    X: object
    X_host: object
    plans: dict
    fit_kw: dict
    cv_seed: int
    do_consensus: bool
    restart_kw: dict
    rows: list = field(default_factory=list)
    fits: dict = field(default_factory=dict)
    cons: dict = field(default_factory=dict)
    stab: dict = field(default_factory=dict)
    not_converged: list = field(default_factory=list)
    interrupted: Any = None  # the k Ctrl-C stopped (rows hold the ks finished before it)

    def __post_init__(self):
        self.entries = {name: {} for name in self.plans}
        self.cv_stats = {name: ([], [], []) for name in self.plans}

    def run(self, ks, n_restarts, rng, *, max_time, start, verbose) -> list:
        """Evaluate every k in turn (sharing ``max_time``); return the ks skipped for time."""
        from .._progress import Progress

        # verbose >= 1: a bar on a terminal, else a plain line every few seconds (log files)
        steps = len(ks) * (1 + len(self.plans))
        with Progress(steps, "rank_search", bool(verbose)) as progress, raise_interrupts():
            for i, k in enumerate(ks):
                budget = None
                if max_time is not None:
                    left = max_time - (time.perf_counter() - start)
                    if left <= 0 and self.rows:
                        return list(ks[i:])
                    budget = max(left, 0.0) / (len(ks) - i)
                sizes = {name: [len(v) for v in st] for name, st in self.cv_stats.items()}
                try:
                    self.rows.append(self.one_k(k, n_restarts, budget,
                                                int(rng.integers(2**31 - 1)), progress))
                except KeyboardInterrupt:  # Ctrl-C: keep the ks finished, forget this one
                    if not self.rows:
                        raise
                    self._forget(k, sizes)
                    self.interrupted = k
                    break
        return []

    def _forget(self, k, sizes) -> None:
        for store in (self.fits, self.cons, self.stab, *self.entries.values()):
            store.pop(k, None)
        for name, st in self.cv_stats.items():
            for v, n in zip(st, sizes[name]):
                del v[n:]
        if k in self.not_converged:
            self.not_converged.remove(k)

    def one_k(self, k, n_restarts, budget, seed, progress=None) -> dict:
        """Restarts, consensus, stability and cross-validation of rank ``k``: one table row."""
        t0 = time.perf_counter()
        share = None if budget is None else (budget / 2 if self.plans else budget)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            rr = restarts(self.X, k, n_restarts, max_time=share, random_state=seed, keep_all=True,
                          **self.restart_kw)
        t_fit = time.perf_counter() - t0
        if progress is not None:
            progress.advance(note=f"k={k}: {n_restarts} restarts")
        self.fits[k] = rr
        n_conv = sum(r.converged for r in rr.results)
        if n_conv < n_restarts:
            self.not_converged.append(k)
        row = {"k": k, "loss": float(rr.losses[rr.best_index]), "loss_median": float(np.median(rr.losses)),
               "rel_error": _rel_error(self.X_host, rr.best.W, rr.best.H)}
        c = _consensus(rr) if self.do_consensus else None
        if c is not None:
            self.cons[k] = c
        st = self.stab[k] = component_stability(rr)
        t1 = time.perf_counter()
        for name, plan in self.plans.items():
            rest = None if budget is None else max(budget - (time.perf_counter() - t0), 0.0) / len(self.plans)
            d, train, _, _ = plan.evaluate(k, fit_kw=self.fit_kw, seed=self.cv_seed, max_time=rest)
            self.entries[name][k] = d
            se = d.std(ddof=1) / np.sqrt(d.size) if d.size > 1 else np.nan
            for store, value in zip(self.cv_stats[name], (d.mean(), se, train)):
                store.append(value)
            row[f"{name}_error"], row[f"{name}_se"] = float(d.mean()), float(se)
            if progress is not None:
                progress.advance(note=f"k={k}: {name} ({d.size} held-out fits)")
            if name == "cv":
                row["cv_train_error"] = train
        t_cv = time.perf_counter() - t1
        row.update(cophenetic=np.nan if c is None else c.cophenetic,
                   dispersion=np.nan if c is None else c.dispersion,
                   silhouette=st.silhouette,
                   min_cluster_silhouette=float(np.min(st.cluster_silhouette)),
                   similarity=st.mean_similarity, n_converged=n_conv,
                   time_restarts=t_fit, time_cv=t_cv, time=time.perf_counter() - t0)
        return row

    def cv_results(self, done, table) -> dict:
        """``name -> CVResult`` of every plan that ran."""
        results = {}
        for name, plan in self.plans.items():
            errs, ses, trs = self.cv_stats[name]
            results[name] = CVResult(plan.method, done, np.array(errs), np.array(ses), np.array(trs),
                                     self.entries[name], table["time_cv"].to_numpy(), dict(plan.params))
        return results


_COLUMNS = ["k", "loss", "loss_median", "rel_error", "cv_error", "cv_se", "cv_train_error",
            "bicv_error", "bicv_se", "cophenetic", "dispersion", "silhouette",
            "min_cluster_silhouette", "similarity", "n_converged", "time_restarts", "time_cv", "time"]


def rank_table(rows):
    import pandas as pd

    table = pd.DataFrame(rows, columns=_COLUMNS)
    table["k"] = table["k"].astype(int)
    table["n_converged"] = table["n_converged"].astype(int)
    return table
