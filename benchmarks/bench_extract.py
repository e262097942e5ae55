"""Signature extraction on the 21 breast cancers: nmfkit's extract, and SigProfilerExtractor beside it.

Part 1 (always): ``nmfkit.signatures.extract`` on the bundled 21 breast-cancer SBS-96 catalog
with ks 1-10 x 100 replicates at its defaults (tol-based stopping) and with a fixed number of
iterations (``--iterations``, tol = 0), timed; the chosen ranks of both rules and, with COSMIC
available, the decomposition.

Part 2 (``--peer-python PATH``): SigProfilerExtractor 1.4.1 with the **same** ks, replicates and
fixed iteration count (``benchmarks/peer_sigprofiler.py`` run by that interpreter in a
subprocess: it holds SigProfilerExtractor in its own virtual environment; see that script's
docstring for the recipe), and the comparison: time ratio, suggested ranks, and per rank the
cosine of SigProfiler's de novo signatures with nmfkit's consensus after Hungarian matching.

Usage::

    python benchmarks/bench_extract.py [--iterations 5000] [--replicates 100] [--ks 1-10]
        [--cosmic PATH] [--peer-python /work/spe/venv/bin/python] [--out bench_extract_out]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from nmfkit.cli._rank import parse_ks
from nmfkit.datasets import load_breast_cancer_sbs96
from nmfkit.signatures import extract, load_cosmic, match_signatures, read_catalog

HERE = Path(__file__).resolve().parent
CATALOG = HERE.parent / "src" / "nmfkit" / "datasets" / "_data" / "sigprofiler_21BRCA_SBS96.txt"


def _cosmic(path):
    try:
        return load_cosmic(path)
    except FileNotFoundError as err:
        print(f"# COSMIC unavailable ({err}); no decomposition")
        return None


def run_nmfkit(X, ks, R, iterations, dtype, cosmic, seed):
    kw = dict(n_replicates=R, reference=cosmic, dtype=dtype, random_state=seed)
    if iterations:
        kw.update(max_iter=iterations, tol=0.0)
    t = time.perf_counter()
    res = extract(X, ks, **kw)
    return res, time.perf_counter() - t


def _describe(res, label, seconds):
    print(f"\n## nmfkit extract, {label}: {seconds:.1f} s; {res}")
    cols = ["avg_stability", "min_stability", "reconstruction_error", "cv_error", "converged",
            "n_iter", "seconds"]
    print(res.table[cols].to_string(float_format=lambda v: f"{v:.4g}"))
    if res.decomposition is not None:
        print(res.decomposition[["best_match", "cosine_before", "description",
                                 "cosine_after"]].to_string())


def run_peer(python, ks, R, iterations, seed, out):
    cmd = [python, str(HERE / "peer_sigprofiler.py"), str(CATALOG), "--ks", f"{ks[0]}-{ks[-1]}",
           "--replicates", str(R), "--iterations", str(iterations), "--out", str(out),
           "--cpu", str(os.cpu_count() or 1), "--seed", str(seed)]
    print("\n# peer:", " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"# peer failed (exit {proc.returncode}): {proc.stderr.strip()[-500:]}")
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def compare(res, peer):
    rows = []
    for entry in peer["per_k"]:
        k = int(entry["k"])
        if k not in res.solutions or not entry.get("signatures_file"):
            continue
        theirs = read_catalog(entry["signatures_file"], orientation="types_x_samples")
        ours = res.solutions[k].signatures
        m = match_signatures(ours, theirs)
        rows.append(dict(k=k, mean_cosine=m.mean, min_cosine=float(m.cosine.min()),
                         stability_nmfkit=float(res.table.loc[k, "avg_stability"]),
                         stability_sigprofiler=entry.get("avg_stability")))
    return pd.DataFrame(rows).set_index("k")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ks", type=parse_ks, default=list(range(1, 11)))
    p.add_argument("--replicates", type=int, default=100)
    p.add_argument("--iterations", type=int, default=5000,
                   help="fixed iterations of the matched run (both tools)")
    p.add_argument("--precision", choices=("single", "double"), default="single")
    p.add_argument("--cosmic", default=None)
    p.add_argument("--peer-python", default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="folder for the peer's output (default: a temp dir)")
    args = p.parse_args(argv)
    X = load_breast_cancer_sbs96().X
    dtype = np.float32 if args.precision == "single" else np.float64
    cosmic = _cosmic(args.cosmic)
    print(f"# {platform.node()} {platform.machine()} cpus={os.cpu_count()} python {platform.python_version()}")
    print(f"# catalog {X.shape[0]} samples x {X.shape[1]} types; ks {args.ks}; {args.replicates} "
          f"replicates; {args.precision} precision")
    res_def, t_def = run_nmfkit(X, args.ks, args.replicates, None, dtype, cosmic, args.seed)
    _describe(res_def, "defaults (tol-based stopping)", t_def)
    res_fix, t_fix = run_nmfkit(X, args.ks, args.replicates, args.iterations, dtype, cosmic, args.seed)
    _describe(res_fix, f"{args.iterations} iterations per replicate (tol = 0)", t_fix)
    if not args.peer_python:
        return
    out = Path(args.out or tempfile.mkdtemp(prefix="peer_spe_"))
    peer = run_peer(args.peer_python, args.ks, args.replicates, args.iterations, args.seed, out / "run")
    if peer is None:
        return
    print(f"\n## SigProfilerExtractor {peer['version']}: {peer['seconds']:.1f} s, suggested k "
          f"{peer['suggested_k']}")
    print(f"time SigProfilerExtractor / nmfkit (same {args.iterations} iterations): "
          f"{peer['seconds'] / t_fix:.1f}x; / nmfkit at defaults: {peer['seconds'] / t_def:.1f}x")
    print("agreement of the de novo signatures (nmfkit fixed-iteration run vs SigProfiler, "
          "Hungarian on cosine):")
    print(compare(res_fix, peer).to_string(float_format=lambda v: f"{v:.3f}"))
    print(f"suggested k: SigProfilerExtractor {peer['suggested_k']}, nmfkit SigProfiler rule "
          f"{res_fix.k_sigprofiler} (defaults: {res_def.k_sigprofiler}), nmfkit CV {res_fix.k_cv} "
          f"(defaults: {res_def.k_cv})")


if __name__ == "__main__":
    sys.exit(main())
