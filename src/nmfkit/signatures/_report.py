"""HTML report of a signature extraction (the assignment report, :mod:`._report_assign`,
shares its page helpers).

Each report is a folder: ``index.html`` (inline CSS, no scripts, pictures by relative
path), the tables as CSV, ``params.json`` and the PNG pictures. The folder is built in a
hidden sibling and renamed into place at the end (:mod:`nmfkit._files`), so a
failure leaves nothing behind and an existing folder is only replaced with ``force``.
"""

from __future__ import annotations

import datetime as _dt
import html
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._files import REPORT_CSS, figure, save_figure, staged_dir, versions, write_json
from ..exceptions import NMFInputError
from ._catalog import SBS96_TYPES, read_catalog, to_catalog

__all__ = ["write_extraction_report"]

_EXTRA_CSS = """
body { max-width: 72rem; }
table.data td, table.data th { text-align: right; font-variant-numeric: tabular-nums; }
table.data tr.chosen { background: #eef6ff; font-weight: 600; }
.scroll { overflow-x: auto; }
"""
_e = html.escape


def _effective_force(out_dir, force: bool) -> bool:
    """Refuse an existing non-empty folder without ``force``; an empty one is simply replaced."""
    out = Path(os.path.abspath(out_dir))
    if out.is_dir() and not out.is_symlink():
        if not any(out.iterdir()):
            return True
        if not force:
            raise NMFInputError(f"output directory {str(out)!r} already exists and is not empty; pass "
                                "force=True (--force on the command line) to replace it, or choose "
                                "another folder")
    return force


def _plain(value: Any) -> Any:
    """``value`` with arrays, NumPy scalars, tuples, sets and paths made JSON-friendly."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return [_plain(v) for v in items]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (pd.Series, pd.DataFrame)):
        return _plain(value.to_dict())
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value) if not isinstance(value, os.PathLike) else os.fspath(value)


def _letters(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def _named(solution) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict]:
    """The solution's signatures, SE and exposures with SigProfiler-style names SBS96A, SBS96B, …"""
    old = list(solution.signatures.index)
    names = [f"SBS96{_letters(i)}" for i in range(len(old))]
    sig = solution.signatures.set_axis(names, axis=0)
    se = solution.signatures_se.set_axis(names, axis=0)
    exp = solution.exposures.set_axis(names, axis=1)
    return sig, se, exp, {str(o): n for o, n in zip(old, names)}


def _rename_values(df: pd.DataFrame, mapping: dict) -> pd.DataFrame:
    """``df`` with the de novo names of ``mapping`` replaced in its index and label columns."""
    out = df.rename(index=lambda v: mapping.get(str(v), v))
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = out[col].map(lambda v: mapping.get(v, v) if isinstance(v, str) else v)
    return out


def _html_table(df: pd.DataFrame, chosen=None) -> str:
    text = df.to_html(classes="data", border=0, na_rep="–",
                      float_format=lambda v: f"{v:.4g}", escape=True)
    head, _, rows = text.partition("<tbody>")
    for label in chosen or ():  # highlight the rows of the chosen ranks
        rows = rows.replace(f"<tr>\n      <th>{_e(str(label))}</th>",
                            f'<tr class="chosen">\n      <th>{_e(str(label))}</th>', 1)
    return f'<div class="scroll">{head}<tbody>{rows}</div>'


def _kv_table(rows) -> str:
    body = "\n".join(f"<tr><th>{_e(str(a))}</th><td>{_e(str(b))}</td></tr>" for a, b in rows)
    return f"<table>\n{body}\n</table>"


def _short(value: Any, limit: int = 160) -> str:
    if isinstance(value, (list, tuple, np.ndarray)) and len(value) > 8:
        head = ", ".join(str(v) for v in list(value)[:5])
        return f"[{head}, …] ({len(value)} values)"
    text = str(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _page(title: str, body: str) -> str:
    made = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    tools = ", ".join(f"{_e(n)} {_e(str(v))}" for n, v in versions().items())
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title>
<style>{REPORT_CSS}{_EXTRA_CSS}</style>
</head>
<body>
<h1>{_e(title)}</h1>
{body}
<p class="small">Made {_e(made)} with {tools}.</p>
</body>
</html>
"""


def _files_html(stage: Path) -> str:
    names = sorted(p.name for p in stage.iterdir() if p.name != "index.html")
    links = ", ".join(f'<a href="{_e(n)}">{_e(n)}</a>' for n in names)
    return f"<h2>Files</h2>\n<p>{links}</p>"


def _save_sbs96(path: Path, sig: pd.DataFrame, se: pd.DataFrame) -> None:
    from ..plotting import plot_sbs96

    k = sig.shape[0]
    ncols = 1 if k <= 4 else 2
    nrows = -(-k // ncols)
    fig = figure(9.0 * ncols, 2.1 * nrows + 0.4)
    plot_sbs96(sig, se=se, fig=fig, ncols=ncols)
    save_figure(fig, path)


def _save_exposures(path: Path, exposures: pd.DataFrame, relative: bool = False) -> None:
    from ..plotting import plot_exposures

    used = exposures.loc[:, (exposures > 0).any(axis=0)]  # 86 COSMIC columns, most unused
    exposures = used if used.shape[1] else exposures
    fig = figure(min(16.0, max(6.0, 0.15 * exposures.shape[0] + 3.0)), 4.0 + 0.05 * exposures.shape[1])
    plot_exposures(exposures, ax=fig.add_subplot(), relative=relative, order="total")
    save_figure(fig, path)


def _reference_section(stage: Path, sig: pd.DataFrame, reference, k: int) -> str:
    from ..plotting import plot_cosine_heatmap
    from ..plotting._signature_selection import _keep_columns
    from ._compare import cosine_similarity

    ref = read_catalog(reference)  # either orientation -> one reference signature per row
    C = cosine_similarity(sig, ref)
    n_kept = len(_keep_columns(C.to_numpy(), 3, 0.8))
    fig = figure(min(18.0, max(5.0, 0.45 * n_kept + 2.5)), max(2.6, 0.4 * sig.shape[0] + 1.8))
    plot_cosine_heatmap(sig, ref, ax=fig.add_subplot(), top=3, threshold=0.8)
    save_figure(fig, stage / f"cosine_k{k}.png")
    best = pd.DataFrame({
        f"match {r + 1}": [f"{C.columns[j]} ({C.iloc[i, j]:.3f})"
                           for i, j in enumerate(np.argsort(-C.to_numpy(), axis=1)[:, r])]
        for r in range(min(3, C.shape[1]))}, index=C.index)
    C.to_csv(stage / f"cosine_k{k}.csv")
    return (f"<h2>Comparison with the {ref.shape[0]} reference signatures</h2>\n"
            "<p>Cosine similarity of each de novo signature with the reference signatures "
            "(each signature's three best matches and every reference reaching 0.8).</p>\n"
            f'<img src="cosine_k{k}.png" alt="cosine similarity heat-map">\n'
            f"{_html_table(best)}")


def _write_solution_files(stage: Path, solution) -> dict:
    sig, se, exp, mapping = _named(solution)
    k = int(solution.k)
    to_catalog(sig).to_csv(stage / f"signatures_k{k}.csv")
    se_t = se[list(SBS96_TYPES)].T if set(SBS96_TYPES) <= set(se.columns) else se.T
    se_t.rename_axis("MutationType").to_csv(stage / f"signatures_se_k{k}.csv")
    exp.rename_axis("Samples").to_csv(stage / f"exposures_k{k}.csv")
    return dict(sig=sig, se=se, exp=exp, mapping=mapping)


def _solution_section(stage: Path, solution, named: dict, title: str) -> str:
    k = int(solution.k)
    _save_sbs96(stage / f"signatures_k{k}.png", named["sig"], named["se"])
    _save_exposures(stage / f"exposures_k{k}.png", named["exp"])
    stats = pd.DataFrame({"stability": np.asarray(solution.stability, dtype=float),
                          "mutations": named["exp"].sum(axis=0).to_numpy(float)},
                         index=named["sig"].index)
    stats["share"] = stats["mutations"] / max(float(stats["mutations"].sum()), 1e-300)
    return (f"<h2>{_e(title)}</h2>\n"
            f"<p>Consensus signatures (percentages of each signature's total; error bars one "
            f"standard error over the replicates). Files: <code>signatures_k{k}.csv</code> "
            f"(96 × {k}, types × signatures), <code>exposures_k{k}.csv</code>.</p>\n"
            f'<img src="signatures_k{k}.png" alt="SBS-96 profiles at k = {k}">\n'
            f"{_html_table(stats)}\n"
            f'<img src="exposures_k{k}.png" alt="exposures at k = {k}">')


def _summary_rows(result) -> list:
    p = result.params or {}
    ks = list(result.table.index)
    catalog = result.catalog
    rows = [("samples × mutation types", f"{catalog.shape[0]} × {catalog.shape[1]}"),
            ("mutations", f"{float(np.asarray(catalog, dtype=float).sum()):,.0f}"),
            ("ranks tried", f"{min(ks)} … {max(ks)}" if ks else "none"),
            ("k by SigProfiler's rule (stability + Wilcoxon walk-down)", result.k_sigprofiler),
            ("k by cross-validation", "not run" if result.k_cv is None else result.k_cv),
            ("reported k", f"{result.k} (rule: {result.rule})")]
    if p.get("stopped") == "interrupted":
        rows.insert(0, ("partial result", "yes: interrupted (Ctrl-C); the ranks finished "
                        "before it only"))
    for key in ("n_replicates", "replicates", "loss", "seed", "random_state"):
        if key in p:
            rows.append((key, _short(p[key])))
    return rows


def write_extraction_report(result, out_dir, *, reference=None, force: bool = False) -> Path:
    """Write the report of :func:`nmfkit.signatures.extract` as a folder.

    Parameters
    ----------
    result : ExtractionResult
    out_dir : path
        The folder to create. An existing non-empty folder is refused unless ``force``.
    reference : DataFrame, optional
        Reference signatures (e.g. :func:`nmfkit.signatures.load_cosmic`), either
        orientation; adds a cosine heat-map and the best matches.
    force : bool, default=False
        Replace an existing folder (only once the new one is complete).

    Returns
    -------
    pathlib.Path
        The folder. It holds ``index.html``; ``selection.csv`` (the per-k table);
        ``signatures_k{K}.csv`` (96 × K, a ``MutationType`` column, readable with
        :func:`read_catalog`), ``signatures_se_k{K}.csv`` and ``exposures_k{K}.csv``
        (samples × K) for every K solved; ``walkdown.csv``; ``decomposition.csv`` when
        present; ``cosine_k{K}.csv`` with a reference; ``params.json``, ``summary.json``;
        ``selection.png`` and, for the rank of each rule, ``signatures_k{K}.png`` and
        ``exposures_k{K}.png`` (``cosine_k{K}.png`` with a reference).
    """
    from ..plotting import plot_signature_selection

    force = _effective_force(out_dir, force)
    with staged_dir(out_dir, force) as stage:
        result.table.rename_axis(result.table.index.name or "k").to_csv(stage / "selection.csv")
        named = {k: _write_solution_files(stage, sol) for k, sol in sorted(result.solutions.items())}
        write_json(_plain(result.params or {}), stage / "params.json")
        write_json(_plain(dict(k_sigprofiler=result.k_sigprofiler, k_cv=result.k_cv, k=result.k,
                               rule=result.rule, ks=list(result.table.index),
                               n_samples=result.catalog.shape[0], versions=versions(),
                               partial=(result.params or {}).get("stopped") == "interrupted")),
                   stage / "summary.json")
        fig = figure(11.0, 3.8)
        plot_signature_selection(result.table, k_sigprofiler=result.k_sigprofiler,
                                 k_cv=result.k_cv, fig=fig)
        save_figure(fig, stage / "selection.png")
        shown = result.table.copy()
        shown["chosen by"] = [", ".join(name for name, c in (("SigProfiler", result.k_sigprofiler),
                                                             ("CV", result.k_cv)) if c == k)
                              for k in shown.index]
        body = [_kv_table(_summary_rows(result)), "<h2>Rank selection</h2>",
                '<img src="selection.png" alt="stability and error against k">',
                _html_table(shown, [k for k in shown.index if shown.loc[k, "chosen by"]])]
        if isinstance(result.walkdown, pd.DataFrame) and not result.walkdown.empty:
            result.walkdown.to_csv(stage / "walkdown.csv")
            body += ["<h3>Wilcoxon walk-down</h3>", _html_table(result.walkdown)]
        body.append(_extraction_solutions(stage, result, named, reference))
        body += ["<h2>Parameters</h2>",
                 _kv_table((k, _short(v)) for k, v in (result.params or {}).items()),
                 _files_html(stage)]
        title = f"Signature extraction: k = {result.k}"
        (stage / "index.html").write_text(_page(title, "\n".join(body)), encoding="utf-8")
    return Path(os.path.abspath(out_dir))


def _extraction_solutions(stage: Path, result, named: dict, reference) -> str:
    parts = []
    rules = {result.k: f"rule: {result.rule}"}
    for k, what in ((result.k_sigprofiler, "SigProfiler's rule"), (result.k_cv, "cross-validation")):
        if k is not None and k != result.k:
            rules[k] = what
    for k, what in rules.items():
        if k in result.solutions:
            parts.append(_solution_section(stage, result.solutions[k], named[k],
                                           f"Signatures at k = {k} ({what})"))
    mapping = named[result.k]["mapping"] if result.k in named else {}
    if reference is not None and result.k in named:
        parts.append(_reference_section(stage, named[result.k]["sig"], reference, result.k))
    if isinstance(result.decomposition, pd.DataFrame):
        dec = _rename_values(result.decomposition, mapping)
        dec.to_csv(stage / "decomposition.csv")
        parts += [f"<h2>Decomposition into the reference signatures (k = {result.k})</h2>",
                  _html_table(dec)]
    return "\n".join(parts)
