"""``nmfkit report``: one self-contained HTML page for a result folder (:mod:`nmfkit.report`)."""

from __future__ import annotations

import argparse

__all__ = ["add_parser", "add_report_flag", "run", "write_into"]

DESCRIPTION = """\
Write one self-contained HTML page (figures embedded, no other file or network
needed) for a folder written by `nmfkit fit`, `rank`, `contrast`, `demo` or
`signatures`: the parameters, the fit's numbers, the loss curve, a heat-map of H,
the top features of every component by weight and by distinctiveness, and the
folder's tables, figures and files. Default output: RESULT_DIR/report.html; an
existing file is replaced only with --force."""


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``report`` sub-command."""
    p = subparsers.add_parser(
        "report",
        help="write a self-contained HTML page for a result folder",
        description=DESCRIPTION,
        epilog="examples:\n  nmfkit report fit-k5\n  nmfkit report rank --out rank.html --force",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("result_dir", metavar="RESULT_DIR", help="a folder written by an nmfkit command")
    p.add_argument("--out", default=None, metavar="FILE",
                   help="the HTML file to write (default: RESULT_DIR/report.html)")
    p.add_argument("--force", action="store_true", help="replace FILE if it exists")
    p.set_defaults(handler=run)
    return p


def add_report_flag(p) -> None:
    """``--report``: also write ``report.html`` into the output folder."""
    p.add_argument("--report", action="store_true",
                   help="also write report.html, a self-contained HTML page of the result, into DIR")


def write_into(stage, args) -> None:
    """Write ``report.html`` into the staging folder when ``--report`` was given.

    The fit is the result, the page only shows it: a failure to render the page is
    reported as a warning on stderr and the folder is written without it (never the
    whole result lost for a figure).
    """
    if getattr(args, "report", False):
        import sys

        from ..report import write_report

        try:
            write_report(stage, stage / "report.html")
        except Exception as err:  # noqa: BLE001 - any rendering failure: keep the fit
            print(f"nmfkit: warning: report.html was not written ({type(err).__name__}: {err}); "
                  "the results are complete; retry with `nmfkit report DIR`", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    """Execute ``nmfkit report``; NMFInputError / OSError propagate to ``main`` (exit 2)."""
    from ..report import write_report

    path = write_report(args.result_dir, args.out, overwrite=args.force)
    print(f"report: {path.resolve()}")
    return 0
