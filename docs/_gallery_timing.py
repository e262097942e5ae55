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


def example_times(gallery_dir: Path) -> dict[str, float]:
    """``{example file name: seconds}`` of the executed examples under ``gallery_dir``."""
    times = {}
    for cost in sorted(gallery_dir.rglob("plot_*.cost.json")):
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
    gallery_dirs = conf["gallery_dirs"]
    if isinstance(gallery_dirs, str):
        gallery_dirs = [gallery_dirs]
    for name in gallery_dirs:
        for example, seconds in example_times(Path(app.srcdir) / name).items():
            logger.info(f"gallery timing: {example} {seconds:.1f} s (limit {max_seconds:.0f} s)")
            if seconds > max_seconds:
                logger.warning(
                    f"gallery example {example} took {seconds:.1f} s, over the limit of "
                    f"{max_seconds:.0f} s (NMFKIT_GALLERY_MAX_SECONDS); subsample its data "
                    "or lower its iterations")
