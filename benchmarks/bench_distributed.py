"""Per-iteration time of the single-machine engine against ``nmfkit.distributed`` (issue 12.3).

The same sparse data (default 20,000 × 2,000 at 2 % density, k = 10) and the same start:
the single-machine engine (:func:`nmfkit.models._core.run_nmf`, no extrapolation) against
the Dask engine on a ``LocalCluster`` of 1 and 2 worker processes (one thread each),
``persist=True``, X split in ``--blocks`` row blocks. HALS (Frobenius) and MU (KL).
Per-iteration time is the median of the loop's iterations after the first two (the
single-machine one from the loop's elapsed time / iterations). ``bytes/it`` are the
arrays the client sent to and gathered from the workers per iteration (``H``, ``H Hᵀ``,
the summed products, the HALS sweep changes, checkpoints of ``W`` every 10 iterations);
``wkr-out/it`` is what the workers sent out (to each other for the tree sums, and to the
client), from distributed's ``transfer_outgoing_bytes_total`` (nan where it is missing). BLAS runs one thread everywhere::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/bench_distributed.py
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402


def _data(n, m, density, k, seed=0):
    rng = np.random.default_rng(seed)
    X = sp.random(n, m, density=density, format="csr", random_state=seed,
                  data_rvs=lambda s: rng.gamma(2.0, 1.0, s))
    W0 = rng.random((n, k)) + 0.1
    H0 = rng.random((k, m)) + 0.1
    return X, W0, H0


def _single(X, W0, H0, beta, solver, iters):
    from nmfkit._validation import check_data
    from nmfkit.losses import Penalty
    from nmfkit.models._core import build_target, run_nmf
    from nmfkit.solvers import LoopOptions

    t = build_target(check_data(X))
    loss_every = 1 if solver == "hals" else 10
    out, _ = run_nmf(t, [W0], [H0], beta=beta, solver=solver, penalty=Penalty(),
                     options=LoopOptions(max_iter=iters, tol=0, loss_every=loss_every, warn=False),
                     accelerate=False)
    return out.elapsed / iters, float(out.loss[0])


def _w2w(client):
    def sent(dask_worker):
        return float(getattr(dask_worker, "transfer_outgoing_bytes_total", float("nan")))

    return sum(client.run(sent).values())


def _dask(X, W0, H0, beta, solver, iters, workers, blocks):
    import dask.array as da
    import distributed

    import nmfkit.distributed as nd

    rows = -(-X.shape[0] // blocks)
    with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        dX = da.from_array(X, chunks=(rows, X.shape[1]), asarray=False)
        nd.nmf(dX, W0.shape[1], client=client, loss=beta, solver=solver, init="custom", W=W0,
               H=H0, max_iter=2, tol=0)  # warm up: imports and X on the workers
        w0 = _w2w(client)
        res = nd.nmf(dX, W0.shape[1], client=client, loss=beta, solver=solver, init="custom",
                     W=W0, H=H0, max_iter=iters, tol=0)
        w2w = (_w2w(client) - w0) / iters
    return res.info["time_per_iter"], float(res.loss), res.info["bytes_per_iter"], w2w


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--m", type=int, default=2_000)
    ap.add_argument("--density", type=float, default=0.02)
    ap.add_argument("-k", type=int, default=10)
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--blocks", type=int, default=4)
    args = ap.parse_args()
    X, W0, H0 = _data(args.n, args.m, args.density, args.k)
    print(f"X {args.n} x {args.m} CSR, density {args.density:g} (nnz {X.nnz}), k = {args.k}, "
          f"{args.iters} iterations, {args.blocks} row blocks, BLAS 1 thread, {os.cpu_count()} CPUs")
    print(f"{'solver':<10}{'engine':<16}{'s/iter':>9}{'ratio':>8}{'loss rel.diff':>15}"
          f"{'bytes/it':>11}{'wkr-out/it':>12}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for beta, solver, name in ((2.0, "hals", "hals/fro"), (1.0, "mu", "mu/kl")):
            t1, l1 = _single(X, W0, H0, beta, solver, args.iters)
            print(f"{name:<10}{'single':<16}{t1:>9.4f}{1.0:>8.2f}{0.0:>15.1e}{'-':>11}{'-':>12}")
            for w in (1, 2):
                t, loss, nbytes, w2w = _dask(X, W0, H0, beta, solver, args.iters, w, args.blocks)
                print(f"{name:<10}{f'dask {w} worker':<16}{t:>9.4f}{t / t1:>8.2f}"
                      f"{abs(loss - l1) / l1:>15.1e}{nbytes / 1e3:>9.0f}kB{w2w / 1e3:>10.0f}kB")


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - t0:.0f} s")
