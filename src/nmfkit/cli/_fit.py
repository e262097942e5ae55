"""``nmfkit fit``: factorise a matrix file and write a result folder."""

from __future__ import annotations

import argparse
import math

import numpy as np
import sys
import warnings
from pathlib import Path
from typing import Any

from .._rowsource import is_streamable
from ..exceptions import NMFInputError
from .._files import check_out_dir, staged_dir, write_json
from ._report import make_summary, write_factors, write_standard_figures
from ._report_cmd import add_report_flag, write_into

__all__ = ["add_parser", "run", "fit_quietly", "positive_int", "print_warning"]

_LOSS_NAMES = {
    "frobenius": "frobenius",
    "euclidean": "frobenius",
    "kl": "kl",
    "kullback-leibler": "kl",
    "is": "is",
    "itakura-saito": "is",
    "nb": "nb",
    "negative_binomial": "nb",
    "negative-binomial": "nb",
}
_INITS = ("auto", "random", "nndsvd", "nndsvda", "nndsvdar")

DESCRIPTION = """\
Factorise the matrix in INPUT (samples x features) as X ~ W H with K components
and write a result folder DIR:

  W.tsv         samples x nmf0..nmf{K-1} (row names from the file)
  H.tsv         nmf0..nmf{K-1} x features (column names from the file)
  result.npz    W, H and the loss history; result.json: the fit's metadata
  summary.json  input, shape, k, loss, relative error, iterations, time, versions
  loss.png      the objective against the iteration
  factors.png   heat-map of H
  report.html   with --report: one self-contained HTML page of all of it

INPUT may be .csv/.tsv/.txt (optionally .gz; the first row and column are
names when they are not numbers), .npz, .mtx(.gz) or .h5ad; use --transpose
when the file holds features as rows (e.g. genes x cells). DIR is built in a temporary sibling
folder and renamed into place, so it is never left half-written; an existing
DIR is replaced only with --force."""

EPILOG = """\
examples:
  nmfkit fit counts.csv -k 5 --out fit-k5
  nmfkit fit genes_by_cells.tsv --transpose -k 10 --loss kl --seed 0 --out run1
  nmfkit fit data.mtx -k 8 --solver mu --loss 1.5 --max-time 60 --out run2 --force
  nmfkit fit big.h5ad -k 20 --loss kl --batch-size 4096 --max-iter 10 --out atlas"""


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}") from None
    if not (value >= 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    value = _non_negative_float(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def _loss(text: str) -> str | float:
    name = _LOSS_NAMES.get(text.strip().lower())
    if name is not None:
        return name
    try:
        beta = float(text)
    except ValueError:
        beta = math.nan
    if not math.isfinite(beta):
        raise argparse.ArgumentTypeError(
            f"expected frobenius, kl, is, nb or a number (the beta of the beta-divergence), got {text!r}"
        )
    return beta


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``fit`` sub-command."""
    p = subparsers.add_parser(
        "fit",
        help="factorise a matrix file (csv/tsv, npz, mtx, h5ad) and write a result folder",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("input", metavar="INPUT", help="matrix file, samples as rows (see --transpose)")
    p.add_argument("-k", "--n-components", dest="k", type=positive_int, required=True, metavar="K",
                   help="number of components (rank of the factorisation)")
    p.add_argument("--out", required=True, metavar="DIR", help="result folder to create")
    p.add_argument("--force", action="store_true", help="replace DIR if it exists")
    model = p.add_argument_group("model and solver")
    model.add_argument("--loss", type=_loss, default="frobenius", metavar="LOSS",
                       help="frobenius (default), kl, is, nb (negative binomial, per-sample "
                            "dispersion; not with --batch-size), or a float beta of the "
                            "beta-divergence")
    model.add_argument("--solver", choices=("auto", "mu", "hals", "cd"), default="auto",
                       help="auto (default: HALS for Frobenius, else MU), mu or hals")
    model.add_argument("--init", choices=_INITS, default="auto",
                       help="initialisation (default: auto)")
    model.add_argument("--batch-size", type=positive_int, default=None, metavar="N",
                       help="fit with MiniBatchNMF in batches of N rows; an .h5ad, .zarr or .npy "
                            "INPUT is then streamed from disk, never loaded whole (--max-iter "
                            "counts epochs)")
    from ._family import MODELS, parse_set

    model.add_argument("--model", choices=("nmf", *MODELS), default="nmf",
                       help="the model: nmf (default), sparse (Hoyer), symmetric (graph clustering), "
                            "tri (co-clustering), archetypal, deep (layers via --set "
                            "layer_sizes=10,5), joint (data sets via --sample-labels), supervised "
                            "(class labels via --sample-labels)")
    model.add_argument("--set", dest="settings", type=parse_set, action="append", default=[],
                       metavar="NAME=VALUE", help="a parameter of the model, e.g. --set lam=5, "
                       "--set sparseness_H=0.7, --set n_col_clusters=8 (repeatable)")
    model.add_argument("--sample-labels", default=None, metavar="FILE",
                       help="one label per sample (a column, or two: row name, label) for "
                            "--model joint (data set) or supervised (class; empty = unlabelled)")
    add_run_options(model, what="the fit", per="")
    model.add_argument("--checkpoint", default=None, metavar="PATH",
                       help="write the fit's state to PATH every --checkpoint-every seconds and on "
                            "Ctrl-C; when PATH exists, resume from it (same input and options) to "
                            "the result of an uninterrupted run; deleted when the fit ends")
    model.add_argument("--checkpoint-every", type=_non_negative_float, default=60.0,
                       metavar="SECONDS", help="seconds between checkpoints (default: 60)")
    add_reading_options(p)
    add_report_flag(p)
    p.set_defaults(handler=run)
    return p


def add_run_options(group, *, what: str, per: str) -> None:
    """``--seed``, ``--max-iter``, ``--tol``, ``--max-time`` (shared by the sub-commands)."""
    group.add_argument("--seed", type=int, default=None, metavar="N",
                       help="random seed, for reproducible results")
    group.add_argument("--max-iter", type=positive_int, default=200, metavar="N",
                       help=f"most iterations{per} (default: 200)")
    group.add_argument("--tol", type=_non_negative_float, default=1e-4, metavar="X",
                       help=f"stop{per} when the relative decrease of the loss is below X "
                            "(default: 1e-4)")
    group.add_argument("--max-time", type=_positive_float, default=None, metavar="SECONDS",
                       help=f"time budget of {what} in seconds")


def add_reading_options(p) -> None:
    """How INPUT files are read (``--transpose``, ``--sep``, ``--layer``) and ``--quiet``."""
    reading = p.add_argument_group("reading input files")
    reading.add_argument("--transpose", action="store_true",
                         help="the file holds features as rows: transpose it after reading")
    reading.add_argument("--sep", default=None, metavar="SEP",
                         help="column separator of a text file (default: guessed)")
    reading.add_argument("--layer", default=None, metavar="NAME",
                         help="layer of an .h5ad file to use instead of X")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no progress bar and no summary on stdout (errors still go to stderr)")


def print_warning(message: str) -> None:
    """Print one ``nmfkit: warning:`` line on stderr."""
    text = " ".join(str(message).split())
    print(f"nmfkit: warning: {text}", file=sys.stderr)


def fit_quietly(X: Any, k: int, *, quiet: bool, minibatch: bool = False, **params: Any):
    """Run :func:`nmfkit.nmf` (or :class:`nmfkit.MiniBatchNMF`), with a progress bar on a
    terminal, warnings as one-liners."""
    import nmfkit

    verbose = 0 if quiet else 1  # a bar on a terminal, else a plain line every few s
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        if minibatch:
            result = nmfkit.MiniBatchNMF(k, verbose=verbose, **params).fit(X).result_
        else:
            result = nmfkit.nmf(X, k, verbose=verbose, **params)
    seen = set()
    for w in caught:
        text = str(w.message)
        if text not in seen:
            seen.add(text)
            print_warning(text)
    return result


def _fit_family(args, X, names, params):
    """``--model M``: the model's function form, with progress and one-line warnings."""
    from ._family import fit_model, read_sample_labels

    labels = None
    if args.sample_labels is not None:
        labels = read_sample_labels(args.sample_labels, X.shape[0], names[0])
    common = dict(params)
    for key in ("solver", "init"):
        common.pop(key)
    verbose = 0 if args.quiet else 1  # a bar on a terminal, else a plain line every few s
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        result = fit_model(args.model, X, args.k, common={**common, "verbose": verbose},
                           settings=dict(args.settings), sample_labels=labels)
    for text in dict.fromkeys(str(w.message) for w in caught):
        print_warning(text)
    return result


def _write_labels(stage, result, names):
    import pandas as pd

    from .. import io
    from ._family import labels_of

    rows, cols = labels_of(result)
    if rows is not None:
        index = list(names[0]) if names[0] is not None else [f"sample{i + 1}" for i in range(len(rows))]
        io.write_table(pd.DataFrame({"label": np.asarray(rows)}, index=pd.Index(index, name="sample")),
                       stage / "labels.tsv")
    if cols is not None:
        index = list(names[1]) if names[1] is not None else [f"feature{j + 1}" for j in range(len(cols))]
        io.write_table(pd.DataFrame({"label": np.asarray(cols)}, index=pd.Index(index, name="feature")),
                       stage / "column_labels.tsv")


def run(args: argparse.Namespace) -> int:
    """Execute ``nmfkit fit``; NMFInputError / OSError propagate to ``main``."""
    from .. import io

    check_out_dir(args.out, args.force)  # fail before the (possibly long) fit
    path = Path(args.input)
    params = dict(loss=args.loss, solver=args.solver, init=args.init, max_iter=args.max_iter,
                  tol=args.tol, max_time=args.max_time, random_state=args.seed)
    batch = getattr(args, "batch_size", None)
    if batch is not None and is_streamable(path):
        if args.transpose:
            raise NMFInputError(f"{path}: --transpose cannot stream a file by rows; write the file "
                                "with samples as rows, or drop --batch-size to read it whole")
        data = io.open_rows(path, layer=args.layer)
        X = data
        names = (data.row_names(), data.col_names())
    else:
        data = io.read_matrix(path, sep=args.sep, transpose=args.transpose, layer=args.layer)
        X = data.X
        names = (data.row_names, data.col_names)
    family = getattr(args, "model", "nmf") != "nmf"
    if family and batch is not None:
        raise NMFInputError(f"--batch-size streams plain NMF only, not --model {args.model}")
    if getattr(args, "checkpoint", None) is not None:
        if family or batch is not None:
            raise NMFInputError("--checkpoint works with plain NMF read whole; drop --checkpoint, "
                                "or --model / --batch-size")
        params.update(checkpoint=args.checkpoint, checkpoint_every=args.checkpoint_every)
    if family:
        result = _fit_family(args, X, names, params)
        params = {"model": args.model, **params, **dict(args.settings)}
    elif batch is not None:
        params["batch_size"] = batch
        result = fit_quietly(X, args.k, quiet=args.quiet, minibatch=True, **params)
    else:
        result = fit_quietly(X, args.k, quiet=args.quiet, **params)

    refuse_unusable(result)
    with staged_dir(args.out, args.force) as stage:
        cols = names[1] if result.H.shape[1] == X.shape[1] else names[0]  # SymNMF: H is k x samples
        _, H_df = write_factors(stage, result, names[0], cols)
        if family:
            _write_labels(stage, result, names)
        summary = make_summary(
            X,
            result,
            input=str(path.resolve()),
            transpose=bool(args.transpose),
            params={"k": args.k, **params},
            command=getattr(args, "command_line", None),
        )
        write_json(summary, stage / "summary.json")
        write_standard_figures(stage, result, H_df)
        write_into(stage, args)

    if result.stop_reason == "interrupted":
        kept = f"; the checkpoint {args.checkpoint} resumes it" if params.get("checkpoint") else ""
        print(f"nmfkit: interrupted: wrote the last iterate (iteration {result.n_iter}) to "
              f"{args.out} as a partial result (summary.json: \"partial\": true){kept}",
              file=sys.stderr)
        return 130
    if not args.quiet:
        out = Path(args.out)
        n, m = summary["shape"]
        label = "negative binomial" if result.info.get("loss") == "nb" else _loss_label(result.beta)
        what = f"--model {args.model}, " if family else ""
        print(f"nmfkit: fitted k={args.k} to {n} x {m} ({what}{label}, "
              f"{result.solver}) in {result.elapsed:.2f} s")
        rel = summary["relative_error"]
        init = summary["loss_initial"]
        print(f"  loss {summary['loss']:.6g}"
              + (f" (after init {init:.6g})" if init is not None else "")
              + (f", relative error {rel:.4f}" if rel is not None else ""))
        state = "converged" if result.converged else "not converged"
        print(f"  {result.n_iter} iterations, {state} (stop: {result.stop_reason})")
        print(f"  results in {out}{'' if str(out).endswith('/') else '/'}")
    return 0


def refuse_unusable(result) -> None:
    """A fit with non-finite or all-zero factors is an error (exit 2), never a written result."""
    from ._report import _host

    W, H = np.asarray(_host(result.W), dtype=float), np.asarray(_host(result.H), dtype=float)
    if not (np.isfinite(W).all() and np.isfinite(H).all()):
        raise NMFInputError(
            f"the fit diverged: its factors hold non-finite values (stop: {result.stop_reason}); "
            "nothing was written: check the input's scale and values, or use --loss frobenius"
        )
    if not (np.abs(W).max(initial=0.0) > 0 and np.abs(H).max(initial=0.0) > 0):
        raise NMFInputError(
            "the fit is trivial: W H = 0 explains nothing of the input; nothing was written: check "
            "that the input holds the data (not all zeros), or try another --init or --seed"
        )


def _loss_label(beta: float) -> str:
    return {2.0: "Frobenius", 1.0: "KL", 0.0: "Itakura-Saito"}.get(float(beta), f"beta={beta:g}")
