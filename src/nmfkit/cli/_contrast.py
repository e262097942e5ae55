"""``nmfkit contrast``: background-contrastive NMF of a target file against a background file."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from ._fit import _non_negative_float, _positive_float, positive_int, print_warning
from .._files import check_out_dir, figure, save_figure, staged_dir, versions, write_json
from ._report_cmd import add_report_flag, write_into

__all__ = ["add_parser", "run"]

DESCRIPTION = """\
Find programs enriched in TARGET over BACKGROUND (both samples x features, with
the same features): a shared non-negative basis H with codes for both datasets,
fitted so that H explains the target while the background's best fit on it stays
poor (ContrastiveNMF, objective D(X|W_X H)/E_X - alpha D(Y|W_Y H)/E_Y). Writes DIR:

  target_codes.tsv      target samples x contrastivenmf0..
  background_codes.tsv  background samples x contrastivenmf0..
  basis.tsv             contrastivenmf0.. x features (rows sum to 1)
  enrichment.tsv        per component: log2 usage ratio target / background
  summary.json          inputs, parameters (preprocess_used: what --preprocess auto chose),
                        objective, iterations, versions
  loss.png  enrichment.png  basis.png
  report.html           with --report: one self-contained HTML page of all of it
with -k auto and/or --alpha auto (the label-free choice of contrastive_path):
  path.tsv  path.png    the scan of (k, alpha) on held-out samples, the choice starred
and with --background-components B:
  background_basis.tsv  contrastivenmf_bg0.. x features: the background's own NMF, held fixed
  target_background_codes.tsv, background_background_codes.tsv  codes on them

Components are ordered by enrichment (most target-specific first). NaN / NA
entries are missing values (left out of the fit). alpha is scale-free: 0 is
plain NMF of the target; above 1, programs that explain both datasets equally
well are dropped. DIR is written atomically; an existing DIR is replaced only
with --force."""

EPILOG = """\
examples:
  nmfkit contrast disease.csv healthy.csv -k 3 --alpha 2 --out contrast-k3
  nmfkit contrast counts_t.h5ad counts_b.h5ad -k auto --alpha auto --preprocess log1p_cp10k --out rec
      (the recommended recipe for single-cell counts: k and alpha chosen without labels)
  nmfkit contrast proteins_t.csv proteins_b.csv -k auto --alpha auto --out levels
      (positive levels: the default --preprocess auto scales each file's features;
       integer counts and data with many zeros are fitted as read; --preprocess none
       for the files as read)
  nmfkit contrast tgt.tsv bg.tsv -k 5 --loss kl --alpha 0.5 --seed 0 --out run1 --force
  nmfkit contrast counts_t.tsv counts_b.tsv -k 2 --loss kl --background-components 7 --out run2"""


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``contrast`` sub-command."""
    p = subparsers.add_parser(
        "contrast",
        help="background-contrastive NMF: programs enriched in a target over a background",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("target", metavar="TARGET", help="target matrix file, samples as rows")
    p.add_argument("background", metavar="BACKGROUND", help="background matrix file, same features")
    p.add_argument("-k", "--n-components", dest="k", type=_auto(positive_int), required=True,
                   metavar="K", help="number of shared components, or 'auto': chosen without "
                                     "labels among --path-ks by contrastive_path")
    p.add_argument("--alpha", type=_auto(_non_negative_float), default=2.0, metavar="A",
                   help="contrast strength >= 0 (default: 2), or 'auto': chosen without labels "
                        "among --path-alphas by contrastive_path")
    p.add_argument("--out", required=True, metavar="DIR", help="result folder to create")
    p.add_argument("--force", action="store_true", help="replace DIR if it exists")
    model = p.add_argument_group("model and solver")
    model.add_argument("--loss", choices=("frobenius", "kl"), default="frobenius",
                       help="frobenius (default) or kl")
    model.add_argument("--background-components", type=int, default=0, metavar="B",
                       help="learn B programs on the background first and hold them fixed in "
                            "the basis; the K components then carry only target-specific "
                            "programs, and KL works for any alpha (default: 0)")
    model.add_argument("--preprocess", choices=_PREPROCESS_CHOICES, default="auto",
                       help="transform both files first: auto (default: none when both files "
                            "hold integer counts or either is at least 10%% zeros, else "
                            "scale; the choice is printed and saved "
                            "in summary.json as preprocess_used), log1p_cp10k (raw counts: each "
                            "sample scaled to 10,000, then log1p; recommended for single-cell "
                            "counts with the frobenius loss), scale (measurements such as "
                            "protein levels: each feature shifted to minimum 0 and divided by "
                            "its standard deviation, in each file separately) or none (fit the "
                            "files as read)")
    model.add_argument("--path-ks", type=_int_list, default=(1, 2), metavar="K1,K2,..",
                       help="the k scanned for -k auto (default: 1,2)")
    model.add_argument("--path-alphas", type=_float_list, default=(0.5, 1, 2, 3, 5, 10, 20),
                       metavar="A1,A2,..", help="the alpha scanned for --alpha auto "
                                                "(default: 0.5,1,2,3,5,10,20)")
    model.add_argument("--restarts", type=positive_int, default=4, metavar="N",
                       help="random restarts, best non-degenerate kept (default: 4)")
    model.add_argument("--seed", type=int, default=None, metavar="N", help="random seed")
    model.add_argument("--max-iter", type=positive_int, default=1000, metavar="N",
                       help="most iterations per restart (default: 1000)")
    model.add_argument("--tol", type=_non_negative_float, default=1e-5, metavar="X",
                       help="stop when the objective changes by less than X (relative) over 10 "
                            "iterations (default: 1e-5)")
    model.add_argument("--max-time", type=_positive_float, default=None, metavar="SECONDS",
                       help="stop after this many seconds (all restarts)")
    model.add_argument("--batch-size", type=positive_int, default=None, metavar="N",
                       help="mini-batch training with N target samples per batch")
    reading = p.add_argument_group("reading the files")
    reading.add_argument("--transpose", action="store_true",
                         help="both files hold features as rows: transpose them after reading")
    reading.add_argument("--sep", default=None, metavar="SEP", help="column separator of text files")
    reading.add_argument("--layer", default=None, metavar="NAME", help="layer of .h5ad files")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress and no summary on stdout")
    add_report_flag(p)
    p.set_defaults(handler=run)
    return p


def _preprocess_choices():
    from ..models._contrastive_preprocess import PREPROCESS

    return ["none"] + [v for v in PREPROCESS if v is not None]


_PREPROCESS_CHOICES = _preprocess_choices()


def _auto(kind):
    """argparse type: ``kind`` or the word ``auto``."""
    def parse(text: str):
        return "auto" if text.strip().lower() == "auto" else kind(text)

    parse.__name__ = getattr(kind, "__name__", "value")
    return parse


def _int_list(text: str) -> tuple:
    return tuple(positive_int(v) for v in text.split(",") if v.strip())


def _float_list(text: str) -> tuple:
    return tuple(_non_negative_float(v) for v in text.split(",") if v.strip())


def _choose(T, B, args, preprocess, verbose):
    """``(k, alpha, path)``: the label-free choice of :func:`nmfkit.contrastive_path`
    where ``-k`` or ``--alpha`` is ``auto`` (the other held at its value)."""
    from ..selection import contrastive_path

    ks = args.path_ks if args.k == "auto" else (args.k,)
    alphas = args.path_alphas if args.alpha == "auto" else (args.alpha,)
    if not ks or not alphas:
        from ..exceptions import NMFInputError

        raise NMFInputError("--path-ks / --path-alphas is empty; give a comma-separated list, "
                            "e.g. --path-ks 1,2 --path-alphas 0.5,1,2,5")
    path = contrastive_path(T, B, alphas=alphas, n_components=ks, loss=args.loss,
                            n_restarts=min(args.restarts, 3), max_iter=min(args.max_iter, 300),
                            tol=args.tol, n_background_components=args.background_components,
                            preprocess=preprocess, random_state=args.seed, verbose=verbose)
    k, alpha = path.choose()
    return int(k), float(alpha), path


def _frame(data, name):
    import pandas as pd
    import scipy.sparse as sp

    X = data.X.toarray() if sp.issparse(data.X) else data.X
    rows = data.row_names or [f"{name}{i + 1}" for i in range(X.shape[0])]
    cols = data.col_names or [f"feature{j + 1}" for j in range(X.shape[1])]
    return pd.DataFrame(X, index=pd.Index([str(r) for r in rows], name="sample"),
                        columns=[str(c) for c in cols])


def run(args: argparse.Namespace) -> int:
    """Execute ``nmfkit contrast``; NMFInputError / OSError propagate to ``main``."""
    import pandas as pd

    from .. import io
    from ..exceptions import NMFInputError
    from ..models.contrastive import contrastive_nmf
    from ..plotting import plot_enrichment, plot_factor_heatmap, plot_loss

    check_out_dir(args.out, args.force)
    kw = dict(sep=args.sep, transpose=args.transpose, layer=args.layer)
    tpath, bpath = Path(args.target), Path(args.background)
    T = _frame(io.read_matrix(tpath, **kw), "target")
    B = _frame(io.read_matrix(bpath, **kw), "background")
    if T.shape[1] != B.shape[1]:
        raise NMFInputError(
            f"TARGET has {T.shape[1]} features but BACKGROUND has {B.shape[1]}; both files must "
            "hold the same features (columns; rows with --transpose)"
        )
    preprocess = None if args.preprocess == "none" else args.preprocess
    verbose = 0 if args.quiet else 1  # a bar on a terminal, else a plain line every few s
    path = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        if args.k == "auto" or args.alpha == "auto":
            args.k, args.alpha, path = _choose(T, B, args, preprocess, verbose)
        params = dict(alpha=args.alpha, loss=args.loss, n_restarts=args.restarts,
                      max_iter=args.max_iter, tol=args.tol, max_time=args.max_time,
                      batch_size=args.batch_size, random_state=args.seed,
                      n_background_components=args.background_components, preprocess=preprocess)
        res = contrastive_nmf(T, B, args.k, verbose=verbose, **params)
    used = res.info["preprocess_used"]
    for text in dict.fromkeys(str(w.message) for w in caught):
        print_warning(text)

    comps = res.info["component_names"]  # the library's one scheme (nmfkit._result.component_names)
    W_X = pd.DataFrame(res.W_target.to_numpy(), index=T.index, columns=comps)
    W_Y = pd.DataFrame(res.W_background.to_numpy(), index=B.index, columns=comps)
    H = pd.DataFrame(res.H.to_numpy(), index=pd.Index(comps, name="component"), columns=T.columns)
    enr = pd.DataFrame({"enrichment_log2": res.enrichment,
                        "top_features": [", ".join(map(str, H.loc[c].nlargest(5).index)) for c in comps]},
                       index=pd.Index(comps, name="component"))
    nb = args.background_components
    bg = res.info["shared_names"]
    with staged_dir(args.out, args.force) as stage:
        io.write_table(W_X, stage / "target_codes.tsv")
        io.write_table(W_Y, stage / "background_codes.tsv")
        io.write_table(H, stage / "basis.tsv")
        io.write_table(enr, stage / "enrichment.tsv")
        if nb:
            io.write_table(pd.DataFrame(res.H_shared.to_numpy(), columns=T.columns,
                                        index=pd.Index(bg, name="component")),
                           stage / "background_basis.tsv")
            io.write_table(pd.DataFrame(res.W_target_shared.to_numpy(), index=T.index, columns=bg),
                           stage / "target_background_codes.tsv")
            io.write_table(pd.DataFrame(res.W_background_shared.to_numpy(), index=B.index,
                                        columns=bg), stage / "background_background_codes.tsv")
        summary = dict(target=str(tpath.resolve()), background=str(bpath.resolve()),
                       command=getattr(args, "command_line", None), k=args.k, **params,
                       preprocess_used=used,
                       target_shape=list(T.shape), background_shape=list(B.shape),
                       objective=res.loss, target_loss=res.target_loss,
                       background_loss=res.background_loss, loss_initial=res.loss_history[0],
                       background_only_loss=res.info["shared_loss"],
                       enrichment=[float(v) for v in res.enrichment], n_iter=res.n_iter,
                       converged=res.converged, stop_reason=res.stop_reason,
                       partial=res.stop_reason == "interrupted",
                       restart_losses=[float(v) for v in res.restart_losses],
                       elapsed=res.elapsed, versions=versions())
        if path is not None:
            io.write_table(path.table.set_index(["n_components", "alpha"]), stage / "path.tsv")
            summary["chosen_by_path"] = dict(k=args.k, alpha=args.alpha, preprocess=path.preprocess,
                                             ks=sorted({int(v) for v in path.table.n_components}),
                                             alphas=sorted({float(v) for v in path.table.alpha}))
            save_figure(path.plot(), stage / "path.png")
        write_json(summary, stage / "summary.json")
        fig = figure(6.0, 4.0)
        plot_loss(res, ax=fig.add_subplot(), log=False)
        save_figure(fig, stage / "loss.png")
        fig = figure(max(4.0, 0.6 * args.k + 2.5), 3.8)
        plot_enrichment(res, ax=fig.add_subplot(), component_names=comps)
        save_figure(fig, stage / "enrichment.png")
        m = H.shape[1]
        fig = figure(min(14.0, max(6.0, 0.22 * min(m, 60) + 3.0)), min(10.0, max(2.8, 0.35 * args.k + 1.8)))
        plot_factor_heatmap(H, ax=fig.add_subplot(), title=f"basis: {args.k} components x {m} features",
                            xlabel="feature", ylabel="component", max_labels=60)
        save_figure(fig, stage / "basis.png")
        write_into(stage, args)

    if summary["partial"]:
        print(f"nmfkit: interrupted: wrote the last iterate (iteration {res.n_iter}) to "
              f"{args.out} as a partial result (summary.json: \"partial\": true)", file=sys.stderr)
        return 130
    if not args.quiet:
        if path is not None:
            print(f"nmfkit: label-free choice (contrastive_path, path.tsv / path.png): k={args.k}, "
                  f"alpha={args.alpha:g}")
        print(f"nmfkit: contrasted {T.shape[0]} target vs {B.shape[0]} background samples "
              f"({m} features), k={args.k}, alpha={args.alpha:g}, {args.loss}, in {res.elapsed:.2f} s")
        print(f"  preprocess: {args.preprocess} -> {used or 'none'}")
        print(f"  objective {res.loss:.6g}: target term {res.target_loss:.4g}, background term "
              f"{res.background_loss:.4g}; {res.n_iter} iterations (stop: {res.stop_reason})")
        print("  enrichment (log2): " + ", ".join(f"{c} {v:+.2f}" for c, v in zip(comps, res.enrichment)))
        print(f"  results in {args.out}")
    return 0
