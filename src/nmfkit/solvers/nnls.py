r"""Exact non-negative least squares for many right-hand sides at once.

Solves, for every column ``b`` of ``Rhs``,

.. math::
    \min_{x \ge 0} \tfrac12 x^\top G x - b^\top x \qquad (G = C^\top C \text{ positive semi-definite}),

i.e. ``min_{x>=0} ‖C x − y‖`` given its normal equations, by block principal
pivoting (Kim & Park, SIAM J. Sci. Comput. 33(6), 2011). Columns that share a
passive set are solved together with one factorisation of ``G[F, F]``, so the cost
is a handful of k × k solves, not one per sample. This is what makes
``transform`` an exact projection rather than hundreds of solver sweeps.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

__all__ = ["nnls_bpp"]


def _solve_groups(G, Rhs, F):
    """x with x[~F] = 0 and G[F,F] x[F] = Rhs[F], column by column, grouped by pattern."""
    k, r = Rhs.shape
    X = np.zeros_like(Rhs)
    if r == 0:
        return X
    patterns, inverse = np.unique(F.T, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    for g, pat in enumerate(patterns):
        cols = np.flatnonzero(inverse == g)
        idx = np.flatnonzero(pat)
        if idx.size == 0:
            continue
        Gff = G[np.ix_(idx, idx)]
        rhs = Rhs[np.ix_(idx, cols)]
        try:
            sol = scipy.linalg.solve(Gff, rhs, assume_a="pos", check_finite=False)
        except (np.linalg.LinAlgError, scipy.linalg.LinAlgError):
            sol = scipy.linalg.lstsq(Gff, rhs, check_finite=False)[0]
        X[np.ix_(idx, cols)] = sol
    return X


def nnls_bpp(G, Rhs, *, max_iter: int = None, X0_passive=None):
    """Solve the NNLS problems ``min_{x>=0} ½ xᵀGx − bᵀx`` for all columns ``b`` of ``Rhs``.

    Parameters
    ----------
    G : ndarray, shape (k, k)
        Positive (semi-)definite Gram matrix.
    Rhs : ndarray, shape (k, r)
        One right-hand side per column.
    max_iter : int, optional
        Pivoting rounds (default ``5 k + 10``); the method is exact and finishes in
        a few rounds in practice.
    X0_passive : bool ndarray (k, r), optional
        A warm-start passive set (e.g. the support of the previous solution).

    Returns
    -------
    X : ndarray, shape (k, r)
        The minimisers, ``X >= 0``; the KKT conditions hold to round-off.
    """
    G = np.asarray(G, dtype=np.float64)
    Rhs = np.asarray(Rhs, dtype=np.float64)
    k, r = Rhs.shape
    if max_iter is None:
        max_iter = 5 * k + 10
    F = np.zeros((k, r), dtype=bool) if X0_passive is None else np.array(X0_passive, dtype=bool)
    X = _solve_groups(G, Rhs, F)
    Y = G @ X - Rhs
    Y[F] = 0
    scale = max(float(np.abs(Rhs).max(initial=0.0)), float(np.abs(G).max(initial=0.0)), 1e-300)
    tol = 1e-12 * scale
    alpha = np.full(r, 3)
    beta = np.full(r, k + 1)
    for _ in range(max_iter):
        V = (F & (X < -tol)) | (~F & (Y < -tol))
        nv = V.sum(axis=0)
        todo = nv > 0
        if not todo.any():
            break
        cols = np.flatnonzero(todo)
        full = nv[cols] < beta[cols]
        # full exchange, resetting the safeguard when infeasibility decreased
        beta[cols[full]] = nv[cols[full]]
        alpha[cols[full]] = 3
        limited = ~full & (alpha[cols] >= 1)
        alpha[cols[limited]] -= 1
        exch = cols[full | limited]
        F[:, exch] ^= V[:, exch]
        backup = cols[~full & ~limited]
        for c in backup:  # Murty's single-index backup rule
            j = np.flatnonzero(V[:, c]).max()
            F[j, c] = ~F[j, c]
        X[:, cols] = _solve_groups(G, Rhs[:, cols], F[:, cols])
        Yc = G @ X[:, cols] - Rhs[:, cols]
        Yc[F[:, cols]] = 0
        Y[:, cols] = Yc
    X[~F] = 0
    np.maximum(X, 0, out=X)
    return X
