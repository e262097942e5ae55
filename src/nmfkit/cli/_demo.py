"""``nmfkit demo``: NMF of the bundled handwritten digits, written as a small HTML report."""

from __future__ import annotations

import argparse
from pathlib import Path

from .._files import check_out_dir, figure, save_figure, staged_dir, write_json
from ._fit import fit_quietly
from ..report import write_report
from ._report import make_summary, write_factors, write_standard_figures

__all__ = ["add_parser", "run"]

K = 10
SEED = 0
SOLVER = "hals"

_ABOUT = (f"Each of the 1,797 images (a row of X, 64 non-negative pixel values) is approximated "
          f"as a non-negative mix of {K} components: X ≈ W H, where the rows of H are the "
          "components (images that sum to one) and W holds how much of each component every "
          "image uses. Because nothing can be subtracted, the components come out as parts: "
          "strokes and blobs that add up to digits (components.png below). Reproduce with "
          f"nmfkit.nmf(nmfkit.datasets.load_digits().X, {K}, solver='{SOLVER}', "
          f"random_state={SEED}).")

DESCRIPTION = f"""\
Fit NMF (k={K}, HALS, Frobenius loss, seed {SEED}) to the 1,797 bundled 8x8
handwritten digits and write a report folder DIR:

  index.html       a self-contained page of the fit (open it in a browser)
  components.png   the {K} components as 8x8 images: the parts digits are built from
  factors.png      heat-map of H (components x pixels)
  loss.png         the objective against the iteration
  W.tsv, H.tsv     the factors; result.npz/json, summary.json: the numbers

Takes a few seconds."""


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``demo`` sub-command."""
    p = subparsers.add_parser(
        "demo",
        help="fit NMF to the bundled digits and write an HTML report",
        description=DESCRIPTION,
        epilog="example:\n  nmfkit demo --out digits-report && open digits-report/index.html",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", default="nmfkit-demo", metavar="DIR",
                   help="report folder to create (default: nmfkit-demo)")
    p.add_argument("--force", action="store_true", help="replace DIR if it exists")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no progress bar; print only where the report is")
    p.set_defaults(handler=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Execute ``nmfkit demo``."""
    from ..datasets import load_digits
    from ..plotting import plot_components_images

    check_out_dir(args.out, args.force)
    data = load_digits()
    X = data.X
    rows = [f"image{i + 1}" for i in range(X.shape[0])]
    cols = list(data.feature_names)
    params = dict(loss="frobenius", solver=SOLVER, init="auto", max_iter=200, tol=1e-4,
                  random_state=SEED)
    result = fit_quietly(X, K, quiet=args.quiet, **params)

    with staged_dir(args.out, args.force) as stage:
        _, H_df = write_factors(stage, result, rows, cols)
        summary = make_summary(
            X,
            result,
            input="nmfkit.datasets.load_digits()",
            dataset="digits",
            attribution=data.attribution,
            params={"k": K, **params},
            command=getattr(args, "command_line", None),
            title="nmfkit demo: NMF of handwritten digits",
            description=_ABOUT,
        )
        write_json(summary, stage / "summary.json")
        write_standard_figures(stage, result, H_df)
        fig = figure(1.7 * 5 + 0.3, 1.8 * 2 + 0.4)
        plot_components_images(H_df, (8, 8), n_cols=5, fig=fig,
                               title=f"{K} NMF components of the digits (8x8 pixels)")
        save_figure(fig, stage / "components.png")
        write_report(stage, stage / "index.html")  # the one renderer of every result folder

    index = (Path(args.out) / "index.html").resolve()
    if not args.quiet:
        print(f"nmfkit demo: k={K} NMF of {X.shape[0]} digits x {X.shape[1]} pixels, "
              f"relative error {summary['relative_error']:.3f}, {result.n_iter} iterations, "
              f"{result.elapsed:.2f} s")
    print(f"report: {index}")
    return 0
