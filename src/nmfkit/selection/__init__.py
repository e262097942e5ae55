"""Model selection: restarts, consensus, component stability, cross-validation and rank search.

- :func:`restarts`: many fits of one rank as one batched computation, best kept.
- :func:`consensus` (:func:`consensus_matrix`, :func:`cophenetic_correlation`,
  :func:`dispersion`, :func:`connectivity`): agreement of the samples' clusters
  over restarts (Brunet et al. 2004; Kim & Park 2007).
- :func:`component_stability`, :func:`match_components`: Hungarian-matched
  clustering of the components of all restarts and its silhouette.
- :func:`speckled_cv`, :func:`bicv`, :func:`heldout_divergence`,
  :func:`speckled_mask`, :func:`one_se_rule`: cross-validation errors of ranks.
- :func:`rank_search`: all of the above for a range of ranks, a tidy table and a
  chosen ``best_k``.
- :func:`contrastive_path`: held-out fit, background suppression and restart
  stability of :class:`nmfkit.ContrastiveNMF` along a grid of α (and k).
"""

from ._consensus import (
    Consensus,
    connectivity,
    consensus,
    consensus_matrix,
    cophenetic_correlation,
    dispersion,
)
from ._bicv import bicv
from ._contrastive_path import ContrastivePathResult, contrastive_path
from ._cv import CVResult, heldout_divergence, one_se_rule, speckled_cv, speckled_mask
from ._rank import RankSearchResult, rank_search
from ._restarts import RestartsResult, restarts
from ._stability import ComponentStability, component_stability, match_components

__all__ = [
    "CVResult",
    "ComponentStability",
    "Consensus",
    "ContrastivePathResult",
    "RankSearchResult",
    "RestartsResult",
    "bicv",
    "component_stability",
    "connectivity",
    "consensus",
    "consensus_matrix",
    "contrastive_path",
    "cophenetic_correlation",
    "dispersion",
    "heldout_divergence",
    "match_components",
    "one_se_rule",
    "rank_search",
    "restarts",
    "speckled_cv",
    "speckled_mask",
]
