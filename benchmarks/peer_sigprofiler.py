"""Run SigProfilerExtractor (the reference mutational-signature extractor) as a timed peer.

This script is run by the nmfkit benchmark in a subprocess, with the python of a separate
"peer" virtual environment that holds SigProfilerExtractor; it never imports nmfkit. It runs
``SigProfilerExtractor.sigpro.sigProfilerExtractor`` on a matrix catalog (tab-separated, first
column ``MutationType``, one column per sample, e.g. 96 x 21 SBS96 counts) with explicit,
matched settings, times the whole call with ``time.perf_counter`` and prints ONE JSON line to
stdout. Everything the tool prints (its own stdout and stderr, and that of its worker
processes) goes to ``<out>/sigprofiler_console.log``.

Usage::

    /work/spe/venv/bin/python benchmarks/peer_sigprofiler.py CATALOG --ks 1-10 \\
        --replicates 100 --iterations N --out DIR --cpu 2 --seed 0 \\
        [--cosmic-version 3.4] [--no-decompose] [--tolerance 1e-15]

Settings passed to ``sigProfilerExtractor``: ``input_type="matrix"``, ``exome=False``,
``resample=True``, ``matrix_normalization="gmm"``, ``nmf_init="random"``,
``precision="single"``, ``nmf_tolerance=1e-15``, ``minimum/maximum_signatures`` from
``--ks``, ``nmf_replicates=--replicates``, ``cpu=assignment_cpu=--cpu``,
``make_decomposition_plots=False``, ``cosmic_version=--cosmic-version`` (default 3.4; the
tool's own default is 3.6), ``stop_after_extraction=--no-decompose``.

Iterations. ``--iterations N`` sets ``min_nmf_iterations = max_nmf_iterations =
nmf_test_conv = N``. SigProfilerExtractor's KL multiplicative updates
(``nmf_cpu.NMF.fit``) loop ``for it in range(max_iterations)`` and may stop early only when
``it % test_conv == 0 and it > min_iterations and <loss converged>``, so with min = max
every replicate runs exactly N iterations (test_conv = N only makes it compute the loss once).
``--iterations default`` keeps the tool's own defaults instead (min 10,000, max 1,000,000,
test_conv 10,000, tolerance 1e-15: the number of iterations then depends on convergence).

Seeds. ``--seed S`` writes ``<out>/seeds_input.txt`` (the tab-separated ``Seed`` table the
tool reads) and passes its path as ``seeds``. SigProfilerExtractor 1.4.1 turns that table into
a 1-element array and calls ``int()`` on it, which NumPy >= 2.4 rejects ("only
0-dimensional arrays can be converted to Python scalars"), so the peer venv pins
``numpy<2.4``; under NumPy >= 2.4 this script instead passes ``seeds="random"`` and makes the
tool's ``SeedSequence()`` start from S (same seed stream, recorded in ``<out>/Seeds.txt``).

Offline. Matrix input needs no reference genome, and the COSMIC decomposition reads the
reference signatures shipped inside the SigProfilerAssignment wheel
(``SigProfilerAssignment/data/Reference_Signatures``): nothing is downloaded. VCF input would
need a genome download and is not supported here.

Process start. SigProfilerExtractor forces ``multiprocessing.set_start_method("spawn")`` on
import, and opens new process pools for the replicates and the per-sample refits of every
rank; each spawned worker re-imports torch, pandas and the SigProfiler packages, which costs
several seconds per rank on a small machine. That overhead is part of the measured time
(it is how the tool runs); ``per_k[*].seconds`` (from ``JOB_METADATA.txt``, 1 s resolution)
and ``decomposition_seconds`` let a reader separate it from the NMF work.

Building the peer virtual environment (Python 3.11; these commands worked; install the CPU
torch FIRST, or pip pulls a multi-GB CUDA build)::

    python3 -m venv /work/spe/venv
    /work/spe/venv/bin/pip install torch==2.13.0
    printf 'torch==2.13.0\\nnumpy<2.4\\n' > /work/spe/constraints.txt
    /work/spe/venv/bin/pip install -c /work/spe/constraints.txt SigProfilerExtractor

which gave SigProfilerExtractor 1.4.1, SigProfilerAssignment 1.1.5,
SigProfilerMatrixGenerator 1.4.0, sigProfilerPlotting 1.4.3, torch 2.13.0+cpu, numpy 2.3.5,
pandas 3.1.1, scikit-learn 1.9.1, scipy 1.17.1.

Output JSON keys: ``seconds`` (whole ``sigProfilerExtractor`` call), ``decomposition_seconds``
(the COSMIC decomposition / refit step, null with ``--no-decompose``), ``version`` (of
SigProfilerExtractor), ``versions`` (of its stack), ``suggested_k`` (the starred row of
``All_solutions_stat.csv``), ``per_k`` (one object per rank: ``k``, ``avg_stability``,
``min_stability``, ``considerable``, ``p_value``, ``frobenius_pct``, ``mean_l1_pct``,
``max_l1_pct``, ``mean_l2_pct``, ``max_l2_pct``, ``mean_kl``, ``max_kl``,
``mean_cosine_distance``, ``max_cosine_distance``, ``mean_correlation``,
``min_correlation``, ``seconds``, ``signatures_file``), ``suggested_signatures_file``,
``cosmic_map_file``, ``stats_file``, ``settings``, ``out`` and ``console_log``. Percentages
are given as numbers (``"5.82%"`` -> 5.82); ``p_value`` is a number or the tool's text
(``"N/A"``, ``"Most Stab Sigs"``); ``signatures_file`` is the de novo signature matrix of that
rank, ``All_Solutions/<ctx>_<k>_Signatures/Signatures/<ctx>_S<k>_Signatures.txt`` (ctx =
``SBS96`` for 96 rows; tab-separated, first column ``MutationType``, columns ``SBS96A``...);
``suggested_signatures_file`` and ``cosmic_map_file`` are null with ``--no-decompose`` (the
tool writes ``Suggested_Solution`` during the decomposition step), while ``suggested_k``
is still known.

Exit codes: 0 success; 2 when SigProfilerExtractor is not installed in the running
interpreter (one line on stderr); 1 when the run fails (one line on stderr naming the log).
"""

from __future__ import annotations

import argparse
import csv
import glob
import importlib.metadata
import json
import os
import re
import sys
import time

_STAT_COLUMNS = {
    "Stability (Avg Silhouette)": "avg_stability",
    "Minimum Stability": "min_stability",
    "Matrix Frobenius%": "frobenius_pct",
    "Mean Sample L1%": "mean_l1_pct",
    "Maximum Sample L1%": "max_l1_pct",
    "Mean Sample L2%": "mean_l2_pct",
    "Maximum Sample L2%": "max_l2_pct",
    "Mean Sample KL": "mean_kl",
    "Maximum Sample KL": "max_kl",
    "Mean Cosine Distance": "mean_cosine_distance",
    "Max Cosine Distance": "max_cosine_distance",
    "Mean Correlation": "mean_correlation",
    "Minimum Correlation": "min_correlation",
}


def _parse_ks(text: str) -> tuple[int, int]:
    lo, _, hi = text.partition("-")
    lo_i, hi_i = int(lo), int(hi or lo)
    if not 1 <= lo_i <= hi_i:
        raise argparse.ArgumentTypeError(f"bad --ks {text!r}: want A-B with 1 <= A <= B")
    return lo_i, hi_i


def _number(text: str):
    text = text.strip()
    try:
        return float(text.rstrip("%"))
    except ValueError:
        return text or None


def _version(dist: str):
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _rank_seconds(metadata_path: str) -> dict[int, int]:
    """Seconds per rank from JOB_METADATA.txt ('... for a total of K signatures! Execution time:H:MM:SS')."""
    try:
        text = open(metadata_path, encoding="utf-8", errors="replace").read()
    except OSError:
        return {}
    found = {}
    for k, h, m, s in re.findall(
        r"for a total of (\d+) signatures!\s*\nExecution time:(\d+):(\d+):(\d+)", text
    ):
        found[int(k)] = int(h) * 3600 + int(m) * 60 + int(s)
    return found


def _collect(out: str, decompose: bool) -> dict:
    stats_files = sorted(glob.glob(os.path.join(out, "*", "All_solutions_stat.csv")))
    if not stats_files:
        raise RuntimeError(f"no All_solutions_stat.csv under {out}")
    stats_file = stats_files[0]
    context_dir = os.path.dirname(stats_file)
    context = os.path.basename(context_dir)  # e.g. SBS96
    rank_seconds = _rank_seconds(os.path.join(out, "JOB_METADATA.txt"))
    per_k, suggested_k = [], None
    with open(stats_file, newline="") as fh:
        for row in csv.DictReader(fh):
            label = row["Signatures"].strip()
            k = int(label.rstrip("*"))
            if label.endswith("*"):
                suggested_k = k
            entry = {"k": k}
            for column, key in _STAT_COLUMNS.items():
                entry[key] = _number(row[column]) if column in row else None
            entry["considerable"] = row.get("Considerable Solution", "").strip().upper() == "YES"
            entry["p_value"] = _number(row.get("P-value", ""))
            entry["seconds"] = rank_seconds.get(k)
            sig = os.path.join(
                context_dir, "All_Solutions", f"{context}_{k}_Signatures", "Signatures",
                f"{context}_S{k}_Signatures.txt",
            )
            entry["signatures_file"] = sig if os.path.exists(sig) else None
            per_k.append(entry)
    suggested = os.path.join(
        context_dir, "Suggested_Solution", f"{context}_De-Novo_Solution", "Signatures",
        f"{context}_De-Novo_Signatures.txt",
    )
    cosmic_map = os.path.join(
        context_dir, "Suggested_Solution", f"COSMIC_{context}_Decomposed_Solution",
        f"De_Novo_map_to_COSMIC_{context}.csv",
    )
    return {
        "suggested_k": suggested_k,
        "per_k": per_k,
        "suggested_signatures_file": suggested if os.path.exists(suggested) else None,
        "cosmic_map_file": cosmic_map if decompose and os.path.exists(cosmic_map) else None,
        "stats_file": stats_file,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("catalog", help="tab-separated matrix, first column MutationType")
    ap.add_argument("--ks", type=_parse_ks, default=(1, 10), help="rank range A-B (default 1-10)")
    ap.add_argument("--replicates", type=int, default=100, help="nmf_replicates (default 100)")
    ap.add_argument("--iterations", default="10000",
                    help="N: min = max = test_conv = N iterations; 'default' = the tool's own "
                         "(10,000 / 1,000,000 / 10,000)")
    ap.add_argument("--tolerance", type=float, default=1e-15, help="nmf_tolerance (default 1e-15)")
    ap.add_argument("--out", required=True, help="output folder (created)")
    ap.add_argument("--cpu", type=int, default=2, help="processes for NMF and refits (default 2)")
    ap.add_argument("--seed", type=int, default=0, help="root seed (default 0)")
    ap.add_argument("--cosmic-version", type=float, default=3.4, help="COSMIC version (default 3.4)")
    ap.add_argument("--no-decompose", action="store_true",
                    help="stop after de novo extraction (skip the COSMIC decomposition)")
    args = ap.parse_args(argv)

    try:
        import numpy
        from numpy.random import SeedSequence
        from SigProfilerExtractor import sigpro
        import SigProfilerAssignment.decomposition as spa_decomposition
    except ImportError as exc:
        print(f"peer_sigprofiler: SigProfilerExtractor is not installed in {sys.executable} "
              f"({exc}); build the peer venv as the module docstring says", file=sys.stderr)
        return 2

    if args.iterations == "default":
        min_it, max_it, test_conv = 10000, 1000000, 10000
    else:
        min_it = max_it = test_conv = int(args.iterations)
    kmin, kmax = args.ks
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)

    numpy_major_minor = tuple(int(x) for x in re.findall(r"\d+", numpy.__version__)[:2])
    if numpy_major_minor < (2, 4) and not os.environ.get("PEER_SPE_SEED_PATCH"):
        seeds = os.path.join(out, "seeds_input.txt")
        with open(seeds, "w") as fh:
            fh.write(f"\tSeed\n0\t{args.seed}\n")
        seed_mode = "seeds_file"
    else:
        # The seeds-file path fails under NumPy >= 2.4 (int() of a 1-element array), so use
        # seeds="random" and make the tool's SeedSequence() (no entropy) start from args.seed.
        root = args.seed

        # A function, not a subclass: spawned child SeedSequences are pickled to the
        # workers, and they must stay plain numpy SeedSequence objects.
        def _fixed_seed_sequence(entropy=None, *a, **kw):
            return SeedSequence(root if entropy is None else entropy, *a, **kw)

        sigpro.SeedSequence = _fixed_seed_sequence
        seeds = "random"
        seed_mode = "fixed_seedsequence"

    decomposition_seconds = []
    original_spa = spa_decomposition.spa_analyze

    def timed_spa(*a, **kw):
        t = time.perf_counter()
        try:
            return original_spa(*a, **kw)
        finally:
            decomposition_seconds.append(time.perf_counter() - t)

    spa_decomposition.spa_analyze = timed_spa

    settings = dict(
        input_type="matrix", output=out, input_data=os.path.abspath(args.catalog),
        reference_genome="GRCh37", opportunity_genome="GRCh37",
        cosmic_version=args.cosmic_version, exome=False,
        minimum_signatures=kmin, maximum_signatures=kmax, nmf_replicates=args.replicates,
        resample=True, cpu=args.cpu, assignment_cpu=args.cpu, gpu=False, nmf_init="random",
        precision="single", matrix_normalization="gmm", seeds=seeds,
        min_nmf_iterations=min_it, max_nmf_iterations=max_it, nmf_test_conv=test_conv,
        nmf_tolerance=args.tolerance, make_decomposition_plots=False,
        stop_after_extraction=args.no_decompose,
    )

    # Send everything the tool prints (and its spawned workers, which inherit fds 1 and 2)
    # to a log, so that stdout carries only our JSON line.
    log_path = os.path.join(out, "sigprofiler_console.log")
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    error = None
    t0 = time.perf_counter()
    try:
        sigpro.sigProfilerExtractor(**settings)
    except BaseException as exc:  # noqa: BLE001 - report any failure as one line
        error = exc
    seconds = time.perf_counter() - t0
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(saved_out, 1)
    os.dup2(saved_err, 2)
    for fd in (saved_out, saved_err, log_fd):
        os.close(fd)
    spa_decomposition.spa_analyze = original_spa
    if error is not None:
        print(f"peer_sigprofiler: sigProfilerExtractor failed after {seconds:.1f} s: "
              f"{type(error).__name__}: {error} (see {log_path})", file=sys.stderr)
        return 1

    result = {
        "seconds": round(seconds, 3),
        "decomposition_seconds": round(sum(decomposition_seconds), 3) if decomposition_seconds else None,
        "version": _version("SigProfilerExtractor"),
        "versions": {d: _version(d) for d in (
            "SigProfilerExtractor", "SigProfilerAssignment", "SigProfilerMatrixGenerator",
            "sigProfilerPlotting", "torch", "numpy", "pandas", "scikit-learn")},
    }
    result.update(_collect(out, decompose=not args.no_decompose))
    shown = {k: v for k, v in settings.items() if k not in ("output", "input_data")}
    shown.update(seed=args.seed, seed_mode=seed_mode, python=sys.executable)
    result.update(settings=shown, out=out, console_log=log_path)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
