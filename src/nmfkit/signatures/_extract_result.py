"""What :func:`nmfkit.signatures.extract` returns: the per-rank table, both rank choices,
and one consensus solution per rank."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional

import numpy as np
import pandas as pd

__all__ = ["Solution", "ExtractionResult"]


@dataclass
class Solution:
    """The consensus solution at one rank ``k``.

    Attributes
    ----------
    k : int
    signatures : DataFrame (k, 96)
        Consensus signatures (cluster means of the replicate signatures, each row on the
        simplex), index ``S1 … Sk`` (``SBS96A, SBS96B, …`` style names are left to the
        report), columns the mutation types of the catalog.
    signatures_se : DataFrame (k, 96)
        Standard error of each consensus entry over the replicates (sd / sqrt(R)).
    exposures : DataFrame (n_samples, k)
        Mutations attributed to each signature per sample (NNLS of the *original*
        catalog on the consensus signatures; rows sum to about the sample's total).
    stability : Series (k,)
        Mean cosine silhouette of each signature's cluster.
    silhouettes : ndarray (R, k)
        Cosine silhouette of every replicate signature, by replicate and cluster.
    replicate_signatures : ndarray (R, k, 96)
        The replicate signatures, clustered: ``[r, j]`` belongs to cluster ``j``.
    sample_errors : Series (n_samples,)
        Relative L2 error ``‖x − e S‖ / ‖x‖`` of each sample's refit (the quantity of
        SigProfiler's Wilcoxon walk-down).
    """

    k: int
    signatures: pd.DataFrame
    signatures_se: pd.DataFrame
    exposures: pd.DataFrame
    stability: pd.Series
    silhouettes: np.ndarray
    replicate_signatures: np.ndarray
    sample_errors: pd.Series


@dataclass
class ExtractionResult:
    """Result of :func:`nmfkit.signatures.extract`.

    Attributes
    ----------
    table : DataFrame indexed by k
        Columns ``avg_stability``, ``min_stability`` (cosine silhouettes of the matched
        clusters), ``reconstruction_error`` (relative Frobenius error of the consensus
        refit of the original catalog), ``kl_per_entry`` (its generalised KL divergence
        per entry), ``cv_error`` and ``cv_se`` (held-out error of the cross-validation
        rule, mean and standard error over folds), ``converged`` (fraction of replicates
        that met ``tol``), ``n_iter`` (median iterations), ``candidate`` (passes the
        stability thresholds), ``seconds``.
    k_sigprofiler : int
        The rank of SigProfiler's rule (stability thresholds and Wilcoxon walk-down).
    k_cv : int or None
        The rank of the cross-validation rule (None when CV was switched off).
    k : int
        The rank reported as *the* solution (``rule`` picks which of the two).
    rule : str
        ``"sigprofiler"`` or ``"cv"``.
    solutions : dict k -> Solution
    decomposition : DataFrame or None
        Decomposition of the chosen solution's signatures into the reference signatures
        (one row per de novo signature: reference names, weights, cosine before/after);
        None without a reference.
    walkdown : DataFrame
        The Wilcoxon walk-down: per candidate k, the p-value against the largest
        candidate and the medians compared.
    catalog : DataFrame (n_samples, 96)
        The input catalog (samples × types).
    params : dict
        Every setting of the run, including ``seed`` and the per-replicate seeds
        (``replicate_seeds``), enough to repeat it.
    """

    table: pd.DataFrame
    k_sigprofiler: int
    k_cv: Optional[int]
    k: int
    rule: str
    solutions: Dict[int, Solution]
    walkdown: pd.DataFrame
    catalog: pd.DataFrame
    decomposition: Optional[pd.DataFrame] = None
    params: dict = field(default_factory=dict)

    @property
    def solution(self) -> Solution:
        """The solution at the reported rank ``k``."""
        return self.solutions[self.k]

    @property
    def signatures(self) -> pd.DataFrame:
        """Consensus signatures at rank ``k`` (k × 96)."""
        return self.solution.signatures

    @property
    def exposures(self) -> pd.DataFrame:
        """Exposures at rank ``k`` (samples × k)."""
        return self.solution.exposures

    def __repr__(self) -> str:
        ks = list(self.table.index)
        return (f"ExtractionResult(ks={ks[0]}..{ks[-1]}, k_sigprofiler={self.k_sigprofiler}, "
                f"k_cv={self.k_cv}, k={self.k} ({self.rule}))")
