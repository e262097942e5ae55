"""KL ``transform``: nmfkit's exact codes against scikit-learn's multiplicative transform.

Bundled mouse10k and pbmc68k counts (CSR, float64), k = 10. One basis ``H`` per data set
(a 200-iteration nmfkit KL fit, ``refine_W=False``) is given to every method:

* ``nmfkit``: ``NMF(loss="kl").transform`` (NNLS start, then ``solvers.kl_codes``:
  projected Newton, all rows batched, scaled KKT residual <= 1e-10);
* ``nmfkit_mu``: the transform nmfkit ran before (multiplicative updates with H fixed
  from the same start, ``max_iter=500``, ``tol=1e-6``);
* ``sklearn``: ``sklearn.decomposition.NMF(beta_loss="kullback-leibler",
  solver="mu").transform`` with the same ``components_`` (its defaults: 200 MU
  iterations, ``tol=1e-4``).

For each: seconds (median of ``--repeats``), the KL objective and the scaled KKT residual
of the codes (max over rows of ``|Ĝ|`` where ``w > 0`` and ``max(−Ĝ, 0)`` where ``w = 0``,
``Ĝ = G / (1 Hᵀ)``; 0 at the exact minimiser). Also the cost of the exact refine in a fit:
``NMF(loss="kl", max_iter=200)`` with ``refine_W=True`` over ``refine_W=False``. Prints
``name: value`` lines. Usage::

    python benchmarks/bench_kl_transform.py [--repeats 3] [--data pbmc68k mouse10k wide] [-k 10]
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import scipy.sparse as sp
from _timing import timed
from sklearn.decomposition import NMF as SkNMF

import nmfkit
from nmfkit.backends import get_namespace
from nmfkit.losses import Penalty, Target, beta_divergence
from nmfkit.models._core import project, run_nmf
from nmfkit.solvers import LoopOptions
from nmfkit.solvers.kl_codes import kl_kkt_residual


def kkt(X, W, H):
    """Max over rows of the scaled KKT residual of the KL codes ``W`` (no weights)."""
    X = sp.csr_matrix(X)
    W = np.asarray(W, dtype=np.float64)
    rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
    y = np.einsum("nk,nk->n", W[rows], H.T[X.indices])
    with np.errstate(divide="ignore"):
        ratio = sp.csr_matrix((X.data / y, X.indices, X.indptr), shape=X.shape)
    C = np.broadcast_to(H.sum(axis=1), W.shape)
    return float(kl_kkt_residual(W, C - ratio @ H.T, C).max())


def old_mu(target, H):
    """nmfkit's KL transform before the exact codes: MU from the clamped NNLS start."""
    W = project(target, H, beta=2.0, penalty=Penalty())
    W = np.maximum(W, max(float(W.sum()) / W.size, 1e-12) * 1e-2)
    opts = LoopOptions(max_iter=500, tol=1e-6, loss_every=10, warn=False, desc="transform")
    loop, _ = run_nmf(target, [W], [H], beta=1.0, solver="mu", penalty=Penalty(), options=opts,
                      update_H=False)
    return loop.state["W"][0]


def bench(name, X, k, repeats):
    X = sp.csr_matrix(X, dtype=np.float64)
    fit = nmfkit.NMF(k, loss="kl", max_iter=200, tol=0, random_state=0, refine_W=False)
    t_plain, _ = timed(lambda: fit.fit(X), repeats)
    H = fit.components_
    t_refine, _ = timed(lambda: nmfkit.NMF(k, loss="kl", max_iter=200, tol=0, random_state=0,
                                           refine_W=True).fit(X), repeats)
    target = Target(X, None, get_namespace(X))
    sk = SkNMF(k, beta_loss="kullback-leibler", solver="mu", init="nndsvda", max_iter=5).fit(X)
    sk.components_ = H.copy()
    runs = {"nmfkit": lambda: fit.transform(X), "nmfkit_mu": lambda: old_mu(target, H),
            "sklearn": lambda: sk.transform(X)}
    res = {}
    for label, fn in runs.items():
        t, W = timed(fn, repeats)
        obj = float(beta_divergence(target, np.asarray(W, dtype=np.float64), H, 1.0))
        res[label] = (t, obj)
        print(f"{name}_{label}_transform_seconds: {t:.4f}")
        print(f"{name}_{label}_objective: {obj:.10g}")
        print(f"{name}_{label}_kkt_residual: {kkt(X, W, H):.3e}")
    for label in ("nmfkit_mu", "sklearn"):
        print(f"{name}_{label}_over_nmfkit_time: {res[label][0] / res['nmfkit'][0]:.3f}")
        print(f"{name}_{label}_minus_nmfkit_objective_rel: "
              f"{(res[label][1] - res['nmfkit'][1]) / res['nmfkit'][1]:.3e}")
    print(f"{name}_fit_seconds_refine_False: {t_plain:.3f}")
    print(f"{name}_fit_seconds_refine_True: {t_refine:.3f}")
    print(f"{name}_fit_refine_True_over_False: {t_refine / t_plain:.3f}")


def _wide():
    """Synthetic wide counts: 2,000 rows x 20,000 features (12.6 % non-zero), rank 10, as
    single-cell data with all genes kept (the exact codes' Hessians cost nnz x k²)."""
    rng = np.random.default_rng(0)
    rate = rng.gamma(0.5, 1.0, (2000, 10)) @ rng.gamma(0.2, 1.0, (10, 20000)) * 0.15
    return type("Data", (), {"X": sp.csr_matrix(rng.poisson(rate).astype(float))})


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("-k", type=int, default=10)
    ap.add_argument("--data", nargs="*", default=["pbmc68k", "mouse10k"])
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    loaders = {"mouse10k": nmfkit.datasets.load_mouse10k, "pbmc68k": nmfkit.datasets.load_pbmc68k,
               "wide": _wide}
    for name in args.data:
        X = loaders[name]().X
        print(f"{name}_shape: {X.shape[0]}x{X.shape[1]} nnz={sp.csr_matrix(X).nnz}")
        bench(name, X, args.k, args.repeats)


if __name__ == "__main__":
    main()
