"""``nmfkit rank``: search the rank of a matrix file and write a result folder."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from ._fit import (_INITS, _loss, _positive_float, add_reading_options, add_run_options, positive_int,
                   print_warning)
from .._files import check_out_dir, figure, save_figure, staged_dir, versions, write_json
from ._report import write_factors
from ._report_cmd import add_report_flag, write_into

__all__ = ["add_parser", "parse_ks", "run"]

DESCRIPTION = """\
Fit every rank in --ks several times (batched restarts) and measure, for each k,
the fit, the cross-validation error, the consensus of the samples across restarts
(cophenetic correlation, dispersion) and the stability of the components
(silhouette of the matched component clusters). Writes the folder DIR:

  rank_table.tsv   one row per k: loss, rel_error, cv_error, cv_se, cophenetic,
                   dispersion, silhouette, similarity, times ...
  rank_search.png  error, stability and consensus against k
  consensus.png    consensus heat-map of every k (samples in tree order)
  stability.png    per-component stability of every k
  W.tsv, H.tsv, result.npz, result.json   the best restart at the chosen k
  summary.json     chosen k, the rule, parameters, timing, versions
  report.html      with --report: one self-contained HTML page of all of it

The chosen k is the smallest k whose speckled cross-validation error is within
one standard error of the minimum (see nmfkit.selection.rank_search). INPUT is
read as by `nmfkit fit` (--transpose for features x samples files). DIR is built
in a temporary sibling folder and renamed into place; an existing DIR is
replaced only with --force."""

EPILOG = """\
examples:
  nmfkit rank counts.csv --ks 2-10 --out rank
  nmfkit rank genes_by_cells.mtx --transpose --ks 2-12 --restarts 20 --seed 0 --out rank2
  nmfkit rank data.tsv --ks 2,3,4,6,8 --cv both --max-time 300 --out rank3 --force"""


def parse_ks(text: str) -> list:
    """argparse type: ranks as ``2-10``, ``2,4,6`` or a mix (``2-5,8,10``)."""
    ks = []
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        try:
            if "-" in part:
                lo, hi = (int(p) for p in part.split("-"))
                if lo > hi:
                    raise ValueError
                ks.extend(range(lo, hi + 1))
            else:
                ks.append(int(part))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected ranks like 2-10 or 2,4,6, got {text!r}") from None
    if not ks or min(ks) < 1:
        raise argparse.ArgumentTypeError(f"expected positive ranks like 2-10, got {text!r}")
    return sorted(set(ks))


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``rank`` sub-command."""
    p = subparsers.add_parser(
        "rank",
        help="choose the rank: restarts, consensus, stability and cross-validation per k",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("input", metavar="INPUT", help="matrix file, samples as rows (see --transpose)")
    p.add_argument("--ks", type=parse_ks, default=list(range(2, 11)), metavar="KS",
                   help="candidate ranks, e.g. 2-10 (default) or 2,4,6")
    p.add_argument("--out", required=True, metavar="DIR", help="result folder to create")
    p.add_argument("--force", action="store_true", help="replace DIR if it exists")
    model = p.add_argument_group("model and search")
    model.add_argument("--restarts", type=positive_int, default=10, metavar="R",
                       help="restarts per rank (default: 10; at least 2)")
    model.add_argument("--loss", type=_loss, default="frobenius", metavar="LOSS",
                       help="frobenius (default), kl, is, or a float beta")
    model.add_argument("--cv", choices=("speckled", "bicv", "both", "none"), default="speckled",
                       help="cross-validation (default: speckled)")
    model.add_argument("--cv-fraction", type=_positive_float, default=0.1, metavar="F",
                       help="share of entries held out by speckled CV (default: 0.1)")
    model.add_argument("--rule", choices=("one_se", "min"), default="one_se",
                       help="how k is chosen from the CV error (default: one_se)")
    model.add_argument("--solver", choices=("auto", "mu", "hals", "cd"), default="auto")
    model.add_argument("--init", choices=_INITS, default="random",
                       help="start of each restart (default: random)")
    add_run_options(model, what="the whole search", per=" per restart")
    add_reading_options(p)
    add_report_flag(p)
    p.set_defaults(handler=run)
    return p


def _grid(n: int, cols: int = 3):
    rows = -(-n // cols)
    return rows, min(n, cols)


def _write_figures(stage: Path, result) -> None:
    from ..plotting import plot_component_stability, plot_consensus, plot_rank_search

    fig = figure(13.0, 3.9)
    plot_rank_search(result, fig=fig)
    save_figure(fig, stage / "rank_search.png")
    ks = list(result.table["k"])
    for name, have, draw, size in (
        ("consensus.png", result.consensus, plot_consensus, (4.2, 3.6)),
        ("stability.png", result.stability, plot_component_stability, (4.6, 3.4)),
    ):
        shown = [k for k in ks if k in have]
        if not shown:
            continue
        rows, cols = _grid(len(shown))
        fig = figure(size[0] * cols, size[1] * rows)
        axes = fig.subplots(rows, cols, squeeze=False).ravel()
        for ax, k in zip(axes, shown):
            draw(result, k=k, ax=ax)
        for ax in axes[len(shown):]:
            ax.set_visible(False)
        save_figure(fig, stage / name)


def run(args: argparse.Namespace) -> int:
    """Execute ``nmfkit rank``; NMFInputError / OSError propagate to ``main``."""
    from .. import io
    from ..selection import rank_search

    check_out_dir(args.out, args.force)
    path = Path(args.input)
    data = io.read_matrix(path, sep=args.sep, transpose=args.transpose, layer=args.layer)
    params = dict(loss=args.loss, n_restarts=args.restarts,
                  cv=None if args.cv == "none" else args.cv, cv_fraction=args.cv_fraction,
                  rule=args.rule, solver=args.solver, init=args.init, max_iter=args.max_iter,
                  tol=args.tol, max_time=args.max_time, random_state=args.seed)
    verbose = 0 if args.quiet else 1  # a bar on a terminal, plain lines every few s otherwise
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        result = rank_search(data.X, args.ks, verbose=verbose, **params)
    for text in dict.fromkeys(str(w.message) for w in caught):
        print_warning(text)

    with staged_dir(args.out, args.force) as stage:
        io.write_table(result.table.set_index("k"), stage / "rank_table.tsv")
        _write_figures(stage, result)
        if result.best_k is not None:
            write_factors(stage, result.best, data.row_names, data.col_names)
        summary = dict(
            input=str(path.resolve()), transpose=bool(args.transpose),
            shape=[int(s) for s in data.X.shape], ks=[int(k) for k in result.table["k"]],
            best_k=result.best_k, rule=result.rule, params={**params, "ks": args.ks},
            elapsed=result.elapsed, command=getattr(args, "command_line", None),
            versions=versions(), partial=result.params.get("stopped") == "interrupted",
        )
        write_json(summary, stage / "summary.json")
        write_into(stage, args)

    if summary["partial"]:
        print(f"nmfkit: interrupted: wrote the ks finished, {summary['ks']}, to {args.out} as a "
              "partial result (summary.json: \"partial\": true)", file=sys.stderr)
        return 130
    if not args.quiet:
        n, m = data.X.shape
        print(f"nmfkit: searched k in {list(result.table['k'])} on {n} x {m} with "
              f"{args.restarts} restarts each in {result.elapsed:.1f} s")
        cols = [c for c in ("k", "cv_error", "cophenetic", "silhouette", "rel_error")
                if c in result.table and result.table[c].notna().any()]
        print(result.table[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        chosen = "none (no cross-validation)" if result.best_k is None else str(result.best_k)
        print(f"  chosen k: {chosen} ({result.rule})")
        out = Path(args.out)
        print(f"  results in {out}{'' if str(out).endswith('/') else '/'}")
    return 0
