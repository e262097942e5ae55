"""Archetypal analysis: nmfkit's PCHA against the PyPI ``archetypes`` package in one process.

Explained variance ``1 − ‖X − A Z‖² / ‖X − X̄‖²`` and wall time at equal k on the
bundled digits (1,797 × 64) or mice protein (complete rows, standardised). The peer is
``archetypes.AA`` (projected gradient, ``max_iter=300``, ``tol=1e-4``) with its default
``init="uniform"`` and with ``init="furthest_sum"`` (nmfkit's start), each on the raw
data and on the data divided by its root mean square: the peer's projected gradient
starts every line search at step 1 with at most 10 halvings, so on raw digits (0–16)
it often accepts no step and stops after 2 iterations (its ``tol`` is absolute). AA is
scale-equivariant (the same ``A`` and ``B`` fit ``c X``), so the scaled run is the same
problem. nmfkit limits BLAS to one thread for problems this small (many k-sized
products); the peer is timed with one thread too (``--peer-threads 0``: its default,
which measured slower on a busy 2-core machine). ``archetypes`` is not a dependency of
nmfkit: run with an environment that has it::

    PYTHONPATH=src /work/scratch-aa/bin/python benchmarks/bench_archetypal.py --k 8 16
    PYTHONPATH=src python benchmarks/bench_archetypal.py --data mice --k 6

(``py_pcha`` 0.1.3, the other Python PCHA, fails on NumPy >= 2: it calls ``np.mat``.)
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

from nmfkit.models.archetypal import ArchetypalAnalysis


def _data(name: str) -> np.ndarray:
    if name == "digits":
        from nmfkit.datasets import load_digits

        return load_digits().X
    from nmfkit.datasets import load_mice_protein

    data = load_mice_protein()
    X = np.asarray(data.X, dtype=np.float64)
    X = X[np.isfinite(X).all(axis=1)]
    return (X - X.mean(axis=0)) / X.std(axis=0)


def _ev(X, A, Z) -> float:
    return 1.0 - float(((X - A @ Z) ** 2).sum() / ((X - X.mean(axis=0)) ** 2).sum())


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", choices=("digits", "mice"), default="digits")
    ap.add_argument("--k", type=int, nargs="+", default=[8, 16])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--restarts", type=int, default=3,
                    help="also fit nmfkit with this many restarts (AA has local optima; 1: skip)")
    ap.add_argument("--peer-threads", type=int, default=1,
                    help="BLAS threads of the peer (0: its default)")
    args = ap.parse_args(argv)
    X = _data(args.data)
    print(f"{args.data}: X {X.shape}")
    try:
        import archetypes
    except ImportError:
        archetypes = None
        print("archetypes is not importable: nmfkit only")
    for k in args.k:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t_ours, m = _timed(lambda: ArchetypalAnalysis(k, random_state=args.seed).fit(X))
        print(f"k={k:3d} nmfkit PCHA: EV {m.explained_variance_:.5f}  {t_ours:7.2f} s  "
              f"({m.n_iter_} iterations, {m.stop_reason_})")
        if args.restarts > 1:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t_r, mr = _timed(lambda: ArchetypalAnalysis(k, n_restarts=args.restarts,
                                                            random_state=args.seed).fit(X))
            print(f"      nmfkit PCHA n_restarts={args.restarts}: EV {mr.explained_variance_:.5f}  "
                  f"{t_r:7.2f} s")
        if archetypes is None:
            continue
        threads = args.peer_threads or None
        rms = float(np.sqrt((X * X).mean()))
        for init in ("uniform", "furthest_sum"):
            for label, Xp in (("raw", X), ("X/rms", X / rms)):
                with threadpool_limits(threads):
                    t_p, p = _timed(lambda: archetypes.AA(k, init=init,
                                                          random_state=args.seed).fit(Xp))
                print(f"      archetypes {archetypes.__version__} AA(init={init!r}) on {label}: "
                      f"EV {_ev(Xp, p.A_, p.archetypes_):.5f}  {t_p:7.2f} s  "
                      f"({p.n_iter_} iterations)  time ratio nmfkit/peer {t_ours / t_p:.3f}")


if __name__ == "__main__":
    main()
