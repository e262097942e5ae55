"""Mutational-signature tools: SBS-96 catalogs, matching, consistency, refits and COSMIC.

**Orientation.** Mutational catalogs are usually written mutation types × samples
(96 × N). nmfkit works in samples × features: :func:`read_catalog` converts once, here,
and returns **samples × 96** (columns in :data:`SBS96_TYPES` order), so that
``nmfkit.NMF(k).fit(X)`` gives exposures in ``W`` (samples × k) and the signatures in
``components_`` (k × 96, one signature per row). Every function below takes signatures
one per row, like ``components_`` and :func:`load_cosmic`; :func:`to_catalog`
converts back for writing.

Examples
--------
>>> import nmfkit
>>> from nmfkit.signatures import random_signatures, simulate_catalog, match_signatures
>>> truth = random_signatures(3, random_state=0)
>>> sim = simulate_catalog(truth, 60, random_state=1)
>>> model = nmfkit.NMF(3, loss="kl", max_iter=1000, random_state=0).fit(sim.X)
>>> match_signatures(model.components_, truth).mean > 0.95
True
"""

from ._assign import DEFAULT_CONNECTED, AssignmentResult, assign
from ._catalog import SBS96_TYPES, read_catalog, sbs96_types, to_catalog
from ._compare import (Consistency, SignatureMatch, average_consistency, cosine_similarity,
                       match_signatures)
from ._cosmic import cosmic_path, load_cosmic
from ._decompose import decompose
from ._extract import extract
from ._extract_result import ExtractionResult, Solution
from ._refit import RefitResult, refit_error, refit_exposures
from ._simulate import SimulatedCatalog, random_signatures, simulate_catalog

__all__ = [
    "DEFAULT_CONNECTED",
    "SBS96_TYPES",
    "AssignmentResult",
    "Consistency",
    "ExtractionResult",
    "Solution",
    "extract",
    "RefitResult",
    "SignatureMatch",
    "SimulatedCatalog",
    "assign",
    "average_consistency",
    "cosine_similarity",
    "cosmic_path",
    "decompose",
    "load_cosmic",
    "match_signatures",
    "random_signatures",
    "read_catalog",
    "refit_error",
    "refit_exposures",
    "sbs96_types",
    "simulate_catalog",
    "to_catalog",
]
