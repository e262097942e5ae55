"""A/B timing of two source trees of nmfkit, interleaved, through the public API only.

Refactors must keep the speed (issue 11, point 7). Single ratios from ``run_all.py`` move
by 10-20 % between runs on a shared 2-core machine; this script alternates the two trees
(each in its own process, with ``PYTHONPATH`` set to its ``src``) several times and prints
per-iteration times of the same fits side by side, so a change of a few percent shows::

    python benchmarks/bench_ab.py --before ../old/src --after src --rounds 3

Workloads (``--what``): ``kl`` (sparse KL MU on bundled pbmc68k and mouse10k, k = 10),
``hals`` (dense 5,000 × 2,000 Frobenius, k = 20, with and without extrapolation), ``cnmf``
(``contrastive_nmf`` on the bcNMF simulation, Frobenius on log data and KL on counts).
Per-iteration time is the slope (t(3n) − t(n)) / 2n, median of repeats.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np


def _med(fn, n=5):
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def _slope(f, n, repeats):
    return (_med(lambda: f(3 * n), repeats) - _med(lambda: f(n), repeats)) / (2 * n)


def work(what: str):
    import nmfkit

    warnings.simplefilter("ignore")
    if what == "kl":
        for name, X in (("pbmc68k", nmfkit.datasets.load_pbmc68k().X),
                        ("mouse10k", nmfkit.datasets.load_mouse10k().X)):
            rng = np.random.default_rng(0)
            W0, H0 = rng.random((X.shape[0], 10)) + 0.1, rng.random((10, X.shape[1])) + 0.1
            f = lambda it, X=X, W0=W0, H0=H0: nmfkit.nmf(
                X, 10, loss="kl", init="custom", W=W0.copy(), H=H0.copy(), max_iter=it, tol=0)
            print(f"kl_{name}_ms_per_iter: {1e3 * _slope(f, 60 if name == 'pbmc68k' else 20, 5):.3f}")
    elif what == "hals":
        rng = np.random.default_rng(0)
        X = rng.poisson(rng.gamma(1, 1, (5000, 20)) @ rng.gamma(1, 1, (20, 2000)) / 5).astype(float)
        W0, H0 = rng.random((5000, 20)) + 0.1, rng.random((20, 2000)) + 0.1
        for acc in (True, False):
            f = lambda it, acc=acc: nmfkit.nmf(X, 20, init="custom", W=W0.copy(), H=H0.copy(),
                                               max_iter=it, tol=0, accelerate=acc)
            print(f"hals_accelerate{int(acc)}_ms_per_iter: {1e3 * _slope(f, 10, 3):.3f}")
    elif what == "cnmf":
        from nmfkit.datasets import make_contrastive_counts

        d = make_contrastive_counts(8, random_state=0)
        X, Y = d.log_normalized()
        for loss, A, B, a, n in (("frobenius", X, Y, 2.0, 60), ("kl", d.X, d.Y, 0.5, 30)):
            f = lambda it, loss=loss, A=A, B=B, a=a: nmfkit.contrastive_nmf(
                A, B, 2, loss=loss, alpha=a, n_restarts=1, max_iter=it, tol=0, random_state=0)
            print(f"cnmf_{loss}_ms_per_iter: {1e3 * _slope(f, n, 3):.3f}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", help="src folder of the 'before' tree")
    ap.add_argument("--after", default=os.path.join(os.path.dirname(__file__), "..", "src"))
    ap.add_argument("--what", default="kl,hals,cnmf")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--work", help=argparse.SUPPRESS)  # internal: run one workload here
    args = ap.parse_args(argv)
    if args.work:
        return work(args.work)
    if not args.before:
        ap.error("--before is required (the src folder of the tree to compare with)")
    for r in range(args.rounds):
        for side, src in (("before", args.before), ("after", args.after)):
            for what in args.what.split(","):
                env = dict(os.environ, PYTHONPATH=os.path.abspath(src))
                out = subprocess.run([sys.executable, __file__, "--work", what], env=env,
                                     capture_output=True, text=True, check=True).stdout
                print(f"round {r + 1} {side:6s} " + " ".join(out.split()), flush=True)


if __name__ == "__main__":
    main()
