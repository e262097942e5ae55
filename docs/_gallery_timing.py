"""Fail the documentation build when a gallery example runs longer than its budget.

sphinx-gallery measures each executed example and caches the measurement next to the
generated page (``auto_examples/<name>.cost.json``, kept for examples not re-run
because they did not change). After the gallery is generated this hook reads those
measurements, logs them, and emits a Sphinx warning for every example over the
limit: the strict build (``-W``) then fails. The totals are also in
``docs/sg_execution_times.rst`` (rendered as the "Computation times" page).
"""

from __future__ import annotations

import json
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)


def _gallery_pairs(app):
    """``(examples_dir, gallery_dir)`` paths of the sphinx-gallery configuration."""
    conf = app.config.sphinx_gallery_conf
    examples, galleries = conf["examples_dirs"], conf["gallery_dirs"]
    if isinstance(examples, str):
        examples, galleries = [examples], [galleries]
    src = Path(app.srcdir)
    return [(src / e, src / g) for e, g in zip(examples, galleries)]


def remove_stale(app) -> None:
    """Delete generated pages of examples whose source was removed or renamed.

    sphinx-gallery leaves them behind; a stale page would be outside every toctree,
    which the strict build reports as an error. Runs before the gallery is generated.
    """
    for examples_dir, gallery_dir in _gallery_pairs(app):
        if not gallery_dir.is_dir():
            continue
        for page in gallery_dir.rglob("*.rst"):
            source = examples_dir / page.relative_to(gallery_dir).with_suffix(".py")
            if page.name in ("index.rst", "sg_execution_times.rst") or source.exists():
                continue
            stem = page.stem
            for f in list(page.parent.glob(stem + ".*")) + list(page.parent.rglob(f"sphx_glr_{stem}_*")):
                f.unlink()
            logger.info(f"gallery: removed the pages of the deleted example {stem}.py")


def example_times(examples_dir: Path, gallery_dir: Path) -> dict[str, float]:
    """``{example file name: seconds}`` of the examples of ``examples_dir`` that ran."""
    times = {}
    for cost in sorted(gallery_dir.rglob("plot_*.cost.json")):
        if not (examples_dir / cost.relative_to(gallery_dir)).with_name(
                cost.name.replace(".cost.json", ".py")).exists():
            continue
        try:
            seconds = float(json.loads(cost.read_text())["time"])
        except (ValueError, KeyError, OSError):
            continue
        times[cost.name.replace(".cost.json", ".py")] = seconds
    return times


def check_times(app, max_seconds: float) -> None:
    """Log each example's run time; warn (an error under ``-W``) above ``max_seconds``."""
    conf = app.config.sphinx_gallery_conf
    if not conf.get("plot_gallery") or conf.get("plot_gallery") == "False":
        return
    for examples_dir, gallery_dir in _gallery_pairs(app):
        for example, seconds in example_times(examples_dir, gallery_dir).items():
            logger.info(f"gallery timing: {example} {seconds:.1f} s (limit {max_seconds:.0f} s)")
            if seconds > max_seconds:
                logger.warning(
                    f"gallery example {example} took {seconds:.1f} s, over the limit of "
                    f"{max_seconds:.0f} s (NMFKIT_GALLERY_MAX_SECONDS); subsample its data "
                    "or lower its iterations")
