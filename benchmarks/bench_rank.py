"""Rank search on the bundled pbmc68k counts, and a scikit-learn restart loop as the peer.

``nmfkit.selection.rank_search`` on the 700 x 765 sparse UMI counts of
``nmfkit.datasets.load_pbmc68k``, ks 2-10, 10 restarts per k, with its defaults
(Frobenius loss; restarts: random starts, max_iter=200, tol=1e-4, batched HALS;
speckled CV: 10 % held out, one masked fit per k, max_iter=500, tol=1e-5; consensus,
cophenetic, dispersion, component stability). Prints the total time, a per-k
breakdown, and then

    rank_search_seconds: <t>
    rank_restarts_over_sklearn_loop: <t(nmfkit restarts, all ks) / t(sklearn loop)>
    rank_search_over_sklearn_loop: <t(whole rank_search) / t(sklearn loop)>

where the peer is what users write today: ``sklearn.decomposition.NMF(k,
init="random", solver="cd", max_iter=200, tol=1e-4, random_state=r).fit(X)`` for
every k and restart (fits only: no consensus, stability or cross-validation).
Usage::

    python benchmarks/bench_rank.py [--ks 2-10] [--restarts 10] [--loss frobenius] [--no-peer]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import nmfkit
from nmfkit.selection import rank_search


def _ks(text):
    lo, hi = (int(v) for v in text.split("-"))
    return list(range(lo, hi + 1))


def _sklearn_loop(X, ks, n_restarts):
    from sklearn.decomposition import NMF
    from sklearn.exceptions import ConvergenceWarning

    per_k = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for k in ks:
            t0 = time.perf_counter()
            for r in range(n_restarts):
                NMF(k, init="random", solver="cd", max_iter=200, tol=1e-4, random_state=r).fit(X)
            per_k[k] = time.perf_counter() - t0
    return per_k


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ks", type=_ks, default=list(range(2, 11)))
    p.add_argument("--restarts", type=int, default=10)
    p.add_argument("--loss", default="frobenius")
    p.add_argument("--no-peer", action="store_true")
    args = p.parse_args(argv)
    X = nmfkit.datasets.load_pbmc68k().X
    print(f"# pbmc68k X {X.shape} nnz={X.nnz}, ks {args.ks[0]}-{args.ks[-1]}, R={args.restarts}, "
          f"loss={args.loss}, cpus={os.cpu_count()}, "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}, "
          f"load={os.getloadavg()[0]:.2f}")
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = rank_search(X, args.ks, loss=args.loss, n_restarts=args.restarts, random_state=0)
    total = time.perf_counter() - t0
    t = res.table
    print(f"# rank_search: {total:.2f} s, best_k={res.best_k} ({res.rule})")
    print("#  k  restarts_s  cv_s  total_s  n_conv  cv_error  cophenetic  silhouette")
    for row in t.itertuples():
        print(f"# {row.k:2d}  {row.time_restarts:10.2f}  {row.time_cv:5.2f}  {row.time:7.2f}  "
              f"{row.n_converged:6d}  {row.cv_error:8.4g}  {row.cophenetic:10.4f}  "
              f"{row.silhouette:10.4f}")
    restarts_s = float(t["time_restarts"].sum())
    print(f"# sums: restarts {restarts_s:.2f} s, cv {t['time_cv'].sum():.2f} s, "
          f"consensus+stability+other {total - restarts_s - t['time_cv'].sum():.2f} s")
    print(f"rank_search_seconds: {total:.2f}")
    if not args.no_peer:
        per_k = _sklearn_loop(X, args.ks, args.restarts)
        peer = sum(per_k.values())
        print("# sklearn loop per k: " + ", ".join(f"{k}: {v:.2f}" for k, v in per_k.items()))
        print(f"# sklearn loop: {peer:.2f} s for {len(args.ks) * args.restarts} fits")
        print(f"rank_restarts_over_sklearn_loop: {restarts_s / peer:.3f}")
        print(f"rank_search_over_sklearn_loop: {total / peer:.3f}")
    print(f"# load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
