"""The executed gallery examples (docs/gallery/plot_*.py) run standalone and print their results.

Each example runs in a subprocess with the Agg backend from an empty temporary folder
(so it can neither rely on the repository as its working directory nor leave files
there); it must exit with 0 and print the measured line named here, which is what the
rendered page shows.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

GALLERY = Path(__file__).resolve().parents[1] / "docs" / "gallery"
SRC = Path(__file__).resolve().parents[1] / "src"

#: example file -> text its output must contain (a measured result it prints).
EXAMPLES = {
    "plot_faces_parts.py": "SparseNMF s=0.75               0.750",
    "plot_microbiome_communities.py": "distinct: True",
    "plot_breast_cancer_signatures.py": "SigProfiler's rule",
    "plot_contrastive_programs.py": "ContrastiveNMF",
    "plot_choosing_k.py": "one-SE rule",
    "plot_newsgroups_topics.py": "words on more than one topic's list",
    "plot_pbmc_programs.py": "ARI of k-means(10) against bulk_labels",
    "plot_trumpet_notes.py": "/ |recording| =",
}


def test_every_executed_example_is_listed():
    """A new docs/gallery/plot_*.py must be added to EXAMPLES (with a line it prints)."""
    assert set(EXAMPLES) == {p.name for p in GALLERY.glob("plot_*.py")}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_gallery_example_runs(name, tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
    proc = subprocess.run([sys.executable, str(GALLERY / name)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{name} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert EXAMPLES[name] in proc.stdout, proc.stdout[-3000:]
    assert not any(tmp_path.iterdir()), "the example wrote into its working directory"
