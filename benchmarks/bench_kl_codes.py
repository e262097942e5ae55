"""KL codes for a fixed basis: the exact solver against the iterative projection and scikit-learn.

``nmfkit.solvers.kl_codes`` (projected Newton, KKT residual 1e-10) is not yet what
``transform`` uses for KL (issue 16 wires it in); this script measures it, from the same
NNLS start, against ``models._core.project(beta=1)`` (the multiplicative updates that
``transform`` runs today) and scikit-learn's ``NMF.transform`` (mu), on bundled counts::

    python benchmarks/bench_kl_codes.py --repeats 3
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

from _timing import timed as _timed
from sklearn.decomposition import NMF as SkNMF

import nmfkit
from nmfkit.backends import get_namespace
from nmfkit.losses import Penalty, Target, beta_divergence
from nmfkit.models._core import project
from nmfkit.solvers.kl_codes import kl_codes


def _exact(target, H):
    """The exact codes from the same start as the iterative projection (the NNLS codes)."""
    W0 = project(target, H, beta=2.0, penalty=Penalty())
    return kl_codes(target.X, H, W0=W0)


def bench(name, X, k, repeats):
    X = X.astype(np.float64)
    fit = nmfkit.NMF(k, loss="kl", max_iter=200, tol=0, random_state=0).fit(X)
    H = fit.components_
    target = Target(X, None, get_namespace(X))
    sk = SkNMF(k, beta_loss="kullback-leibler", solver="mu", init="nndsvda", max_iter=5).fit(X)
    sk.components_ = H.copy()
    runs = {"exact": lambda: _exact(target, H),
            "iterative": lambda: project(target, H, beta=1.0, penalty=Penalty()),
            "sklearn": lambda: sk.transform(X)}
    res = {}
    for label, fn in runs.items():
        t, W = _timed(fn, repeats)
        res[label] = (t, float(beta_divergence(target, np.asarray(W, dtype=np.float64), H, 1.0)))
        print(f"{name}_{label}_seconds: {t:.4f}")
        print(f"{name}_{label}_objective: {res[label][1]:.10g}")
    for label in ("iterative", "sklearn"):
        print(f"{name}_exact_over_{label}_time: {res['exact'][0] / res[label][0]:.3f}")
        print(f"{name}_{label}_minus_exact_objective_rel: "
              f"{(res[label][1] - res['exact'][1]) / res['exact'][1]:.3e}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("-k", type=int, default=10)
    ap.add_argument("--data", nargs="*", default=["mouse10k", "pbmc68k"])
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    loaders = {"mouse10k": nmfkit.datasets.load_mouse10k, "pbmc68k": nmfkit.datasets.load_pbmc68k}
    for name in args.data:
        bench(name, loaders[name]().X, args.k, args.repeats)


if __name__ == "__main__":
    main()
