"""Core dense Frobenius speed against scikit-learn, in one process on the same data.

Dense 5,000 x 2,000 Poisson low-rank matrix (rank 20), k = 20, same NNDSVDA start.

* ``fit_time_over_sklearn_cd`` (issue 3 point 1, target <= 0.2): time for nmfkit's
  HALS (default: extrapolated) to reach the loss scikit-learn's ``cd`` solver has
  after 200 iterations (tol=0), over scikit-learn's time for those 200 iterations.
  "Reach" means within ``--rel-tol`` (default 1e-12) relative: both solvers converge to
  the same minimum and the last digits of the two loss evaluations differ by
  round-off (measured: about 2e-15 relative), so an exact ``<=`` would be a coin toss
  on the 15th digit. The script also prints the gap of nmfkit's final loss evaluated
  with scikit-learn's own function.
* ``transform_speedup`` (point 3, target >= 100): scikit-learn ``transform`` (its
  solver with H fixed) over nmfkit's (exact NNLS), with both losses printed.
* ``hals_iteration_over_products`` (point 4, target <= 1.5): one HALS iteration over
  the time of ``X Hᵀ`` and ``Wᵀ X`` in the same process (plain and extrapolated).
* ``float32_speedup`` (point 6, target >= 1.5): float64 over float32 time of a
  default fit (HALS, ``tol=1e-4``, at most 200 iterations) from the same start, with
  the relative gap of the final losses (target <= 1e-3), both evaluated in float64.

Prints ``name: value`` lines; medians of ``--repeats`` runs. Usage::

    python benchmarks/bench_core.py [--repeats 3] [--n-samples 5000] [--n-features 2000]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
import warnings

import numpy as np
from sklearn.decomposition import NMF as SkNMF
from sklearn.decomposition._nmf import _beta_divergence, _initialize_nmf

import nmfkit
from nmfkit.backends import NumpyBackend
from nmfkit.datasets import make_low_rank
from nmfkit.losses import Target, Term
from nmfkit.solvers import HALSStep


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def bench_fit(X, W0, H0, k, args):
    sk_times, nk_times, nk_iters, gaps = [], [], [], []
    for _ in range(args.repeats):
        sk = SkNMF(k, solver="cd", init="custom", max_iter=args.sk_iter, tol=0)
        t_sk, W_sk = timed(lambda: sk.fit_transform(X, W=W0.copy(), H=H0.copy()))
        target = _beta_divergence(X, W_sk, sk.components_, 2)
        sk_times.append(t_sk)

        def reached(n_iter, W, H, loss):
            return loss <= target * (1 + args.rel_tol)

        t_nk, res = timed(lambda: nmfkit.nmf(X, k, solver="hals", init="custom", W=W0, H=H0,
                                             max_iter=args.sk_iter * 5, tol=0, callback=reached))
        assert res.stop_reason == "callback", "nmfkit did not reach scikit-learn's loss"
        nk_times.append(t_nk)
        nk_iters.append((res.n_iter, res.info["n_steps"]))
        gaps.append(_beta_divergence(X, res.W, res.H, 2) / target - 1)
    t_sk, t_nk = statistics.median(sk_times), statistics.median(nk_times)
    print(f"# fit sklearn cd {args.sk_iter} it: {t_sk:.3f} s {[round(t, 3) for t in sk_times]} "
          f"(loss {target:.10g})")
    print(f"# fit nmfkit hals to that loss (rel tol {args.rel_tol:g}): {t_nk:.3f} s "
          f"{[round(t, 3) for t in nk_times]}, (iterations, steps) {nk_iters}")
    print(f"# nmfkit final loss / sklearn loss - 1, both by sklearn's _beta_divergence: "
          f"{[f'{g:.1e}' for g in gaps]}")
    print(f"fit_time_over_sklearn_cd: {t_nk / t_sk:.3f}")


def bench_transform(X, k, args):
    model = nmfkit.NMF(k, max_iter=300, random_state=0).fit(X)
    H = model.components_
    W0, _ = _initialize_nmf(X, k, init="nndsvda", random_state=0)
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
    print(f"# transform sklearn: {statistics.median(tr_sk):.4f} s loss {l_sk:.10g}")
    print(f"# transform nmfkit: {statistics.median(tr_nk):.4f} s loss {l_nk:.10g}")
    print(f"transform_loss_nmfkit_over_sklearn: {l_nk / l_sk:.10f}")
    print(f"transform_speedup: {statistics.median(tr_sk) / statistics.median(tr_nk):.1f}")
    return model


def _median_call(fn, n):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def bench_roofline(X, W0, H0, args):
    b = NumpyBackend()
    t = Target(X, None, b)
    n = 5 * args.repeats
    step = HALSStep([Term(t, 2.0)], b)
    state = step.prepare({"W": W0.copy()[None], "H": H0.copy()[None]})
    for _ in range(3):  # leave the first, atypical iterations
        step(state)
    W, H = state["W"][0], state["H"][0]
    t_products = _median_call(lambda: (X @ H.T, W.T @ X), n)
    t_plain = _median_call(lambda: step(state), n)
    res = nmfkit.nmf(X, H0.shape[0], init="custom", W=W0, H=H0, max_iter=n + 3, tol=0)
    t_acc = res.elapsed / max(res.info["n_steps"], 1)
    print(f"# products X Hᵀ + Wᵀ X: {t_products * 1e3:.1f} ms; HALS iteration {t_plain * 1e3:.1f} ms; "
          f"extrapolated HALS per step (whole nmf() call / steps) {t_acc * 1e3:.1f} ms")
    print(f"hals_iteration_over_products: {t_plain / t_products:.2f}")
    print(f"hals_extrapolated_step_over_products: {t_acc / t_products:.2f}")


def bench_float32(X, W0, H0, k, args):
    X32, W32, H32 = (a.astype(np.float32) for a in (X, W0, H0))
    kw = dict(solver="hals", init="custom", max_iter=200, tol=1e-4)
    t64, t32, gaps = [], [], []
    for _ in range(args.repeats):
        a, r64 = timed(lambda: nmfkit.nmf(X, k, W=W0, H=H0, **kw))
        b, r32 = timed(lambda: nmfkit.nmf(X32, k, W=W32, H=H32, **kw))
        t64.append(a)
        t32.append(b)
        l64 = _beta_divergence(X, r64.W, r64.H, 2)
        l32 = _beta_divergence(X, r32.W.astype(np.float64), r32.H.astype(np.float64), 2)
        gaps.append(abs(l32 - l64) / l64)
    assert r32.W.dtype == np.float32 and r32.H.dtype == np.float32
    print(f"# float64 {statistics.median(t64):.3f} s ({r64.n_iter} it, {r64.info['n_steps']} steps), "
          f"float32 {statistics.median(t32):.3f} s ({r32.n_iter} it, {r32.info['n_steps']} steps); "
          f"losses {l64:.10g} / {l32:.10g}")
    print(f"float32_loss_rel_gap: {max(gaps):.1e}")
    print(f"float32_speedup: {statistics.median(t64) / statistics.median(t32):.2f}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--n-samples", type=int, default=5000)
    ap.add_argument("--n-features", type=int, default=2000)
    ap.add_argument("-k", type=int, default=20)
    ap.add_argument("--sk-iter", type=int, default=200)
    ap.add_argument("--rel-tol", type=float, default=1e-12)
    ap.add_argument("--only", choices=["fit", "transform", "roofline", "float32"], nargs="*")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    k = args.k
    X, _, _ = make_low_rank(args.n_samples, args.n_features, k, noise=1.0, kind="poisson",
                            random_state=0)
    W0, H0 = _initialize_nmf(X, k, init="nndsvda", random_state=0)
    print(f"# data {X.shape}, k={k}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cpus, load {os.getloadavg()[0]:.2f}, numpy {np.__version__}, "
          f"nmfkit {nmfkit.__version__}")
    only = set(args.only or ["fit", "transform", "roofline", "float32"])
    if "fit" in only:
        bench_fit(X, W0, H0, k, args)
    if "transform" in only:
        bench_transform(X, k, args)
    if "roofline" in only:
        bench_roofline(X, W0, H0, args)
    if "float32" in only:
        bench_float32(X, W0, H0, k, args)
    print(f"# load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
