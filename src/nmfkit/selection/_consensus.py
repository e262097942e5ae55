r"""Consensus clustering of samples across restarts (Brunet et al. 2004).

Each restart r of ``X ≈ W H`` assigns sample i to the component with its largest
code, :math:`\ell_r(i) = \arg\max_j W^{(r)}_{ij}`. The **connectivity** matrix of the
restart is :math:`C^{(r)}_{ii'} = [\ell_r(i) = \ell_r(i')]` and the **consensus**
matrix is their mean over the R restarts,

.. math::
    \bar C = \frac1R \sum_{r=1}^R C^{(r)} \in [0, 1]^{n \times n}.

A rank k whose restarts agree gives a consensus of (near) 0/1 blocks. Two numbers
summarise it:

- **cophenetic correlation** (Brunet et al. 2004): the Pearson correlation between
  the distances :math:`1 - \bar C_{ii'}` and the cophenetic distances of the
  average-linkage (UPGMA) tree built on them; 1 for a perfect block consensus, and
  it drops when clusters are split differently from restart to restart;
- **dispersion** (Kim & Park 2007): :math:`\rho = \frac1{n^2} \sum_{ii'} 4\,(\bar C_{ii'} - \tfrac12)^2`,
  1 for a 0/1 consensus, 0 when every entry is 1/2.
"""

from __future__ import annotations

from dataclasses import dataclass
import numpy as np

from ..backends import to_numpy
from ..exceptions import NMFInputError

__all__ = ["Consensus", "connectivity", "consensus", "consensus_matrix", "cophenetic_correlation",
           "dispersion"]


def _host(M) -> np.ndarray:
    """``M`` (array, DataFrame, tensor) as a float64 NumPy array."""
    return np.asarray(to_numpy(M), dtype=np.float64)


def restart_factors(fits, attr: str, name: str, purpose: str):
    """Factor ``attr`` ("W" or "H") of every restart, as float64 NumPy arrays.

    ``fits``: a RestartsResult kept with ``keep_all=True``, or a list of NMFResult /
    arrays. Returns ``(arrays, best_index)`` (``best_index`` None for a list).
    """
    best = None
    if hasattr(fits, "results") and hasattr(fits, "losses"):  # RestartsResult
        if fits.results is None:
            raise NMFInputError(
                f"{name} holds only the best restart; {purpose} needs every restart: call "
                "restarts(..., keep_all=True)"
            )
        best = fits.best_index
        fits = fits.results
    if not isinstance(fits, (list, tuple)):
        raise NMFInputError(
            f"{name} must be a RestartsResult (keep_all=True) or a list of NMFResult / {attr} "
            f"arrays, got {type(fits).__name__}"
        )
    arrays = [_host(getattr(f, attr) if hasattr(f, attr) else f) for f in fits]
    if len(arrays) < 2:
        raise NMFInputError(
            f"{name} holds {len(arrays)} restart(s); {purpose} compares restarts, so it needs at "
            "least 2: pass n_restarts >= 2 (10 or more is usual)"
        )
    return arrays, best


def _codes_of(fits, name: str = "fits") -> list:
    """The W (n_samples × k) of every restart from a RestartsResult, NMFResults or arrays."""
    Ws, _ = restart_factors(fits, "W", name, "a consensus")
    shape = Ws[0].shape
    if any(W.ndim != 2 or W.shape[0] != shape[0] for W in Ws):
        raise NMFInputError(
            f"every W in {name} must be 2-D with the same number of samples (rows); got shapes "
            f"{sorted({W.shape for W in Ws})}"
        )
    return Ws


def connectivity(W) -> np.ndarray:
    """Connectivity matrix of one fit: ``C[i, i'] = 1`` when samples i and i' have the same argmax code.

    Parameters
    ----------
    W : array-like, shape (n_samples, k)
        Codes of one fit (``NMFResult.W``).

    Returns
    -------
    ndarray of float64, shape (n_samples, n_samples)

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit.selection import connectivity
    >>> connectivity(np.array([[1.0, 0.0], [0.9, 0.2], [0.0, 2.0]]))
    array([[1., 1., 0.],
           [1., 1., 0.],
           [0., 0., 1.]])
    """
    labels = np.argmax(_host(W), axis=1)
    return (labels[:, None] == labels[None, :]).astype(np.float64)


def consensus_matrix(fits) -> np.ndarray:
    r"""Mean connectivity :math:`\bar C = \frac1R \sum_r C^{(r)}` over restarts.

    Parameters
    ----------
    fits : RestartsResult or sequence of NMFResult or of arrays (n_samples, k)
        At least two restarts (a :class:`~nmfkit.selection.RestartsResult` must come
        from ``keep_all=True``). Their ranks may differ.

    Returns
    -------
    ndarray of float64, shape (n_samples, n_samples)
        Symmetric, entries in [0, 1], ones on the diagonal.

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit.selection import consensus_matrix
    >>> W1 = np.array([[1.0, 0], [1, 0], [0, 1]])
    >>> W2 = np.array([[1.0, 0], [0, 1], [0, 1]])
    >>> consensus_matrix([W1, W2])
    array([[1. , 0.5, 0. ],
           [0.5, 1. , 0.5],
           [0. , 0.5, 1. ]])
    """
    Ws = _codes_of(fits)
    n = Ws[0].shape[0]
    # one-hot labels of all restarts side by side: C = L Lᵀ / R (one GEMM)
    blocks = []
    for W in Ws:
        L = np.zeros((n, W.shape[1]), dtype=np.float32)
        L[np.arange(n), np.argmax(W, axis=1)] = 1.0
        blocks.append(L)
    L = np.concatenate(blocks, axis=1)
    C = (L @ L.T).astype(np.float64) / len(Ws)
    np.fill_diagonal(C, 1.0)
    return C


def _check_square(C, name="C") -> np.ndarray:
    C = _host(C)
    if C.ndim != 2 or C.shape[0] != C.shape[1]:
        raise NMFInputError(f"{name} must be a square consensus matrix, got shape {C.shape}")
    if not np.all(np.isfinite(C)) or C.min() < 0 or C.max() > 1:
        raise NMFInputError(f"{name} must hold finite values in [0, 1] (a consensus matrix)")
    return C


def _linkage(C):
    from scipy.cluster.hierarchy import linkage
    from scipy.spatial.distance import squareform

    D = 1.0 - (C + C.T) / 2.0
    np.fill_diagonal(D, 0.0)
    d = squareform(D, checks=False)
    return linkage(d, method="average"), d


def cophenetic_correlation(C) -> float:
    r"""Cophenetic correlation of a consensus matrix (Brunet et al. 2004).

    The Pearson correlation between the distances :math:`1 - \bar C_{ii'}` (i < i')
    and the cophenetic distances of the average-linkage tree built on them.

    Parameters
    ----------
    C : array-like, shape (n, n)
        Consensus matrix (values in [0, 1]).

    Returns
    -------
    float
        In [-1, 1]; 1 for a perfect 0/1 block consensus. NaN when all distances
        are equal (e.g. every restart put every sample in one cluster).

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit.selection import cophenetic_correlation
    >>> labels = np.array([0, 0, 1, 1, 2])
    >>> C = (labels[:, None] == labels[None, :]).astype(float)
    >>> round(cophenetic_correlation(C), 6)
    1.0
    """
    C = _check_square(C)
    if C.shape[0] < 3:
        return float("nan")
    return _cophenetic(*_linkage(C))


def _cophenetic(Z, d) -> float:
    from scipy.cluster.hierarchy import cophenet

    if d.size < 2 or np.ptp(d) == 0:
        return float("nan")
    return float(cophenet(Z, d)[0])


def dispersion(C) -> float:
    r"""Dispersion of a consensus matrix (Kim & Park 2007).

    .. math:: \rho = \frac1{n^2} \sum_{i,i'} 4 \left(\bar C_{ii'} - \tfrac12\right)^2

    Parameters
    ----------
    C : array-like, shape (n, n)

    Returns
    -------
    float
        In [0, 1]; 1 when every entry is 0 or 1.

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit.selection import dispersion
    >>> dispersion(np.array([[1.0, 0.5], [0.5, 1.0]]))
    0.5
    """
    C = _check_square(C)
    return float(np.mean(4.0 * (C - 0.5) ** 2))


@dataclass(frozen=True)
class Consensus:
    """Consensus of the samples' clusterings over restarts (see :func:`consensus`).

    Attributes
    ----------
    matrix : ndarray, shape (n_samples, n_samples)
        The consensus matrix :math:`\\bar C`.
    cophenetic : float
        Cophenetic correlation of the average-linkage tree on ``1 - matrix``.
    dispersion : float
        Kim & Park's dispersion.
    linkage : ndarray, shape (n_samples - 1, 4)
        The average-linkage tree (SciPy's format).
    order : ndarray of int, shape (n_samples,)
        Leaf order of the tree (rows/columns of a heat-map).
    labels : ndarray of int, shape (n_samples,)
        Consensus clusters 0..k-1: the tree cut into (at most) k clusters.
    n_restarts : int
    """

    matrix: np.ndarray
    cophenetic: float
    dispersion: float
    linkage: np.ndarray
    order: np.ndarray
    labels: np.ndarray
    n_restarts: int


def consensus(fits, n_clusters: int | None = None) -> Consensus:
    """Consensus matrix, cophenetic correlation, dispersion and consensus clusters of restarts.

    Parameters
    ----------
    fits : RestartsResult or sequence of NMFResult or of W arrays (n_samples, k)
        At least two restarts (``restarts(..., keep_all=True)``).
    n_clusters : int, optional
        Number of consensus clusters cut from the tree (default: the rank k of the
        first restart).

    Returns
    -------
    Consensus

    Examples
    --------
    >>> import nmfkit
    >>> from nmfkit.selection import consensus, restarts
    >>> X = nmfkit.datasets.make_low_rank(60, 30, 3, random_state=0).X
    >>> fits = restarts(X, 3, n_restarts=5, random_state=0, keep_all=True)
    >>> c = consensus(fits)
    >>> c.matrix.shape, bool(c.cophenetic > 0.8)
    ((60, 60), True)
    """
    from scipy.cluster.hierarchy import fcluster, leaves_list

    Ws = _codes_of(fits)
    C = consensus_matrix(Ws)
    n = C.shape[0]
    k = Ws[0].shape[1] if n_clusters is None else int(n_clusters)
    if n < 2:
        raise NMFInputError("consensus needs at least 2 samples (rows of W)")
    Z, d = _linkage(C)
    labels = fcluster(Z, t=max(k, 1), criterion="maxclust") - 1
    return Consensus(matrix=C, cophenetic=_cophenetic(Z, d), dispersion=dispersion(C),
                     linkage=Z, order=leaves_list(Z), labels=labels.astype(int),
                     n_restarts=len(Ws))
