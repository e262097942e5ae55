"""``nmfkit signatures extract|assign``: mutational-signature workflows with an HTML report."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from ._fit import _positive_float, positive_int, print_warning
from .._files import check_out_dir
from ._rank import parse_ks

__all__ = ["add_parser"]

_EXTRACT = """\
De novo extraction (SigProfilerExtractor's protocol, batched): for every k in --ks,
--replicates resampled copies of the catalog (multinomial; hypermutated samples
capped by the GMM rule) are fitted at once, their signatures clustered with one per
replicate per cluster, and the consensus kept with its stability; k is chosen by
SigProfiler's rule (stability >= 0.8 / 0.2 and the Wilcoxon walk-down) and by
cross-validation, side by side. The chosen solution is decomposed into the
reference signatures (COSMIC v3.4 from an installed SigProfilerAssignment, or
--reference PATH; never bundled). Writes the folder DIR (index.html, CSVs, PNGs,
params.json with every seed). CATALOG: a mutational catalog, 96 types x samples
(the field's orientation) or samples x types; row order is detected by name."""

_ASSIGN = """\
Refit a catalog on known signatures (COSMIC v3.4 from an installed
SigProfilerAssignment, --reference PATH, or de novo ones with --signatures PATH,
e.g. signatures_k4.csv from `nmfkit signatures extract`), with bootstrap
confidence intervals on every exposure. Writes the folder DIR (index.html,
exposures.csv with lower/upper bounds, fit.csv, PNGs, params.json)."""


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``signatures`` with its ``extract`` and ``assign`` sub-commands."""
    p = subparsers.add_parser("signatures", help="mutational signatures: extract de novo, assign",
                              description="Mutational-signature workflows.")
    sub = p.add_subparsers(title="signature commands", dest="signatures_command", metavar="COMMAND")
    p.set_defaults(handler=lambda args: (p.print_help(sys.stderr), 2)[1])

    e = sub.add_parser("extract", help="de novo extraction with rank selection and COSMIC decomposition",
                       description=_EXTRACT, formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="example:\n  nmfkit signatures extract Samples.txt --ks 1-10 --out sigs")
    e.add_argument("catalog", metavar="CATALOG")
    e.add_argument("--ks", type=parse_ks, default=list(range(1, 11)), metavar="KS",
                   help="ranks, e.g. 1-10 (default) or 2,3,4")
    e.add_argument("--replicates", type=positive_int, default=100, metavar="R",
                   help="replicates per rank (default: 100)")
    e.add_argument("--loss", choices=("kl", "nb"), default="kl",
                   help="kl (Poisson, SigProfiler's; default) or nb (negative binomial)")
    e.add_argument("--dispersion", choices=("per_sample", "global"), default="per_sample",
                   help="NB dispersion, estimated by maximum likelihood (default: per_sample)")
    e.add_argument("--rule", choices=("sigprofiler", "cv"), default="sigprofiler",
                   help="which rank is reported as the solution (both are computed)")
    e.add_argument("--cv-folds", type=int, default=10, metavar="F",
                   help="cross-validation folds (0: no CV rule; default: 10)")
    e.add_argument("--max-iter", type=positive_int, default=5000, metavar="N",
                   help="most iterations per replicate (default: 5000)")
    e.add_argument("--tol", type=_positive_float, default=1e-7, metavar="X",
                   help="stop a replicate when the relative decrease is below X (default: 1e-7)")
    e.add_argument("--precision", choices=("single", "double"), default="single",
                   help="floating point of the fits (default single, as SigProfiler; double is "
                        "~1.7x slower)")
    _common(e)
    e.set_defaults(handler=run_extract)

    a = sub.add_parser("assign", help="refit exposures on known signatures, with bootstrap CIs",
                       description=_ASSIGN, formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="example:\n  nmfkit signatures assign Samples.txt --out exposures")
    a.add_argument("catalog", metavar="CATALOG")
    a.add_argument("--signatures", default=None, metavar="PATH",
                   help="signatures to assign (96 x k file); default: the reference (COSMIC)")
    a.add_argument("--method", choices=("add_remove", "likelihood", "nnls"), default=None,
                   help="refitting method (default: the library's, see nmfkit.signatures.assign)")
    a.add_argument("--bootstrap", type=int, default=100, metavar="B",
                   help="bootstrap resamples for the confidence intervals (0: none; default 100)")
    _common(a)
    a.set_defaults(handler=run_assign)
    return p


def _common(p):
    p.add_argument("--reference", default=None, metavar="PATH",
                   help="reference signatures file (default: COSMIC v3.4 GRCh37 from an installed "
                        "SigProfilerAssignment)")
    p.add_argument("--out", required=True, metavar="DIR", help="result folder to create")
    p.add_argument("--force", action="store_true", help="replace DIR if it exists")
    p.add_argument("--seed", type=int, default=0, metavar="N", help="random seed (default: 0)")
    p.add_argument("--max-time", type=_positive_float, default=None, metavar="SECONDS",
                   help="time budget in seconds")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar and no summary")


def _reference(path, required: bool):
    from ..signatures import load_cosmic

    try:
        return load_cosmic(path)
    except FileNotFoundError as err:
        if path is not None:
            raise
        if required:
            raise FileNotFoundError(
                "no reference signatures: SigProfilerAssignment (which carries COSMIC) is not "
                "installed; pip install SigProfilerAssignment, or pass --reference PATH (a COSMIC "
                "SBS file) or --signatures PATH") from err
        return None


def _quietly(fn, *a, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        out = fn(*a, **kw)
    for text in dict.fromkeys(str(w.message) for w in caught):
        print_warning(text)
    return out


def run_extract(args) -> int:
    """Execute ``nmfkit signatures extract``."""
    import numpy as np

    from ..signatures import extract, read_catalog
    from ..signatures._report import write_extraction_report

    check_out_dir(args.out, args.force)
    catalog = read_catalog(args.catalog)
    reference = _reference(args.reference, required=False)
    verbose = 0 if args.quiet else 1  # a bar on a terminal, else a plain line every few s
    result = _quietly(extract, catalog, args.ks, n_replicates=args.replicates, loss=args.loss,
                      dispersion=args.dispersion, rule=args.rule, cv_folds=args.cv_folds,
                      reference=reference, max_iter=args.max_iter, tol=args.tol,
                      dtype=np.float32 if args.precision == "single" else np.float64,
                      random_state=args.seed, max_time=args.max_time, verbose=verbose)
    result.params["command"] = getattr(args, "command_line", None)
    out = write_extraction_report(result, args.out, reference=reference, force=args.force)
    if result.params.get("stopped") == "interrupted":
        print(f"nmfkit: interrupted: wrote the ranks finished, {list(result.table.index)}, to "
              f"{args.out} as a partial result (summary.json: \"partial\": true)", file=sys.stderr)
        return 130
    if not args.quiet:
        n, m = catalog.shape
        print(f"nmfkit: extracted signatures from {n} samples x {m} types, ks "
              f"{list(result.table.index)}, {args.replicates} replicates, in "
              f"{result.params['seconds']:.1f} s")
        cols = ["avg_stability", "min_stability", "reconstruction_error", "cv_error"]
        print(result.table[cols].to_string(float_format=lambda v: f"{v:.4g}"))
        print(f"  k (SigProfiler's rule): {result.k_sigprofiler}   k (cross-validation): {result.k_cv}")
        if result.decomposition is not None:
            for name, row in result.decomposition.iterrows():
                print(f"  {name}: {row['description']} (cosine {row['cosine_after']:.3f})")
        elif reference is None:
            print("  no reference signatures: install SigProfilerAssignment or pass --reference")
        print(f"  report: {Path(out) / 'index.html'}")
    return 0


def run_assign(args) -> int:
    """Execute ``nmfkit signatures assign``."""
    from ..signatures import assign, read_catalog
    from ..signatures._report_assign import write_assignment_report

    check_out_dir(args.out, args.force)
    catalog = read_catalog(args.catalog)
    if args.signatures is not None:
        signatures = read_catalog(args.signatures, orientation="types_x_samples")
    else:
        signatures = _reference(args.reference, required=True)
    kw = {} if args.method is None else {"method": args.method}
    result = _quietly(assign, catalog, signatures, n_bootstrap=args.bootstrap,
                      random_state=args.seed, **kw)
    out = write_assignment_report(result, catalog, args.out, force=args.force)
    if not args.quiet:
        used = result.exposures.columns[(result.exposures > 0).any(axis=0)]
        print(f"nmfkit: assigned {catalog.shape[0]} samples to {signatures.shape[0]} signatures "
              f"({result.method}); active: {', '.join(map(str, used))}")
        print(f"  median cosine of the refits: {float(result.cosine.median()):.3f}")
        print(f"  report: {Path(out) / 'index.html'}")
    return 0
