r"""Bi-cross-validation of the rank (Owen & Perry 2009, adapted to NMF as in cvanmf).

See :mod:`nmfkit.selection._cv` for the method; this module holds the row/column
partitions (:class:`_BiCV`) and the public :func:`bicv`.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_data, check_positive_int
from ..backends import is_sparse, to_numpy
from ..backends._random import check_random_state
from ..exceptions import NMFInputError
from ..losses import Target, loss_to_beta
from ._cv import CVResult, _NP, _check_beta_zeros, _entry_losses, _fit_kw, _quiet_fit, _run, check_ks

__all__ = ["bicv"]


def _groups(n, parts, rng):
    return np.array_split(rng.permutation(n), parts)


def _target(block):
    """A NumPy Target of a data block (NaN entries get weight 0)."""
    if is_sparse(block):
        return Target(block.tocsr(), None, _NP)
    nan = np.isnan(block)
    if nan.any():
        return Target(np.where(nan, 0.0, block), (~nan).astype(block.dtype), _NP)
    return Target(np.ascontiguousarray(block), None, _NP)


class _BiCV:
    """Row and column partitions drawn once, evaluated for any k."""

    method = "bicv"

    def __init__(self, X, beta, n_splits, n_repeats, rng):
        data = check_data(X, allow_nan=True)
        vals = data.values
        self.X = vals if is_sparse(vals) else np.asarray(to_numpy(vals))
        if not is_sparse(self.X):
            _check_beta_zeros(self.X, ~np.isnan(self.X), beta)
        elif beta <= 0:
            raise NMFInputError(f"loss beta={beta:g} <= 0 is undefined at the zeros of sparse X; "
                                "use loss='kl' or 'frobenius'")
        self.beta = beta
        if isinstance(n_splits, (int, np.integer)):
            n_splits = (n_splits, n_splits)
        p, q = (check_positive_int(s, "n_splits") for s in n_splits)
        n, m = self.X.shape
        if p < 2 or q < 2 or p > n or q > m:
            raise NMFInputError(
                f"n_splits={n_splits!r} must split rows and columns into at least 2 groups each "
                f"(and at most {n} x {m}); pass e.g. n_splits=3"
            )
        self.folds = [(_groups(n, p, rng), _groups(m, q, rng)) for _ in range(n_repeats)]
        self.params = {"n_splits": (p, q), "n_repeats": n_repeats}
        self._max = min(n - max(len(g) for g in self.folds[0][0]),
                        m - max(len(g) for g in self.folds[0][1]))

    def max_rank(self):
        return self._max

    def evaluate(self, k, *, fit_kw, seed, max_time=None):
        from ..losses import Penalty
        from ..models._core import project

        n, m = self.X.shape
        X = self.X
        losses, train, conv, n_fits = [], [], 0, 0
        n_blocks = sum(len(r) * len(c) for r, c in self.folds)
        per = None if max_time is None else max_time / n_blocks
        for row_groups, col_groups in self.folds:
            for I in row_groups:
                rI = np.setdiff1d(np.arange(n), I)
                for J in col_groups:
                    cJ = np.setdiff1d(np.arange(m), J)
                    D = X[rI][:, cJ]
                    res = _quiet_fit(D, k, random_state=seed, max_time=per, **fit_kw)
                    WD, HD = res.W, res.H
                    WA = project(_target(X[I][:, cJ]), HD, beta=self.beta, penalty=Penalty())
                    HAt = project(_target(X[rI][:, J]).T, WD.T, beta=self.beta, penalty=Penalty())
                    A = X[I][:, J]
                    A = A.toarray() if is_sparse(A) else np.asarray(A, float)
                    idx = np.nonzero(~np.isnan(A))
                    losses.append(_entry_losses(A, np.asarray(WA), np.asarray(HAt).T, idx, self.beta))
                    n_obs = D.shape[0] * D.shape[1] if is_sparse(D) else float((~np.isnan(D)).sum())
                    train.append(res.info["divergence"] / n_obs)
                    conv += bool(res.converged)
                    n_fits += 1
        return np.concatenate(losses), float(np.mean(train)), conv, n_fits


def bicv(X, ks, *, loss="frobenius", n_splits=3, n_repeats: int = 1, init: str = "nndsvda",
         max_iter: int | None = None, tol: float | None = None, max_time: float | None = None,
         random_state=None, verbose: int = 0) -> CVResult:
    r"""Bi-cross-validation error (Owen & Perry 2009, adapted to NMF) of each rank in ``ks``.

    Rows and columns are split at random into ``n_splits`` groups; for every pair of
    a row group I and a column group J, NMF of rank k is fitted to the block D that
    leaves out rows I and columns J, the rows I and columns J are folded in by
    non-negative projections (:math:`W_A`, :math:`H_A`, see the module docstring of
    :mod:`nmfkit.selection._cv`), and the held-out block :math:`X_{IJ}` is scored by
    :math:`d_\beta(X_{IJ} \mid W_A H_A)` per entry.

    Parameters
    ----------
    X : array-like, DataFrame or scipy.sparse, shape (n_samples, n_features)
        Non-negative data (sparse stays sparse; NaN entries are left out).
    ks : int or sequence of int
        Candidate ranks; each at most the size of the training block.
    loss : {"frobenius", "kl", "is"} or float
    n_splits : int or (int, int)
        Row and column groups (3: 9 held-out blocks per repeat, as in cvanmf).
    n_repeats : int
        Independent partitions.
    init, max_iter, tol, max_time, random_state, verbose
        As in :func:`speckled_cv`.

    Returns
    -------
    CVResult

    Examples
    --------
    >>> import nmfkit
    >>> from nmfkit.selection import bicv
    >>> X = nmfkit.datasets.make_low_rank(120, 60, 3, noise=0.2, random_state=0).X
    >>> cv = bicv(X, [2, 3, 4, 5], random_state=0)
    >>> cv.best_k
    3
    """
    beta = loss_to_beta(loss)
    rng = check_random_state(random_state)
    plan = _BiCV(X, beta, n_splits, check_positive_int(n_repeats, "n_repeats"), rng)
    ks = check_ks(ks, plan.X.shape)
    return _run(plan, ks, _fit_kw(beta, init, max_iter, tol, verbose), rng, max_time)
