"""Small real datasets bundled with nmfkit, and synthetic generators with known truth.

All loaders return a :class:`sklearn.utils.Bunch` with samples as rows (the
scikit-learn orientation) and carry ``description`` and a one-line
``attribution``; the licences of the bundled files are listed in
``nmfkit/datasets/_data/ATTRIBUTION.md``. ``load_trumpet`` needs the optional
package ``soundfile``. ``fetch_*`` loaders download their data on first use into
:func:`get_data_home` (``$NMFKIT_DATA`` or ``~/.cache/nmfkit``) and check its
published SHA-256; their data is not bundled (its terms forbid redistribution).

=============================  ==================  ==========================================
loader                         X                   what
=============================  ==================  ==========================================
``load_mice_protein``          DataFrame 1080×77   protein levels, with NaNs (CC BY 4.0)
``load_breast_cancer_sbs96``   DataFrame 21×96     SBS-96 mutation counts (BSD-2-Clause)
``load_pbmc68k``               CSR 700×765         single-cell UMI counts (CC BY 4.0)
``load_mouse10k``              CSR 10000×1000      single-cell UMI counts (CC BY 4.0)
``load_digits``                ndarray 1797×64     8×8 digit images (CC BY 4.0)
``load_microbiome_atlas``      DataFrame 1151×130  gut microbiota genus abundances (CC0)
``load_newsgroups10``          CSR 9546×27137      word counts of 10 newsgroups, with groups
``load_orl_faces``             ndarray 400×10304   ORL / AT&T faces, 112×92 (BSD-3 packaging)
``load_trumpet``               ``signal`` 117601   5.3 s solo trumpet, mono 22,050 Hz (CC BY 3.0)
``fetch_movielens_100k``       ndarray 943×1682    movie ratings, NaN = unrated (downloaded)
``make_ratings``               ndarray 200×150     synthetic 1–5 stars from a planted rank-k model
``make_low_rank``              ndarray             synthetic ``W @ H`` + noise, with the truth
``make_contrastive_counts``    ndarray 1000×3000   target/background counts (bcNMF simulation)
``make_pbmc_batches``          ndarray 700×765     PBMC cells in two pseudo-batches (batch effect)
``make_planted_program``       ndarray             real PBMC / mouse counts, target vs background, a planted program
=============================  ==================  ==========================================
"""

from __future__ import annotations

from ._real import (
    load_breast_cancer_sbs96,
    load_digits,
    load_mice_protein,
    load_microbiome_atlas,
    load_mouse10k,
    load_pbmc68k,
)
from ._text_images import NEWSGROUPS10_SUPER, load_newsgroups10, load_orl_faces
from ._batches import make_pbmc_batches
from ._contrastive import ContrastiveCounts, make_contrastive_counts
from ._synthetic import LowRankData, make_low_rank
from ._audio import load_trumpet
from ._fetch import get_data_home
from ._movielens import fetch_movielens_100k, make_ratings
from ._planted import PlantedProgram, log1p_cp10k, make_planted_program

__all__ = [
    "load_mice_protein", "load_breast_cancer_sbs96", "load_pbmc68k", "load_mouse10k", "load_digits",
    "load_microbiome_atlas", "load_newsgroups10", "load_orl_faces", "NEWSGROUPS10_SUPER",
    "load_trumpet", "fetch_movielens_100k", "get_data_home", "make_pbmc_batches", "make_low_rank",
    "LowRankData", "make_contrastive_counts", "ContrastiveCounts", "make_ratings",
    "make_planted_program", "PlantedProgram", "log1p_cp10k",
]

