"""One self-contained HTML page for any result folder the command line writes.

:func:`write_report` reads what a folder holds — ``summary.json``, ``result.npz`` /
``result.json`` (:func:`nmfkit.io.load_result`), ``H.tsv``, a rank search's
``rank_table.tsv``, a contrastive fit's ``basis.tsv`` / ``enrichment.tsv``, a signature
extraction's ``selection.csv`` / ``signatures_k*.csv`` or an assignment's ``exposures.csv``
— and renders one page: the parameters, the fit's numbers, the loss curve, a heat-map of
the factor ``H``, the top features of every component by weight and by distinctiveness
(:func:`nmfkit.top_features`), the folder's tables and figures, and its file list.
Figures are embedded as base64 PNG, the CSS inline: the page needs no other file and no
network, so it can be mailed or archived alone. ``nmfkit report DIR`` and the fit
commands' ``--report`` call it; ``nmfkit demo``'s page is this page.
"""

from __future__ import annotations

import base64
import html
import io as _stdio
import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from ._files import REPORT_CSS, figure
from .exceptions import NMFInputError

__all__ = ["write_report", "render_report"]

_e = html.escape
_EXTRA_CSS = """
body { max-width: 72rem; }
table.data td, table.data th { text-align: right; font-variant-numeric: tabular-nums;
                               padding-right: .8rem; }
table.data td.words { text-align: left; }
.scroll { overflow-x: auto; }
"""
#: what marks each kind of folder (the first match wins)
_KINDS = (
    ("signatures extraction", ("selection.csv",)),
    ("signature assignment", ("exposures.csv",)),
    ("contrastive NMF", ("basis.tsv",)),
    ("rank search", ("rank_table.tsv",)),
    ("NMF fit", ("result.npz",)),
    ("NMF fit", ("H.tsv",)),
)
#: small tables shown in full (or their first rows)
_TABLES = ("rank_table.tsv", "enrichment.tsv", "selection.csv", "walkdown.csv",
           "decomposition.csv", "signatures.csv", "fit.csv")
_MAX_ROWS = 30


def _kind(folder: Path) -> str:
    for kind, marks in _KINDS:
        if all((folder / m).is_file() for m in marks):
            return kind
    raise NMFInputError(
        f"result_dir {str(folder)!r} is not an nmfkit result folder: it holds none of "
        "result.npz, H.tsv, rank_table.tsv, basis.tsv, selection.csv, exposures.csv; pass a "
        "folder written by nmfkit fit, rank, contrast, demo or signatures")


def _read_json(path: Path) -> dict:
    if not path.is_file():
        return {}
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as err:
        raise NMFInputError(f"{path}: not readable JSON ({err}); re-run the command that wrote "
                            "the folder") from None
    return value if isinstance(value, dict) else {}


def _png(fig) -> str:
    """A figure as an ``<img>`` with a base64 PNG (no file, no network)."""
    buf = _stdio.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return _img(buf.getvalue(), "figure")


def _img(data: bytes, alt: str) -> str:
    return (f'<img alt="{_e(alt)}" src="data:image/png;base64,'
            f'{base64.b64encode(data).decode("ascii")}">')


def _fmt(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return {True: "yes", False: "no", None: "–"}[value]
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, (list, tuple)):
        text = ", ".join(_fmt(v) for v in value[:12])
        return text + (f", … ({len(value)} in all)" if len(value) > 12 else "")
    if isinstance(value, dict):
        return ", ".join(f"{k}={_fmt(v)}" for k, v in list(value.items())[:12])
    return str(value)


def _kv_table(rows) -> str:
    body = "\n".join(f"<tr><th>{_e(str(a))}</th><td>{_e(_fmt(b))}</td></tr>"
                     for a, b in rows if b is not None)
    return f"<table>\n{body}\n</table>"


def _frame_html(df: pd.DataFrame, note: str = "") -> str:
    shown = df.head(_MAX_ROWS)
    more = f"<p class=\"small\">First {_MAX_ROWS} of {len(df)} rows.</p>" if len(df) > _MAX_ROWS else ""
    table = shown.to_html(classes="data", border=0, na_rep="–", float_format=lambda v: f"{v:.4g}",
                          escape=True)
    return f'<div class="scroll">{table}</div>{more}{note}'


def _load(folder: Path):
    """``(result or None, H DataFrame or None)`` from what the folder holds."""
    from . import io

    result = io.load_result(folder / "result.npz") if (folder / "result.npz").is_file() else None
    H = None
    if result is not None:
        H = result.to_frames()[1]  # labelled by the names the result keeps
    else:
        for name in ("H.tsv", "basis.tsv"):
            if (folder / name).is_file():
                H = pd.read_csv(folder / name, sep="\t", index_col=0)
                break
    if H is None:
        H = _signatures(folder)
    return result, H


def _signatures(folder: Path):
    """The chosen solution of a signature extraction (k × 96), or the assigned signatures."""
    summary = _read_json(folder / "summary.json")
    k = summary.get("k")
    path = folder / f"signatures_k{k}.csv"
    if k is None or not path.is_file():
        return None
    from .signatures import read_catalog

    return read_catalog(path)


def _numbers(summary: dict, result) -> list:
    """The rows of the fit's table, from ``summary.json`` (else the loaded result)."""
    s = dict(summary)
    if result is not None:
        for key in ("loss", "n_iter", "converged", "stop_reason", "elapsed", "beta", "solver"):
            s.setdefault(key, getattr(result, key))
        s.setdefault("k", result.n_components)
        if result.loss_history:
            s.setdefault("loss_initial", result.loss_history[0])
    shape = s.get("shape")
    rows = [("data (samples × features)", f"{shape[0]:,} × {shape[1]:,}" if shape else None)]
    if s.get("partial"):
        rows.insert(0, ("partial result", "yes: the run was interrupted (Ctrl-C); these are its "
                        "last iterates, not a finished fit"))
    for label, key in (("target / background shape", "target_shape"), ("best k", "best_k"),
                       ("k (SigProfiler's rule)", "k_sigprofiler"), ("k (cross-validation)", "k_cv"),
                       ("ranks searched", "ks"), ("rule", "rule"), ("components k", "k"),
                       ("solver", "solver"), ("beta of the divergence", "beta"),
                       ("loss", "loss"), ("objective", "objective"),
                       ("loss after initialisation", "loss_initial"),
                       ("target term / background term", "target_loss"),
                       ("relative error ‖X − WH‖ / ‖X‖", "relative_error"),
                       ("iterations", "n_iter"), ("converged", "converged"),
                       ("stop reason", "stop_reason"), ("time (s)", "elapsed")):
        value = s.get(key)
        if key == "target_shape" and value:
            value = f"{value[0]:,} × {value[1]:,} / {s['background_shape'][0]:,} × {value[1]:,}"
        if key == "best_k" and key in s and value is None:
            value = "none (no cross-validation)"
        if key == "target_loss" and value is not None:
            value = f"{value:.6g} / {s.get('background_loss', float('nan')):.6g}"
        rows.append((label, value))
    return rows


def _params(folder: Path, summary: dict) -> dict:
    if isinstance(summary.get("params"), dict):
        return summary["params"]
    params = _read_json(folder / "params.json")
    if params:
        return params.get("params", params) if isinstance(params.get("params"), dict) else params
    skip = {"versions", "command", "created", "enrichment", "restart_losses", "description",
            "title", "attribution"}
    return {k: v for k, v in summary.items() if k not in skip and not isinstance(v, (dict, list))}


def _loss_figure(result) -> str | None:
    if result is None or len(result.loss_history) < 2:
        return None
    from .plotting import plot_loss

    fig = figure(6.0, 3.6)
    plot_loss(result, ax=fig.add_subplot())
    return _png(fig)


def _heatmap(H: pd.DataFrame | None) -> str | None:
    if H is None:
        return None
    from .plotting import plot_factor_heatmap

    k, m = H.shape
    fig = figure(min(14.0, max(6.0, 0.22 * min(m, 60) + 3.0)), min(10.0, max(2.8, 0.35 * k + 1.8)))
    plot_factor_heatmap(H, ax=fig.add_subplot(), title=f"H: {k} components × {m:,} features",
                        xlabel="feature", ylabel="component", max_labels=60)
    return _png(fig)


def _top_table(H: pd.DataFrame | None, n: int = 10) -> str | None:
    """One row per component: its top features by weight and by distinctiveness."""
    if H is None:
        return None
    from ._inspect import RELEVANCE_LAMBDA, top_features

    table = top_features(H.clip(lower=0).fillna(0.0), n=n)
    rows = []
    for comp in dict.fromkeys(table["component"]):
        cells = [f"<th>{_e(str(comp))}</th>"]
        for by in ("weight", "lift"):
            words = table[(table.component == comp) & (table.by == by)]["feature"]
            cells.append(f'<td class="words">{_e(", ".join(map(str, words)))}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f"<p>The {n} largest entries of each row of <i>H</i> (by weight), and the {n} most "
            "distinctive ones: relevance λ·log share + (1 − λ)·log lift with "
            f"λ = {RELEVANCE_LAMBDA} (lift = weight / the feature's mean over components), which "
            "keeps features that are large in every component (on text: the, of, and) off the "
            "list (<code>nmfkit.top_features</code>).</p>"
            '<div class="scroll"><table class="data"><tr><th>component</th><th>by weight</th>'
            "<th>by distinctiveness</th></tr>\n" + "\n".join(rows) + "</table></div>")


def _tables(folder: Path) -> list:
    out = []
    for name in _TABLES:
        path = folder / name
        if path.is_file():
            sep = "\t" if name.endswith(".tsv") else ","
            out.append(f"<h3>{_e(name)}</h3>" + _frame_html(pd.read_csv(path, sep=sep, index_col=0)))
    return out


def _files(folder: Path, skip: set) -> tuple[list, str]:
    """The folder's PNGs (embedded, except those redrawn) and its file list."""
    images, items = [], []
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or not path.is_file():
            continue
        items.append(f"<li><code>{_e(path.name)}</code> ({path.stat().st_size:,} bytes)</li>")
        if path.suffix.lower() == ".png" and path.name not in skip:
            images.append(f"<h3>{_e(path.name)}</h3>" + _img(path.read_bytes(), path.name))
    return images, "<ul>" + "\n".join(items) + "</ul>"


def render_report(result_dir: str | os.PathLike) -> str:
    """The HTML page of a result folder, as a string (see :func:`write_report`).

    Parameters
    ----------
    result_dir : str or os.PathLike
        A folder written by ``nmfkit fit``, ``rank``, ``contrast``, ``demo`` or
        ``signatures``.

    Returns
    -------
    str
        A self-contained HTML document (inline CSS, base64 PNGs, no scripts).
    """
    folder = Path(result_dir)
    if not folder.is_dir():
        raise NMFInputError(f"result_dir {str(folder)!r} is not a folder; pass a folder written by "
                            "nmfkit fit, rank, contrast, demo or signatures")
    kind = _kind(folder)
    summary = _read_json(folder / "summary.json")
    result, H = _load(folder)
    title = summary.get("title") or f"nmfkit: {kind}"
    body = [f"<h1>{_e(title)}</h1>"]
    if summary.get("description"):
        body.append(f"<p>{_e(summary['description'])}</p>")
    source = summary.get("input") or summary.get("target")
    if source:
        body.append(f"<p class=\"small\">Input: <code>{_e(str(source))}</code></p>")
    if summary.get("command"):
        body.append(f"<p class=\"small\">Command: <code>{_e(summary['command'])}</code></p>")
    body += ["<h2>The fit</h2>", _kv_table(_numbers(summary, result))]
    params = _params(folder, summary)
    if params:
        body += ["<h2>Parameters</h2>", _kv_table(sorted(params.items()))]
    drawn = set()  # the folder's own figure is embedded where there is one, else it is drawn
    for heading, files, draw, data in (("Convergence", ("loss.png",), _loss_figure, result),
                                       ("Top features of each component", (), _top_table, H),
                                       ("H as a heat-map", ("factors.png", "basis.png"), _heatmap, H)):
        have = [f for f in files if (folder / f).is_file()]
        html_img = (_img((folder / have[0]).read_bytes(), have[0]) if have and data is not None
                    else draw(data))
        if html_img is not None:
            body += [f"<h2>{heading}</h2>", html_img]
            drawn.update(have[:1])
    tables = _tables(folder)
    if tables:
        body += ["<h2>Tables</h2>", *tables]
    images, listing = _files(folder, drawn)
    if images:
        body += ["<h2>Figures in the folder</h2>", *images]
    body += ["<h2>Files</h2>", listing,
             "<p class=\"small\">Load the fit with <code>nmfkit.io.load_result(DIR + "
             "'/result.npz')</code> and tables with <code>nmfkit.io.read_matrix</code> or "
             "pandas.</p>"]
    footer = []
    if summary.get("attribution"):
        footer.append(f"Data: {_e(summary['attribution'])}.")
    vers = summary.get("versions") or {}
    if summary.get("created") or vers:
        made = f"Made {_e(summary.get('created', ''))} with " if summary.get("created") else "Made with "
        footer.append(made + ", ".join(f"{_e(str(a))} {_e(str(b))}" for a, b in vers.items()) + ".")
    if footer:
        body.append("<p class=\"small\">" + "<br>".join(footer) + "</p>")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{_e(title)}</title>\n<style>{REPORT_CSS}{_EXTRA_CSS}</style>\n</head>\n<body>\n"
            + "\n".join(body) + "\n</body>\n</html>\n")


def write_report(result_dir: str | os.PathLike, out: str | os.PathLike | None = None, *,
                 overwrite: bool = False) -> Path:
    """Write one self-contained HTML page describing a result folder.

    Parameters
    ----------
    result_dir : str or os.PathLike
        A folder written by ``nmfkit fit``, ``rank``, ``contrast``, ``demo`` or
        ``signatures extract|assign`` (what it holds decides what the page shows).
    out : str or os.PathLike, optional
        The HTML file to write; default ``result_dir/report.html``.
    overwrite : bool, default=False
        Replace an existing ``out``; otherwise refuse with :class:`NMFInputError`.

    Returns
    -------
    pathlib.Path
        The page written (atomically: a reader never sees half of it).

    Raises
    ------
    NMFInputError
        When ``result_dir`` is not a result folder, or ``out`` exists and ``overwrite``
        is False.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np, nmfkit
    >>> from nmfkit.report import write_report
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> res = nmfkit.nmf(np.random.default_rng(0).random((20, 6)), 2, random_state=0)
    >>> nmfkit.io.save_result(res, folder / "result.npz")
    >>> page = write_report(folder).read_text()
    >>> "data:image/png;base64," in page and "stop reason" in page
    True
    """
    from .io import atomic_write

    folder = Path(result_dir)
    target = folder / "report.html" if out is None else Path(out)
    if target.exists() and not overwrite:
        raise NMFInputError(f"{str(target)!r} already exists; pass overwrite=True (--force on the "
                            "command line) to replace it, or choose another --out")
    page = render_report(folder)
    with atomic_write(target, overwrite=overwrite) as handle:
        handle.write(page)
    return target
