"""Batched restarts against one single fit and against R sequential fits.

Dense 5,000 x 2,000 Poisson counts of true rank 10, k = 10, R = 10 restarts, 50
iterations each with tol = 0 (every run does the same work). Prints

    restarts_batched_over_single_fit: <t(batched R restarts) / t(one nmfkit.nmf fit)>
    restarts_batched_over_sequential: <t(batched) / t(R nmfkit.nmf fits one by one)>

(medians of ``--repeats`` runs). Usage::

    python benchmarks/bench_restarts.py [--loss frobenius|kl] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

import nmfkit
from nmfkit.selection import restarts


def _median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--loss", default="frobenius")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--n-restarts", type=int, default=10)
    p.add_argument("--max-iter", type=int, default=50)
    args = p.parse_args(argv)
    X = nmfkit.datasets.make_low_rank(5000, 2000, 10, kind="poisson", random_state=0).X
    k, R, it = 10, args.n_restarts, args.max_iter
    kw = dict(loss=args.loss, init="random", max_iter=it, tol=0)
    print(f"# X {X.shape} {X.dtype}, k={k}, R={R}, {it} iterations, loss={args.loss}, "
          f"cpus={os.cpu_count()}, load={os.getloadavg()[0]:.2f}")
    single, ts = _median_time(lambda: nmfkit.nmf(X, k, random_state=0, **kw), args.repeats)
    print(f"# single fit: {single:.3f} s {['%.3f' % t for t in ts]}")
    batched, tb = _median_time(lambda: restarts(X, k, R, random_state=0, **kw), args.repeats)
    print(f"# batched {R} restarts: {batched:.3f} s {['%.3f' % t for t in tb]}")
    seq, tq = _median_time(lambda: restarts(X, k, R, random_state=0, batched=False, **kw),
                           args.repeats)
    print(f"# sequential {R} restarts: {seq:.3f} s {['%.3f' % t for t in tq]}")
    print(f"# load after: {os.getloadavg()[0]:.2f}")
    print(f"restarts_batched_over_single_fit: {batched / single:.2f}")
    print(f"restarts_batched_over_sequential: {batched / seq:.2f}")


if __name__ == "__main__":
    main()
