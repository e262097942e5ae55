"""Core speed against scikit-learn, in one process on the same data.

Dense 5,000 x 2,000 Poisson low-rank matrix (rank 20), k = 20, same NNDSVDA start:

* fit: time for nmfkit's HALS to reach the loss scikit-learn's ``cd`` solver has after
  200 iterations (tol=0), against scikit-learn's time for those 200 iterations;
* transform: ``transform`` with fixed components (nmfkit: exact NNLS; scikit-learn:
  its solver with H fixed), time and loss.

Prints ``name: ratio`` lines (ratio > 1 means nmfkit is faster). Usage::

    python benchmarks/bench_core.py [--repeats 3] [--n-samples 5000] [--n-features 2000]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
import warnings

import numpy as np
from sklearn.decomposition import NMF as SkNMF
from sklearn.decomposition._nmf import _beta_divergence, _initialize_nmf

import nmfkit
from nmfkit.datasets import make_low_rank


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--n-samples", type=int, default=5000)
    ap.add_argument("--n-features", type=int, default=2000)
    ap.add_argument("-k", type=int, default=20)
    ap.add_argument("--sk-iter", type=int, default=200)
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    k = args.k
    X, _, _ = make_low_rank(args.n_samples, args.n_features, k, noise=1.0, kind="poisson",
                            random_state=0)
    W0, H0 = _initialize_nmf(X, k, init="nndsvda", random_state=0)
    print(f"# data {X.shape}, k={k}, machine: {platform.processor() or platform.machine()}, "
          f"numpy {np.__version__}, nmfkit {nmfkit.__version__}")

    sk_times, nk_times, nk_iters = [], [], []
    for _ in range(args.repeats):
        sk = SkNMF(k, solver="cd", init="custom", max_iter=args.sk_iter, tol=0)
        t_sk, W_sk = timed(lambda: sk.fit_transform(X, W=W0.copy(), H=H0.copy()))
        target = _beta_divergence(X, W_sk, sk.components_, 2)
        sk_times.append(t_sk)

        def reached(n_iter, W, H, loss):
            return loss <= target

        t_nk, res = timed(lambda: nmfkit.nmf(X, k, solver="hals", init="custom", W=W0, H=H0,
                                             max_iter=args.sk_iter * 5, tol=0, callback=reached))
        assert res.stop_reason == "callback", "nmfkit did not reach scikit-learn's loss"
        nk_times.append(t_nk)
        nk_iters.append(res.n_iter)
    t_sk, t_nk = statistics.median(sk_times), statistics.median(nk_times)
    print(f"fit sklearn cd {args.sk_iter} it: {t_sk:.3f} s (loss {target:.6g})")
    print(f"fit nmfkit hals to that loss: {t_nk:.3f} s in {statistics.median(nk_iters):.0f} it")
    print(f"fit_time_to_sklearn_cd_loss: {t_sk / t_nk:.2f}")

    model = nmfkit.NMF(k, max_iter=300, random_state=0).fit(X)
    H = model.components_
    sk = SkNMF(k, solver="cd", init="custom", max_iter=1, tol=0)
    sk.fit(X, W=W0.copy(), H=H.copy())
    sk.components_ = H.copy()
    sk.max_iter = 200
    tr_sk, tr_nk = [], []
    for _ in range(args.repeats):
        t, W_sk = timed(lambda: sk.transform(X))
        tr_sk.append(t)
        t, W_nk = timed(lambda: model.transform(X))
        tr_nk.append(t)
    l_sk = _beta_divergence(X, W_sk, H, 2)
    l_nk = _beta_divergence(X, W_nk, H, 2)
    print(f"transform sklearn: {statistics.median(tr_sk):.3f} s loss {l_sk:.8g}")
    print(f"transform nmfkit: {statistics.median(tr_nk):.3f} s loss {l_nk:.8g}")
    print(f"transform_loss_ratio_nmfkit_over_sklearn: {l_nk / l_sk:.8f}")
    print(f"transform_speedup: {statistics.median(tr_sk) / statistics.median(tr_nk):.1f}")


if __name__ == "__main__":
    main()
