r"""Stability of the components (rows of H) across restarts.

Restarts of ``X ≈ W H`` return the same components in any order. Two views of how
much they agree:

- **Hungarian matching** (:func:`match_components`): with unit-norm rows
  :math:`\hat h_j = h_j / \|h_j\|_2`, the cosine similarities
  :math:`S_{jl} = \langle \hat h^{\mathrm{ref}}_j, \hat h_l \rangle` and the
  permutation :math:`\pi` maximising :math:`\sum_j S_{j\pi(j)}`
  (:func:`scipy.optimize.linear_sum_assignment`) align one fit to a reference.
- **Matched clustering** (:func:`component_stability`, SigProfiler / cNMF style):
  the R·k unit-norm components of all restarts are clustered into k clusters under
  the constraint that every restart gives exactly one component to each cluster.
  Starting from the best restart as centroids, each restart is matched to the
  centroids by the Hungarian algorithm, the centroids become the normalised means
  of their members, and this repeats until the assignment no longer changes (a
  k-means with one-to-one assignments). The **silhouette** (cosine distance,
  :func:`sklearn.metrics.silhouette_score`) of that clustering is the stability of
  the rank: near 1 when every restart finds the same k components, low when some
  components are split or merged differently from restart to restart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._matching import match_cosine, unit_rows
from ..exceptions import NMFInputError
from ._consensus import _host, restart_factors

__all__ = ["ComponentStability", "component_stability", "match_components"]


def match_components(reference, H):
    """Align the rows of ``H`` to those of ``reference`` by the Hungarian algorithm.

    Parameters
    ----------
    reference : array-like, shape (k, n_features)
    H : array-like, shape (k, n_features)
        Components of another fit (same k).

    Returns
    -------
    perm : ndarray of int, shape (k,)
        ``H[perm]`` is aligned with ``reference``: row j of ``reference`` is matched
        with row ``perm[j]`` of ``H``.
    similarity : ndarray, shape (k,)
        Cosine similarity of each matched pair.

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit.selection import match_components
    >>> H = np.array([[1.0, 0, 0], [0, 1, 0], [0, 0, 1]])
    >>> perm, sim = match_components(H, H[[2, 0, 1]])
    >>> perm, sim
    (array([1, 2, 0]), array([1., 1., 1.]))
    """
    R, Hh = _host(reference), _host(H)
    if R.ndim != 2 or R.shape != Hh.shape:
        raise NMFInputError(
            f"reference and H must have the same shape (k, n_features); got {R.shape} and "
            f"{Hh.shape}: compare fits of the same rank on the same features"
        )
    rows, cols, sim = match_cosine(R, Hh)
    order = np.argsort(rows)
    return cols[order], sim[order]


@dataclass(frozen=True)
class ComponentStability:
    """Agreement of the components over restarts (see :func:`component_stability`).

    Attributes
    ----------
    silhouette : float
        Mean silhouette (cosine distance) of the R·k components in their k matched
        clusters; NaN when undefined (k = 1).
    cluster_silhouette : ndarray, shape (k,)
        Mean silhouette of each cluster (SigProfiler reports the minimum of these).
    similarity : ndarray, shape (n_restarts, k)
        Cosine similarity of each restart's component in cluster j to the centroid.
    reference_similarity : ndarray, shape (n_restarts, k)
        Cosine similarity of each restart's components, Hungarian-matched to the
        reference's component j (1 for the reference itself).
    assignment : ndarray of int, shape (n_restarts, k)
        ``assignment[r, j]`` is the row of restart r's H placed in cluster j.
    centroids : ndarray, shape (k, n_features)
        Unit-norm mean of each cluster (in the reference's component order).
    reference : int
        Index of the reference restart.
    n_iter : int
        Iterations of the matched clustering.
    """

    silhouette: float
    cluster_silhouette: np.ndarray
    similarity: np.ndarray
    reference_similarity: np.ndarray
    assignment: np.ndarray
    centroids: np.ndarray
    reference: int
    n_iter: int

    @property
    def mean_similarity(self) -> float:
        """Mean matched cosine similarity to the centroids over restarts and clusters."""
        return float(self.similarity.mean())


def _components_of(fits):
    Hs, ref = restart_factors(fits, "H", "fits", "component stability")
    shapes = {H.shape for H in Hs}
    if len(shapes) != 1 or Hs[0].ndim != 2:
        raise NMFInputError(
            f"every H must be 2-D with the same shape (k, n_features); got shapes {sorted(shapes)}"
        )
    return np.stack(Hs), ref


def component_stability(fits, *, reference: int | None = None,
                        max_iter: int = 50) -> ComponentStability:
    r"""Cluster the components of all restarts into k matched clusters and score them.

    See the module docstring (:mod:`nmfkit.selection._stability`) for the method.

    Parameters
    ----------
    fits : RestartsResult or sequence of NMFResult or of arrays (k, n_features)
        At least two restarts of one rank (``restarts(..., keep_all=True)``).
    reference : int, optional
        Restart whose components start the clustering; default the best restart of
        a RestartsResult, else 0.
    max_iter : int
        Most reassignment rounds (it usually stops after 2-3).

    Returns
    -------
    ComponentStability

    Examples
    --------
    >>> import nmfkit
    >>> from nmfkit.selection import component_stability, restarts
    >>> X = nmfkit.datasets.make_low_rank(100, 40, 3, noise=0.05, random_state=0).X
    >>> st = component_stability(restarts(X, 3, n_restarts=5, random_state=0, keep_all=True))
    >>> st.similarity.shape, bool(st.silhouette > 0.9)
    ((5, 3), True)
    """
    from sklearn.metrics import silhouette_samples

    Hs, ref = _components_of(fits)
    nR, k, _ = Hs.shape
    if reference is not None:
        if not isinstance(reference, (int, np.integer)) or not 0 <= reference < nR:
            raise NMFInputError(f"reference={reference!r} must be a restart index in 0..{nR - 1}")
        ref = int(reference)
    ref = 0 if ref is None else ref
    Z = unit_rows(Hs)
    first = np.stack([match_components(Z[ref], Z[r])[0] for r in range(nR)])
    ref_sim = np.take_along_axis(np.einsum("jf,rlf->rjl", Z[ref], Z), first[:, :, None], 2)[..., 0]
    assign, n_iter = first, 0
    for n_iter in range(1, max_iter + 1):
        centroids = unit_rows(Z[np.arange(nR)[:, None], assign].mean(axis=0))
        new = np.stack([match_components(centroids, Z[r])[0] for r in range(nR)])
        if np.array_equal(new, assign):
            break
        assign = new
    members = Z[np.arange(nR)[:, None], assign]  # (R, k, f): restart r's member of cluster j
    centroids = unit_rows(members.mean(axis=0))
    sim = np.einsum("rjf,jf->rj", members, centroids)
    if k >= 2:
        labels = np.tile(np.arange(k), nR)
        s = silhouette_samples(members.reshape(nR * k, -1), labels, metric="cosine")
        sil = float(s.mean())
        per = np.array([s[labels == j].mean() for j in range(k)])
    else:
        sil, per = float("nan"), np.full(k, np.nan)
    return ComponentStability(silhouette=sil, cluster_silhouette=per, similarity=sim,
                              reference_similarity=ref_sim, assignment=assign,
                              centroids=centroids, reference=ref, n_iter=n_iter)
