"""KL NMF on torch tensors: coordinate descent (vectorised path) against MU, same start.

Issue 16, point 1 ("torch where it vectorises") and the rule of ``solver="auto"``: on NumPy /
SciPy data with numba, "auto" runs the compiled CD kernel (``bench_kl_cd.py``); on torch it
runs MU. This measures whether that is right: per device (the CPU, and CUDA when torch sees
one), the bundled data as a dense tensor, one start for every method (the scaled uniform
start of ``bench_kl_cd.py``):

* ``mu``: nmfkit's multiplicative updates (``MUStep``), the reference: its objective after
  200 iterations and its time;
* ``cd+ex``: ``Extrapolated(KLCDStep(kernel="numpy"))``, what ``solver="cd"`` runs on torch
  (coordinate by coordinate, each a vectorised update of a whole column of W or row of H);

printed: seconds per iteration, and each method's time to MU's 200-iteration objective and
its ratio to MU's time (below 1: CD is the faster). Steps are timed with
``torch.cuda.synchronize()`` on CUDA; objectives are evaluated outside the timed region.

    python benchmarks/bench_kl_cd_torch.py [--names pbmc68k,mouse10k] [--k 10] [--dtype float64]
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_kl_cd import _data, _start, _trace  # noqa: E402

from nmfkit.backends import get_namespace  # noqa: E402
from nmfkit.losses import Target, Term  # noqa: E402
from nmfkit.solvers import Extrapolated, MUStep, objective_fn  # noqa: E402
from nmfkit.solvers.kl_cd import KLCDStep  # noqa: E402


def run_case(torch, name, k, device, dtype, budget):
    X = _data(name, False).toarray()
    W0, H0 = _start(X, k, 0)
    T = lambda a: torch.as_tensor(a, dtype=dtype, device=device)  # noqa: E731
    Xt = T(X)
    b = get_namespace(Xt)
    t = Term(Target(Xt, None, b), 1.0)
    objective = objective_fn([t], b)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    steps = {"mu": MUStep([t], b), "cd+ex": Extrapolated(KLCDStep([t], b, kernel="numpy"), objective, b)}
    out = {}
    for label, step in steps.items():
        warm = {"W": T(W0)[None].clone(), "H": T(H0)[None].clone()}
        if hasattr(step, "prepare"):
            step.prepare(warm)
        if isinstance(step, Extrapolated):
            step.start(objective(warm))
        for _ in range(3):  # kernel selection / caches outside the timed run
            step(warm, np.arange(1), True)
        state = {"W": T(W0)[None].clone(), "H": T(H0)[None].clone()}
        if hasattr(step, "prepare"):
            step.prepare(state)
        if isinstance(step, Extrapolated):
            step.prev = None
            step.start(objective(state))
        out[label] = _trace(step, state, objective, np.inf if label == "mu" else budget,
                            200 if label == "mu" else 100_000, sync)
    t_mu, f_mu = out["mu"][0][-1], out["mu"][1][-1]
    print(f"\n== {name} {X.shape[0]}x{X.shape[1]} dense k={k} on {device} ({dtype}); "
          f"MU 200 iterations: {t_mu:.3f} s, objective {f_mu:.6e}")
    for label, (times, objs) in out.items():
        hit = np.flatnonzero(objs <= f_mu)
        reach = float(times[hit[0]]) if hit.size else np.inf
        per = times[-1] / (len(times) - 1)
        print(f"{label:>8}: {1e3 * per:8.2f} ms/iteration, to MU's 200-it objective {reach:8.3f} s "
              f"= {reach / t_mu:6.3f} of MU's time; objective at the end {objs[-1]:.6e}")


def main(argv=None):
    import torch

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--names", default="pbmc68k,mouse10k")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--dtype", default="float64", choices=("float32", "float64"))
    p.add_argument("--devices", default=None, help="cpu,cuda (default: cpu, and cuda if present)")
    p.add_argument("--budget", type=float, default=30.0, help="seconds of CD steps at most")
    args = p.parse_args(argv)
    devices = args.devices.split(",") if args.devices else ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    if torch.cuda.is_available():
        print("CUDA device:", torch.cuda.get_device_name(0))
    for device in devices:
        for name in args.names.split(","):
            run_case(torch, name, args.k, device, getattr(torch, args.dtype), args.budget)


if __name__ == "__main__":
    main()
