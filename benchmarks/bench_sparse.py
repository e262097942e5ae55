"""SparseNMF (Hoyer's sparseness constraint) against scikit-learn's NMF on the ORL faces.

Both in one process on the same data (400 faces; ``--step 2`` keeps every other pixel in
each direction: 56 × 46 = 2,576 pixels; ``--step 1`` is the full 112 × 92), the same
number of iterations (``tol=0``), the same start (NNDSVDa). scikit-learn has no
sparseness constraint: it runs plain NMF (coordinate descent) and NMF with an L1 penalty
on both factors; the table shows time, time per iteration, the parts' mean Hoyer
sparseness and the relative error of each.

    OMP_NUM_THREADS=1 python benchmarks/bench_sparse.py [--step 2] [--k 16] [--iters 200]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from sklearn.decomposition import NMF as SkNMF

from nmfkit.datasets import load_orl_faces
from nmfkit.models.sparse import SparseNMF
from nmfkit.solvers.sparseness import hoyer_sparseness


def _row(name, seconds, iters, H, err):
    live = H[H.sum(1) > 0]
    s = hoyer_sparseness(live, 1).mean()
    print(f"{name:<28} {seconds:8.2f} s  {1e3 * seconds / iters:8.2f} ms/it  sparseness {s:.3f}"
          f"  rel err {err:.4f}")
    return seconds


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--step", type=int, default=2)
    ap.add_argument("--k", type=int, default=16)
    ap.add_argument("--iters", type=int, default=200)
    ap.add_argument("--target", type=float, default=0.7)
    a = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    X = np.asarray(load_orl_faces().X).reshape(400, 112, 92)[:, ::a.step, ::a.step].reshape(400, -1)
    norm = np.linalg.norm(X)
    print(f"ORL faces {X.shape[0]} x {X.shape[1]}, k={a.k}, {a.iters} iterations each")
    times = {}
    l1 = dict(alpha_W=1e-3, alpha_H="same", l1_ratio=1.0)
    for name, kw in (("sklearn NMF (cd)", {}), ("sklearn NMF l1=1e-3 (cd)", l1)):
        t0 = time.perf_counter()
        m = SkNMF(a.k, init="nndsvda", max_iter=a.iters, tol=0, random_state=0, **kw)
        W = m.fit_transform(X)
        el = time.perf_counter() - t0
        times[name] = _row(name, el, m.n_iter_, m.components_,
                           np.linalg.norm(X - W @ m.components_) / norm)
    for solver in ("hals", "mu"):
        name = f"nmfkit SparseNMF s_H={a.target} ({solver})"
        t0 = time.perf_counter()
        m = SparseNMF(a.k, sparseness_H=a.target, solver=solver, max_iter=a.iters, tol=0,
                      random_state=0).fit(X)
        el = time.perf_counter() - t0
        times[name] = _row(name, el, m.n_iter_, m.components_, m.reconstruction_err_ / norm)
    ref = times["sklearn NMF (cd)"]
    for name, t in times.items():
        print(f"ratio {name:<36} / sklearn NMF: {t / ref:6.2f}")


if __name__ == "__main__":
    main()
