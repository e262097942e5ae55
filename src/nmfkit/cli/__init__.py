"""The ``nmfkit`` command line: ``fit``, ``rank``, ``contrast``, ``signatures``, ``report``, ``demo``
and ``info`` sub-commands.

The command calls the public API only (``nmfkit.nmf``, ``nmfkit.io``,
``nmfkit.datasets``, ``nmfkit.plotting``). Figures are drawn on bare
:class:`matplotlib.figure.Figure` objects, so no pyplot backend or global style
is touched and :func:`main` can be called in-process (e.g. from a notebook).

Exit codes: 0 success; 2 bad usage or bad input (one ``nmfkit: error:`` line
on stderr, no traceback); 130 interrupted (Ctrl-C): then either a complete result
folder whose ``summary.json`` says ``"partial": true`` (the last iterates of ``fit``, the ranks
finished by ``rank`` or ``signatures extract``) or nothing at all, and one line on stderr
saying which.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence

__all__ = ["main", "build_parser"]

_DESCRIPTION = """\
nmfkit: non-negative matrix factorisation, X ~ W H with W, H >= 0.

  nmfkit fit INPUT -k K --out DIR   factorise a matrix file, write factors, figures, summary
  nmfkit rank INPUT --ks 2-10 --out DIR   choose k: CV error, consensus, stability per rank
  nmfkit contrast TARGET BACKGROUND -k K --alpha A --out DIR   programs enriched over a background
  nmfkit signatures extract CATALOG --ks 1-10 --out DIR   mutational signatures de novo, with COSMIC
  nmfkit signatures assign CATALOG --out DIR   exposures on known signatures, with bootstrap CIs
  nmfkit report DIR                 a self-contained HTML page for any result folder
  nmfkit demo                       fit the bundled digits and write an HTML report
  nmfkit info                       versions, optional backends (torch/CUDA...), BLAS threads

Run `nmfkit COMMAND --help` for the options of each command."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (``nmfkit fit: error: ...; see 'nmfkit fit --help'``)."""

    def error(self, message):
        text = " ".join(str(message).split())
        self.exit(2, f"{self.prog}: error: {text}; see '{self.prog} --help'\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``nmfkit`` command, with its sub-commands."""
    from .. import __version__
    from . import _contrast, _demo, _fit, _info, _rank, _report_cmd, _signatures

    parser = _Parser(
        prog="nmfkit",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"nmfkit {__version__}")
    sub = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    _fit.add_parser(sub)
    _rank.add_parser(sub)
    _contrast.add_parser(sub)
    _signatures.add_parser(sub)
    _report_cmd.add_parser(sub)
    _demo.add_parser(sub)
    _info.add_parser(sub)
    return parser


def _error(message: object) -> int:
    text = " ".join(str(message).split()) or "unknown error"
    print(f"nmfkit: error: {text}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``nmfkit`` command.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after the program name; ``sys.argv[1:]`` when None.

    Returns
    -------
    int
        The exit status: 0 on success, 2 for a usage error, unreadable or invalid
        input, or a failure to write the output (reported as one
        ``nmfkit: error: ...`` line on stderr), 130 when interrupted.

    Examples
    --------
    >>> from nmfkit.cli import main
    >>> main(["--version"])  # doctest: +SKIP
    nmfkit 0.1.0
    0
    """
    from ..exceptions import NMFInputError

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) and usage errors (2)
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 2)
    if getattr(args, "handler", None) is None:
        parser.print_help(sys.stderr)
        return 2
    args.command_line = shlex.join(["nmfkit", *argv])
    try:
        return int(args.handler(args))
    except NMFInputError as exc:
        return _error(exc)
    except OSError as exc:
        if exc.filename is not None and str(exc.filename) not in str(exc):
            return _error(f"{exc} ({exc.filename})")
        return _error(exc)
    except UnicodeDecodeError as exc:  # a binary file read as text (e.g. a catalog that is .npz)
        return _error(f"the input is not a text file ({exc.reason} at byte {exc.start}); pass a "
                      "tab- or comma-separated text file (or the format the command documents)")
    except FloatingPointError as exc:  # a fit that diverged (nmfkit.models: finite_guard)
        return _error(exc)
    except EOFError as exc:  # a truncated compressed input (gzip) read by a command's own reader
        return _error(f"an input file is truncated ({exc}); pass the complete file")
    except ValueError as exc:
        if type(exc).__name__ != "EmptyDataError":  # pandas: an empty text file
            raise
        return _error(f"the input file is empty ({exc}); pass a file with a header and data rows")
    except KeyboardInterrupt:
        print("nmfkit: interrupted; nothing was written", file=sys.stderr)
        return 130
