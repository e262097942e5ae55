"""Run every benchmark of the core engine and print one table against the issue-3 targets.

Each benchmark script runs in its own process (so memory is measured cleanly and
one failure does not hide the others); its ``name: value`` lines are collected,
checked against the targets below and printed, with the full output of each
script above the table. Usage::

    python benchmarks/run_all.py [--repeats 3] [--quick]

``--quick`` uses 1 repeat and smaller problems (a smoke test, not for the record).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: name -> (comparison, target, issue point)
TARGETS = {
    "fit_time_over_sklearn_cd": ("<=", 0.2, "1 Frobenius dense fit time"),
    "kl_mouse10k_time_per_iteration_over_sklearn": ("<=", 0.2, "2 KL sparse per iteration (mouse10k)"),
    "kl_mouse10k_time_to_sklearn_loss_over_sklearn": ("<=", 0.2, "2 KL sparse time to loss (mouse10k)"),
    "kl_pbmc68k_time_per_iteration_over_sklearn": ("<=", 0.2, "2 KL sparse per iteration (pbmc68k)"),
    "kl_pbmc68k_time_to_sklearn_loss_over_sklearn": ("<=", 0.2, "2 KL sparse time to loss (pbmc68k)"),
    "transform_speedup": (">=", 100.0, "3 transform speed-up"),
    "transform_loss_nmfkit_over_sklearn": ("<=", 1.0 + 1e-12, "3 transform loss (equal or lower)"),
    "hals_iteration_over_products": ("<=", 1.5, "4 roofline: HALS iteration / products"),
    "hals_extrapolated_step_over_products": ("<=", 1.5, "4 roofline: extrapolated step / products"),
    "restarts_batched_over_single_fit": ("<=", 4.0, "5 batched 10 restarts / one fit"),
    "float32_speedup": (">=", 1.5, "6 float32 speed-up"),
    "float32_loss_rel_gap": ("<=", 1e-3, "6 float32 loss gap"),
    "kl_sparse_peak_over_csr_plus_factors": ("<=", 3.0, "7 KL sparse peak memory / (CSR + factors)"),
}


def run(script, args):
    cmd = [sys.executable, str(HERE / script), *args]
    print(f"$ {' '.join(cmd)}", flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    print(proc.stdout, end="")
    if proc.returncode:
        print(proc.stderr, end="")
        print(f"# {script} FAILED (exit {proc.returncode})")
    print(f"# ({time.perf_counter() - t0:.0f} s)\n", flush=True)
    return dict(re.findall(r"^([A-Za-z0-9_]+): ([-+0-9.eE]+)$", proc.stdout, flags=re.M))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    rep = ["--repeats", "1" if args.quick else str(args.repeats)]
    print(f"# {platform.platform()}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cpus, python {platform.python_version()}, load {os.getloadavg()[0]:.2f}")
    values = {}
    small = ["--n-samples", "1000", "--n-features", "400", "--sk-iter", "50"] if args.quick else []
    values.update(run("bench_core.py", rep + small))
    values.update(run("bench_kl_sparse.py", rep + (["--iters", "30"] if args.quick else [])))
    values.update(run("bench_restarts.py", rep + (["--max-iter", "10"] if args.quick else [])))
    values.update(run("bench_memory.py", ["--n-samples", "10000"] if args.quick else []))
    print(f"{'issue-3 point':48s} {'measured':>12s} {'target':>12s}  ok")
    failed = 0
    for name, (op, target, label) in TARGETS.items():
        if name not in values:
            print(f"{label:48s} {'missing':>12s} {op + ' ' + format(target, 'g'):>12s}  NO")
            failed += 1
            continue
        v = float(values[name])
        ok = v <= target if op == "<=" else v >= target
        failed += not ok
        print(f"{label:48s} {v:12.4g} {op + ' ' + format(target, 'g'):>12s}  {'yes' if ok else 'NO'}")
    print(f"# load after: {os.getloadavg()[0]:.2f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
