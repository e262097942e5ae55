r"""Matched clustering of replicate signatures, cosine silhouettes and the consensus.

R replicates at rank k give R·k signatures. SigProfilerExtractor clusters them with
k-means under a *matching* constraint: every replicate contributes exactly one
signature to each of the k clusters, assigned by the Hungarian algorithm on cosine
similarity to the current centroids; centroids are the cluster means. Each run starts
from one replicate's signatures as centroids and iterates until the assignment stops
changing (at most ``max_iter`` times); of several starts, the clustering with the best
average cosine silhouette is kept. Stability is the silhouette: its mean over all
points (``avg``) and the minimum over clusters of the per-cluster means (``min``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._matching import hungarian_match, unit_rows

__all__ = ["MatchedClusters", "matched_clusters"]


class MatchedClusters(NamedTuple):
    signatures: np.ndarray
    """(R, k, p): the replicate signatures reordered so that ``[r, j]`` is in cluster j."""
    silhouettes: np.ndarray
    """(R, k) cosine silhouette of every point."""
    centroids: np.ndarray
    """(k, p) cluster means, rows on the simplex."""
    se: np.ndarray
    """(k, p) standard error of the mean over replicates."""

    @property
    def stability(self) -> np.ndarray:
        """Mean silhouette of each cluster (k,)."""
        return self.silhouettes.mean(axis=0)


def _assign(U, C):
    """Per replicate, the permutation of its k signatures onto the k centroids ``C``."""
    Cu = unit_rows(C)
    cos = U @ Cu.T  # (R, k, k): replicate signature i vs centroid j
    perm = np.empty(cos.shape[:2], dtype=np.int64)
    for r in range(cos.shape[0]):
        rows, cols, _ = hungarian_match(cos[r])
        perm[r, cols] = rows  # centroid j gets replicate signature perm[r, j]
    return perm


def _silhouettes(U):
    """Cosine silhouettes of the clustered points ``U`` (R, k, p) with cluster = axis 1."""
    R, k, _ = U.shape
    if k == 1:
        return np.ones((R, k))  # one cluster: every replicate gives the same single signature slot
    flat = U.reshape(R * k, -1)
    D = np.clip(1.0 - flat @ flat.T, 0.0, 2.0)  # cosine distances of unit vectors
    labels = np.tile(np.arange(k), R)
    onehot = np.eye(k)[labels]  # (Rk, k)
    sums = D @ onehot  # distance sums to each cluster
    own = sums[np.arange(R * k), labels] / (R - 1)  # the point's own distance (0) excluded
    other = sums / R
    other[np.arange(R * k), labels] = np.inf
    b = other.min(axis=1)
    s = (b - own) / np.maximum(np.maximum(own, b), 1e-300)
    return s.reshape(R, k)


def matched_clusters(S: np.ndarray, *, n_starts: int = 10, max_iter: int = 10,
                     random_state=None) -> MatchedClusters:
    """Cluster the replicate signatures ``S`` (R, k, p) with the matching constraint.

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit.signatures._clustering import matched_clusters
    >>> rng = np.random.default_rng(0)
    >>> truth = rng.dirichlet(np.full(20, 0.3), size=3)
    >>> S = np.stack([truth[rng.permutation(3)] + rng.random((3, 20)) * 0.01 for _ in range(30)])
    >>> mc = matched_clusters(S, random_state=0)
    >>> bool(mc.silhouettes.mean() > 0.9)
    True
    """
    S = np.asarray(S, dtype=np.float64)
    R, k, p = S.shape
    U = unit_rows(S)
    rng = np.random.default_rng(random_state)
    starts = rng.choice(R, size=min(n_starts, R), replace=False)
    best = None
    for r0 in starts:
        C = U[r0]
        perm = None
        for _ in range(max_iter):
            new = _assign(U, C)
            if perm is not None and np.array_equal(new, perm):
                break
            perm = new
            C = np.take_along_axis(U, perm[:, :, None], axis=1).mean(axis=0)
        sil = _silhouettes(np.take_along_axis(U, perm[:, :, None], axis=1))
        if best is None or sil.mean() > best[1].mean() + 1e-12:
            best = (perm, sil)
    perm, sil = best
    ordered = np.take_along_axis(S, perm[:, :, None], axis=1)
    P = ordered / np.maximum(ordered.sum(axis=-1, keepdims=True), 1e-300)
    centroids = P.mean(axis=0)
    centroids /= np.maximum(centroids.sum(axis=-1, keepdims=True), 1e-300)
    se = P.std(axis=0, ddof=1) / np.sqrt(R) if R > 1 else np.zeros((k, p))
    return MatchedClusters(ordered, sil, centroids, se)
