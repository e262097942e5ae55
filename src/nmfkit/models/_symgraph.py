r"""The similarity graph of SymNMF, built as Kuang, Ding & Park build it (``symnmf_cluster.m``).

1. Euclidean distances between the rows of ``X`` (observations are rows), on the
   ``max(n_neighbors, scale_neighbor)`` nearest neighbours of each point (a point is not its
   own neighbour).
2. Self-tuning Gaussian similarity (Zelnik-Manor & Perona 2004):
   :math:`A_{ij} = \exp(-\|x_i - x_j\|^2 / (\sigma_i \sigma_j))`, :math:`A_{ii} = 0`, with
   :math:`\sigma_i` the distance from ``i`` to its ``scale_neighbor``-th nearest neighbour
   (7 by default), as in the paper (not Zelnik-Manor's code's ``max(σ_iσ_j, 0.004)``); a
   :math:`\sigma_i = 0` (a point with ``scale_neighbor`` exact duplicates) is replaced by the
   smallest positive one. ``similarity="cosine"`` instead takes the cosine of the rows (the
   authors' ``inner_product`` option, "a good choice for text"), neighbours by cosine distance.
3. Sparse support: an edge ``ij`` is kept when ``j`` is among the ``n_neighbors`` nearest
   neighbours of ``i`` **or** vice versa (symmetric union), ``n_neighbors = ⌊log2 n⌋ + 1`` by
   default.
4. Normalised-cut scaling ``A ← D^{-1/2} A D^{-1/2}`` (``D`` the degrees; the authors' default
   ``graph_objfun='ncut'``), skipped with ``normalize=False`` (their ``'rcut'``).

:class:`SymGraph` keeps what the out-of-sample rows need (the neighbour index, the scales, the
neighbourhood radii and the degrees), so that a training point passed again gets exactly its
training row (a query point at distance 0 from a training point is taken to be that point:
its self-similarity is 0 as in the training graph).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from ..exceptions import NMFInputError

__all__ = ["SymGraph", "default_neighbors"]


def default_neighbors(n: int) -> int:
    """The authors' ``kk = ⌊log2 n⌋ + 1``."""
    return int(math.floor(math.log2(max(n, 1)))) + 1


def _unit_rows(X):
    if sp.issparse(X):
        norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        return sp.csr_matrix(sp.diags(1.0 / norms) @ X)
    norms = np.linalg.norm(X, axis=1)
    norms[norms == 0] = 1.0
    return X / norms[:, None]


def _row_sq(X):
    if sp.issparse(X):
        return np.asarray(X.multiply(X).sum(axis=1)).ravel()
    return np.einsum("ij,ij->i", X, X)


class SymGraph:
    """Fit the kNN similarity graph of ``X`` (dense or CSR, NumPy / SciPy, float64).

    Parameters
    ----------
    n_neighbors : int or None
        ``kk`` of the union kNN support (None: ``⌊log2 n⌋ + 1``).
    scale_neighbor : int
        Which neighbour sets the local scale ``σ_i`` (Gaussian similarity only).
    similarity : {"gaussian", "cosine"}
    normalize : bool
        Normalised-cut scaling ``D^{-1/2} A D^{-1/2}``.
    """

    def __init__(self, n_neighbors=None, scale_neighbor=7, similarity="gaussian", normalize=True):
        self.n_neighbors = n_neighbors
        self.scale_neighbor = scale_neighbor
        self.similarity = similarity
        self.normalize = normalize

    def fit(self, X):
        """Build ``self.affinity_`` (CSR, symmetric, zero diagonal) for the rows of ``X``."""
        from sklearn.neighbors import NearestNeighbors

        n = X.shape[0]
        if n < 2:
            raise NMFInputError(f"the kNN graph needs at least 2 samples (got {n} sample); pass more rows")
        self.kk_ = min(default_neighbors(n) if self.n_neighbors is None else int(self.n_neighbors), n - 1)
        self.nn_ = min(int(self.scale_neighbor), n - 1)
        cosine = self.similarity == "cosine"
        self.X_ = _unit_rows(X) if cosine else X
        self.index_ = NearestNeighbors(n_neighbors=max(self.kk_, self.nn_)).fit(self.X_)
        dist, ind = self.index_.kneighbors()  # excludes each point itself
        self.sigma_ = self._floor(dist[:, self.nn_ - 1].copy())
        self.radius_ = dist[:, self.kk_ - 1].copy()
        d, j = dist[:, : self.kk_], ind[:, : self.kk_]
        rows = np.repeat(np.arange(n), self.kk_)
        B = sp.csr_matrix((self._values(d, rows, j.ravel()).ravel(), (rows, j.ravel())), shape=(n, n))
        A = B.maximum(B.T).tocsr()  # the values are symmetric in (i, j): this is the union
        A.setdiag(0.0)
        A.eliminate_zeros()
        self.degree_ = np.asarray(A.sum(axis=1)).ravel()
        self.affinity_ = self._scale(A, self.degree_)
        return self

    def _floor(self, sigma):
        pos = sigma[sigma > 0]
        sigma[sigma <= 0] = pos.min() if pos.size else 1.0
        return sigma

    def _values(self, dist, rows, cols, sigma_rows=None):
        dist = np.asarray(dist, dtype=np.float64).ravel()
        if self.similarity == "cosine":  # Euclidean distance of unit rows: cos = 1 − d²/2
            return np.clip(1.0 - 0.5 * dist**2, 0.0, None)
        s_i = self.sigma_[rows] if sigma_rows is None else sigma_rows
        return np.exp(-(dist**2) / (s_i * self.sigma_[cols]))

    def _scale(self, A, deg_rows, deg_cols=None):
        if not self.normalize:
            return A.tocsr()
        deg_cols = self.degree_ if deg_cols is None else deg_cols
        inv = lambda d: np.where(d > 0, 1.0 / np.sqrt(np.where(d > 0, d, 1.0)), 0.0)  # noqa: E731
        return sp.csr_matrix(sp.diags(inv(deg_rows)) @ A @ sp.diags(inv(deg_cols)))

    def rows(self, X_new, chunk: int = 2048):
        """Affinity rows (m × n_fit, CSR) of new points to the training points, by the same rules.

        The kNN and scale of a new point are taken among the training points (those at
        distance 0 left out); the edge to training point ``j`` is kept when ``j`` is among its
        ``n_neighbors`` nearest or it lies within ``j``'s ``n_neighbors``-th neighbour
        distance; the row is scaled by its own degree and the training degrees.
        """
        from sklearn.metrics import pairwise_distances

        Xq = _unit_rows(X_new) if self.similarity == "cosine" else X_new
        blocks = []
        fit_sq = _row_sq(self.X_)
        for start in range(0, Xq.shape[0], chunk):
            Q = Xq[start:start + chunk]
            D = pairwise_distances(Q, self.X_)
            # the Gram-trick distances are not exactly 0 for a point and its copy: a relative guard
            same = D <= 1e-6 * np.sqrt(_row_sq(Q)[:, None] + fit_sq[None, :])
            Dm = np.where(same, np.inf, D)
            part = np.sort(Dm, axis=1)
            kth = part[:, self.kk_ - 1]
            sig = self._floor(part[:, self.nn_ - 1].copy())
            slack = 1.0 + 1e-6  # the fit's neighbour distances and these differ by rounding
            keep = (Dm <= slack * kth[:, None]) | (Dm <= slack * self.radius_[None, :])
            r, c = np.nonzero(keep)
            vals = self._values(D[r, c], r, c, sigma_rows=sig[r])
            blocks.append(sp.csr_matrix((vals, (r, c)), shape=(D.shape[0], self.X_.shape[0])))
        A = sp.vstack(blocks).tocsr() if blocks else sp.csr_matrix((0, self.X_.shape[0]))
        return self._scale(A, np.asarray(A.sum(axis=1)).ravel())
