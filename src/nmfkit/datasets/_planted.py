r"""A hidden program planted in real single-cell counts: the real-data case of contrastive NMF.

The cells of several cell types of a bundled dataset are split at random into a target
and a background half (the same cell types in both, so the halves differ only by
sampling), and a random half of the target cells (optionally: of one cell type's target
cells only) receive extra Poisson counts on a set of genes drawn among the
non-top-expressed ones. Recovering which target cells carry the program, without the
labels, is what a contrastive method must do (issue 17).
"""

from __future__ import annotations

import functools
import numbers
from typing import NamedTuple, Optional

import numpy as np
import scipy.sparse as sp

from ..backends._random import check_random_state
from ..exceptions import NMFInputError

__all__ = ["PlantedProgram", "make_planted_program", "log1p_cp10k"]

_DATASETS = ("pbmc68k", "mouse10k")


def log1p_cp10k(X, target_sum: float = 1e4):
    """``log1p`` of the counts scaled to ``target_sum`` per row (cell); sparse stays sparse.

    Rows summing to 0 stay 0.

    Parameters
    ----------
    X : array or scipy.sparse matrix (cells × genes), non-negative counts
    target_sum : float, default=1e4

    Returns
    -------
    ndarray or scipy.sparse.csr_matrix of float64

    Examples
    --------
    >>> import numpy as np
    >>> log1p_cp10k(np.array([[1.0, 3.0]]), target_sum=4).round(3).tolist()
    [[0.693, 1.386]]
    """
    if sp.issparse(X):
        X = sp.csr_matrix(X, dtype=np.float64, copy=True)
        tot = np.asarray(X.sum(axis=1)).ravel()
        f = target_sum / np.where(tot > 0, tot, 1.0)
        X.data *= np.repeat(f, np.diff(X.indptr))
        np.log1p(X.data, out=X.data)
        return X
    X = np.asarray(X, dtype=np.float64)
    tot = X.sum(axis=1, keepdims=True)
    return np.log1p(X * (target_sum / np.where(tot > 0, tot, 1.0)))


class PlantedProgram(NamedTuple):
    """Output of :func:`make_planted_program` (cells as rows, raw integer counts)."""

    X: np.ndarray
    """Target counts (n_target × genes), float64, the program added."""
    Y: np.ndarray
    """Background counts (n_background × genes), float64."""
    labels: np.ndarray
    """1 for the target cells that carry the program, else 0: the truth to recover."""
    target_types: np.ndarray
    """Cell type of each target cell (str)."""
    background_types: np.ndarray
    """Cell type of each background cell (str)."""
    genes: np.ndarray
    """Column indices of the program's genes."""
    var_names: np.ndarray
    """Gene names."""

    def log_normalized(self, target_sum: float = 1e4):
        """``(X_log, Y_log)``: :func:`log1p_cp10k` of both datasets."""
        return log1p_cp10k(self.X, target_sum), log1p_cp10k(self.Y, target_sum)


@functools.lru_cache(maxsize=2)
def _cells(dataset: str):
    """``(counts CSR, cell types, gene names)``: pbmc68k's ``bulk_labels``; for mouse10k
    8 KMeans clusters (seed 0) of the first 20 principal components of the log1p-CP10k
    counts (the bundled mouse cells have no labels)."""
    from . import load_mouse10k, load_pbmc68k

    if dataset == "pbmc68k":
        d = load_pbmc68k()
        return d.X.tocsr(), np.asarray(d.obs["bulk_labels"].astype(str)), np.asarray(d.var.index)
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA

    d = load_mouse10k()
    X = d.X.tocsr()
    Z = PCA(20, random_state=0).fit_transform(log1p_cp10k(X).toarray())
    types = KMeans(8, n_init=4, random_state=0).fit_predict(Z)
    return X, np.array([f"cluster{t}" for t in types]), np.asarray(d.var.index)


def _check(value, name, lo, hi, integer=False):
    ok = isinstance(value, numbers.Integral if integer else numbers.Real) and not isinstance(
        value, bool) and lo <= value <= hi
    if not ok:
        kind = "an integer" if integer else "a number"
        raise NMFInputError(f"{name}={value!r} must be {kind} in [{lo}, {hi}]")
    return value


def make_planted_program(dataset: str = "pbmc68k", *, n_genes: int = 30, strength: float = 2.0,
                         n_types: int = 4, one_type: bool = False,
                         n_cells: Optional[int] = None, top_fraction: float = 0.2,
                         random_state=0) -> PlantedProgram:
    r"""Real counts split into target and background, a hidden program in half the target.

    1. The cells of the ``n_types`` most frequent cell types of ``dataset``
       (``"pbmc68k"``: its ``bulk_labels``; ``"mouse10k"``: 8 clusters of its first 20
       principal components, the bundled cells having no labels) are taken (at most
       ``n_cells`` of them, drawn at random) and split at random into two halves:
       target and background.
    2. ``n_genes`` program genes are drawn among the expressed genes outside the
       ``top_fraction`` most expressed (by mean count over all cells).
    3. A random half of the target cells (``one_type=True``: a random half of the target
       cells of the most frequent type only) get extra counts ``Poisson(strength)`` on
       every program gene.

    The draws depend on ``random_state`` only.

    Parameters
    ----------
    dataset : {"pbmc68k", "mouse10k"}
    n_genes : int, default=30
    strength : float, default=2.0
        Mean of the extra counts per gene and program cell.
    n_types : int, default=4
    one_type : bool, default=False
    n_cells : int, optional
        Cells drawn from the chosen types before the split (default: all of them;
        mouse10k's four largest clusters hold several thousand).
    top_fraction : float, default=0.2
    random_state : int, Generator or None

    Returns
    -------
    PlantedProgram

    Examples
    --------
    >>> from nmfkit.datasets import make_planted_program
    >>> d = make_planted_program("pbmc68k", n_genes=30, strength=2.0, random_state=0)
    >>> d.X.shape[1] == d.Y.shape[1] == 765, int(d.labels.sum()) == d.X.shape[0] // 2
    (True, True)
    """
    if dataset not in _DATASETS:
        raise NMFInputError(f"dataset={dataset!r} is not one of {_DATASETS}")
    counts, types, names = _cells(dataset)
    _check(n_genes, "n_genes", 1, counts.shape[1] // 2, integer=True)
    _check(strength, "strength", 0, 1e3)
    _check(top_fraction, "top_fraction", 0, 0.9)
    values, sizes = np.unique(types, return_counts=True)
    _check(n_types, "n_types", 1, len(values), integer=True)
    rng = check_random_state(random_state)
    chosen = values[np.argsort(-sizes, kind="stable")[:n_types]]
    idx = np.flatnonzero(np.isin(types, chosen))
    if n_cells is not None:
        _check(n_cells, "n_cells", 4, idx.size, integer=True)
        idx = rng.choice(idx, n_cells, replace=False)
    idx = rng.permutation(idx)
    half = idx.size // 2
    ti, bi = np.sort(idx[:half]), np.sort(idx[half:])
    X = counts[ti].toarray().astype(np.float64)
    Y = counts[bi].toarray().astype(np.float64)
    means = np.asarray(counts.mean(axis=0)).ravel()
    order = np.argsort(means, kind="stable")
    pool = order[: int(round((1 - top_fraction) * order.size))]
    pool = pool[means[pool] > 0]
    genes = np.sort(rng.choice(pool, n_genes, replace=False))
    eligible = np.flatnonzero(types[ti] == chosen[0]) if one_type else np.arange(ti.size)
    planted = np.zeros(ti.size, dtype=np.int64)
    planted[rng.choice(eligible, eligible.size // 2, replace=False)] = 1
    rows = np.flatnonzero(planted)
    X[np.ix_(rows, genes)] += rng.poisson(strength, (rows.size, n_genes))
    return PlantedProgram(X, Y, planted, types[ti], types[bi], genes, names)
