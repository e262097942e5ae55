"""Sphinx configuration of the nmfkit documentation site.

Build (strict, warnings are errors) from the repository root::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

Sphinx + sphinx-gallery: the gallery (``docs/gallery/plot_*.py``) is executed at
build time on the bundled real data, each example's run time is reported, and each
page offers the example as a ``.py`` script and a Jupyter notebook.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))  # the checkout's nmfkit first
sys.path.insert(0, str(HERE))  # _gallery_timing
os.environ.setdefault("MPLBACKEND", "Agg")

import nmfkit  # noqa: E402

project = "nmfkit"
author = "nmfkit developers"
copyright = "nmfkit developers, BSD-3-Clause"
version = release = nmfkit.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",
    "sphinx.ext.viewcode",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "_templates", "README.md", "auto_examples/*.ipynb", "auto_examples/*.py",
                    "auto_examples/*.zip", "auto_examples/*.json", "auto_examples/*.md5",
                    "examples/*.py", "gallery/*.py", "gallery/GALLERY_HEADER.rst",
                    "Thumbs.db", ".DS_Store"]

# -- autodoc / autosummary / napoleon (numpydoc docstrings) -----------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"members": True, "inherited-members": False,
                           "show-inheritance": False}
autodoc_typehints = "none"  # the numpydoc "Parameters" sections carry the types
autodoc_member_order = "bysource"
# optional heavy dependencies are imported only when used, so nothing needs mocking;
# add a name here only if a module fails to import at build time
autodoc_mock_imports: list[str] = []
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
napoleon_preprocess_types = False
napoleon_use_ivar = False

intersphinx_mapping = {
    "python": ("https://docs.python.org/3", None),
    "numpy": ("https://numpy.org/doc/stable", None),
    "scipy": ("https://docs.scipy.org/doc/scipy", None),
    "sklearn": ("https://scikit-learn.org/stable", None),
    "pandas": ("https://pandas.pydata.org/docs", None),
    "matplotlib": ("https://matplotlib.org/stable", None),
}
# CI has no network except PyPI: intersphinx inventories are fetched only when asked
# (NMFKIT_DOCS_INTERSPHINX=1), so an offline strict build does not warn about them.
if os.environ.get("NMFKIT_DOCS_INTERSPHINX") != "1":
    intersphinx_mapping = {}

# docstrings name types in prose ("array-like", "int or None"): no nitpicky reference checks
nitpicky = False
# napoleon turns every word of a prose type ("array (n_samples, k)") into a reference;
# a word that names two attributes (``k`` of ExtractionResult and of Solution) is
# ambiguous, which is not an error of the page
suppress_warnings = ["ref.python"]

# -- MyST (Markdown pages) --------------------------------------------------------
myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3

# -- sphinx-gallery ---------------------------------------------------------------
from _gallery_timing import check_times, remove_stale  # noqa: E402

#: seconds one gallery example may take at build time (the CI budget is ~30 s)
GALLERY_MAX_SECONDS = float(os.environ.get("NMFKIT_GALLERY_MAX_SECONDS", "30"))

sphinx_gallery_conf = {
    "examples_dirs": "gallery",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",  # only plot_*.py are executed
    "ignore_pattern": r"__init__\.py|/_",
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "image_scrapers": ("matplotlib",),
    "download_all_examples": True,
    "remove_config_comments": True,
    "min_reported_time": 0,
    "write_computation_times": True,
    "show_memory": False,
    "within_subsection_order": "FileNameSortKey",
    "reset_modules": ("matplotlib",),
    "matplotlib_animations": False,
    "plot_gallery": "True",
    "doc_module": (),
    "backreferences_dir": None,
}


def _check_gallery_times(app):
    check_times(app, GALLERY_MAX_SECONDS)


def _skip_member(app, what, name, obj, skip, options):
    """Leave out scikit-learn's generated metadata-routing setters (``set_fit_request``...)."""
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_member)
    # before sphinx-gallery generates the gallery (its generate_gallery_rst: priority 500)
    app.connect("builder-inited", remove_stale, priority=400)
    # after it has run the examples
    app.connect("builder-inited", _check_gallery_times, priority=900)


# -- HTML -------------------------------------------------------------------------
html_theme = "furo"
html_title = f"nmfkit {release}"
html_static_path: list[str] = []
