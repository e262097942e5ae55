"""HTML report of an assignment: exposures refitted on known signatures, with their CIs.

A folder built like the extraction report (:mod:`nmfkit.signatures._report`, whose page
helpers it uses): ``index.html``, the tables as CSV, ``params.json`` and PNGs.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from .._files import figure, save_figure, staged_dir, write_json
from ..exceptions import NMFInputError
from ..plotting._style import PALETTE
from ._catalog import read_catalog
from ._report import (_effective_force, _files_html, _html_table, _kv_table, _page, _plain,
                      _save_exposures, _short)

__all__ = ["write_assignment_report"]


def _fit_table(assignment, catalog: pd.DataFrame) -> pd.DataFrame:
    E = assignment.exposures
    missing = [s for s in E.index if s not in catalog.index]
    if missing:
        raise NMFInputError(f"the assignment has {len(missing)} sample(s) that are not in the catalog "
                            f"(e.g. {missing[:3]}); pass the catalog the assignment was made from")
    fit = pd.DataFrame({"mutations": catalog.loc[E.index].sum(axis=1),
                        "assigned": E.sum(axis=1)}, index=E.index)
    for name in ("cosine", "relative_error"):
        value = getattr(assignment, name, None)
        if value is not None:
            fit[name] = pd.Series(value, index=E.index) if not isinstance(value, pd.Series) else value
    return fit.rename_axis("Samples")


def write_assignment_report(assignment, catalog, out_dir, *, force: bool = False) -> Path:
    """Write the report of an assignment (exposures refitted on known signatures) as a folder.

    Parameters
    ----------
    assignment : AssignmentResult or any object with the same fields
        ``exposures``, ``lower``, ``upper`` (DataFrames samples × signatures; the
        bounds may be None), ``cosine`` and ``relative_error`` (per sample), ``method``
        and ``params`` (dict).
    catalog : DataFrame or path
        The catalog the assignment was made from (either orientation, see
        :func:`read_catalog`).
    out_dir : path
        The folder to create; an existing non-empty folder is refused unless ``force``.
    force : bool, default=False

    Returns
    -------
    pathlib.Path
        The folder: ``index.html``, ``exposures.csv`` (+ ``exposures_lower.csv`` and
        ``exposures_upper.csv``), ``fit.csv`` (per sample: mutations, assigned,
        cosine, relative error), ``signatures.csv`` (per signature), ``params.json``,
        ``exposures.png``, ``exposures_relative.png``, ``fit.png``.
    """
    catalog = read_catalog(catalog)
    fit = _fit_table(assignment, catalog)
    E = assignment.exposures
    share = E.div(E.sum(axis=1).where(E.sum(axis=1) > 0), axis=0)
    per_sig = pd.DataFrame({"samples": (E > 0).sum(axis=0), "mutations": E.sum(axis=0),
                            "median share": share.median(axis=0), "max share": share.max(axis=0)})
    force = _effective_force(out_dir, force)
    with staged_dir(out_dir, force) as stage:
        E.rename_axis("Samples").to_csv(stage / "exposures.csv")
        for bound in ("lower", "upper"):
            if getattr(assignment, bound, None) is not None:
                getattr(assignment, bound).rename_axis("Samples").to_csv(stage / f"exposures_{bound}.csv")
        fit.to_csv(stage / "fit.csv")
        per_sig.rename_axis("Signature").to_csv(stage / "signatures.csv")
        method = str(getattr(assignment, "method", ""))
        write_json(_plain(dict(method=method, params=getattr(assignment, "params", None) or {})),
                   stage / "params.json")
        _save_exposures(stage / "exposures.png", E)
        _save_exposures(stage / "exposures_relative.png", E, relative=True)
        _save_fit(stage / "fit.png", fit)
        body = [_assignment_summary(fit, E, method), "<h2>Exposures</h2>",
                '<img src="exposures.png" alt="exposures">',
                '<img src="exposures_relative.png" alt="relative exposures">',
                "<h2>Signatures</h2>", _html_table(per_sig),
                "<h2>Fit per sample</h2>", '<img src="fit.png" alt="fit quality per sample">']
        worst = fit.sort_values("cosine") if "cosine" in fit.columns else fit
        note = "" if len(fit) <= 200 else f"<p>The 200 worst fitted of {len(fit)} samples; all in fit.csv.</p>"
        body += [note, _html_table(worst.head(200)), "<h2>Parameters</h2>",
                 _kv_table((k, _short(v)) for k, v in (getattr(assignment, "params", None) or {}).items()),
                 _files_html(stage)]
        title = f"Signature assignment ({method})" if method else "Signature assignment"
        (stage / "index.html").write_text(_page(title, "\n".join(body)), encoding="utf-8")
    return Path(os.path.abspath(out_dir))


def _assignment_summary(fit: pd.DataFrame, E: pd.DataFrame, method: str) -> str:
    rows = [("method", method or "–"), ("samples × signatures", f"{E.shape[0]} × {E.shape[1]}"),
            ("mutations", f"{float(fit['mutations'].sum()):,.0f}")]
    if "cosine" in fit.columns:
        rows += [("median cosine (observed vs reconstructed)", f"{fit['cosine'].median():.3f}"),
                 ("samples with cosine < 0.9", int((fit["cosine"] < 0.9).sum()))]
    if "relative_error" in fit.columns:
        rows.append(("median relative error", f"{fit['relative_error'].median():.3f}"))
    return _kv_table(rows)


def _save_fit(path: Path, fit: pd.DataFrame) -> None:
    columns = [c for c in ("cosine", "relative_error") if c in fit.columns]
    fig = figure(4.2 * max(1, len(columns)), 3.2)
    for ax, column in zip(np.atleast_1d(fig.subplots(1, max(1, len(columns)))), columns):
        ax.hist(fit[column].to_numpy(float), bins=30, color=PALETTE[0])
        ax.set_xlabel(column.replace("_", " "))
        ax.set_ylabel("samples")
    save_figure(fig, path)
