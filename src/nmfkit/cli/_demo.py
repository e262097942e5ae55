"""``nmfkit demo``: NMF of the bundled handwritten digits, written as a small HTML report."""

from __future__ import annotations

import argparse
import html
from pathlib import Path

from .._files import REPORT_CSS, check_out_dir, figure, save_figure, staged_dir, write_json
from ._fit import fit_quietly
from ._report import make_summary, write_factors, write_standard_figures

__all__ = ["add_parser", "run", "render_html"]

K = 10
SEED = 0
SOLVER = "hals"

DESCRIPTION = f"""\
Fit NMF (k={K}, HALS, Frobenius loss, seed {SEED}) to the 1,797 bundled 8x8
handwritten digits and write a report folder DIR:

  index.html       a self-contained summary of the fit (open it in a browser)
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
        )
        write_json(summary, stage / "summary.json")
        write_standard_figures(stage, result, H_df)
        fig = figure(1.7 * 5 + 0.3, 1.8 * 2 + 0.4)
        plot_components_images(H_df, (8, 8), n_cols=5, fig=fig,
                               title=f"{K} NMF components of the digits (8x8 pixels)")
        save_figure(fig, stage / "components.png")
        (stage / "index.html").write_text(render_html(summary), encoding="utf-8")

    index = (Path(args.out) / "index.html").resolve()
    if not args.quiet:
        print(f"nmfkit demo: k={K} NMF of {X.shape[0]} digits x {X.shape[1]} pixels, "
              f"relative error {summary['relative_error']:.3f}, {result.n_iter} iterations, "
              f"{result.elapsed:.2f} s")
    print(f"report: {index}")
    return 0


def render_html(summary: dict) -> str:
    """Build the self-contained ``index.html`` of the demo from its summary.

    Parameters
    ----------
    summary : dict
        What :func:`make_summary` returned for the demo fit.

    Returns
    -------
    str
        An HTML document: inline CSS, no scripts, images by relative path.
    """
    e = html.escape
    n, m = summary["shape"]
    k = summary["k"]
    params = summary["params"]
    state = "yes" if summary["converged"] else "no"
    rows = [
        ("data", f"{n:,} images × {m} pixels (8×8, grey levels 0–16)"),
        ("components k", str(k)),
        ("solver / loss", f"{summary['solver']} / Frobenius, ½‖X − WH‖²"),
        ("initialisation / seed", f"{params.get('init')} / {params.get('random_state')}"),
        ("loss", f"{summary['loss']:.6g} (after initialisation {summary['loss_initial']:.6g})"),
        ("relative error ‖X − WH‖ / ‖X‖", f"{summary['relative_error']:.4f}"),
        ("iterations", f"{summary['n_iter']} (converged: {state}; stop reason: {summary['stop_reason']})"),
        ("time", f"{summary['elapsed']:.2f} s"),
    ]
    table = "\n".join(f"<tr><th>{e(a)}</th><td>{e(b)}</td></tr>" for a, b in rows)
    versions = ", ".join(f"{e(name)} {e(str(v))}" for name, v in summary["versions"].items())
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>nmfkit demo: NMF of handwritten digits</title>
<style>{REPORT_CSS}</style>
</head>
<body>
<h1>nmfkit demo: NMF of handwritten digits</h1>
<p>Each of the {n:,} images (a row of <i>X</i>, {m} non-negative pixel values) is
approximated as a non-negative mix of <b>{k} components</b>:
<i>X</i> ≈ <i>W</i><i>H</i>, where the rows of <i>H</i> are the components (images
that sum to one) and <i>W</i> holds how much of each component every image uses.
Because nothing can be subtracted, the components come out as <i>parts</i>:
strokes and blobs that add up to digits.</p>

<h2>The fit</h2>
<table>
{table}
</table>

<h2>Components</h2>
<p>The rows of <i>H</i> drawn as 8×8 images, ordered by their contribution to the data.</p>
<img src="components.png" alt="the {k} NMF components as 8x8 images">

<h2>H as a heat-map</h2>
<img src="factors.png" alt="heat-map of H, components by pixels">

<h2>Convergence</h2>
<img src="loss.png" alt="objective against iteration">

<h2>Files</h2>
<p><a href="W.tsv">W.tsv</a> (images × components), <a href="H.tsv">H.tsv</a>
(components × pixels), <a href="summary.json">summary.json</a>,
<a href="result.npz">result.npz</a> + <a href="result.json">result.json</a>
(load with <code>nmfkit.io</code>). Reproduce with <code>nmfkit demo --out DIR</code>, or in Python:
<code>nmfkit.nmf(nmfkit.datasets.load_digits().X, {k}, solver="{e(summary['solver'])}",
random_state={params.get('random_state')})</code>.</p>

<p class="small">Data: {e(summary.get('attribution', ''))}.<br>
Made {e(summary['created'])} with {versions}.</p>
</body>
</html>
"""
