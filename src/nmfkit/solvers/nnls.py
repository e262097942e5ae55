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

from ..backends import single_threaded_blas

__all__ = ["nnls_bpp"]


#: Columns per batched solve: bounds the (r, k, k) stack of masked Gram matrices.
_BATCH = 8192


def _solve_groups(G, Rhs, F):
    """x with x[~F] = 0 and G[F,F] x[F] = Rhs[F], for every column at once.

    Each column's system is embedded in a full k × k one, ``G ⊙ f fᵀ + diag(1 − f)``
    with right-hand side ``b ⊙ f``, and all are solved in one batched LAPACK call (the
    k³/3 work per column is small next to forming ``Rhs``).
    """
    k, r = Rhs.shape
    X = np.zeros_like(Rhs)
    eye = np.eye(k, dtype=G.dtype)
    for start in range(0, r, _BATCH):
        f = F[:, start : start + _BATCH].T.astype(G.dtype)  # (c, k)
        A = G[None] * f[:, :, None] * f[:, None, :] + eye * (1.0 - f)[:, None, :]
        rhs = (Rhs[:, start : start + _BATCH].T * f)[:, :, None]
        try:
            sol = np.linalg.solve(A, rhs)[:, :, 0]
        except np.linalg.LinAlgError:
            sol = np.einsum("cij,cj->ci", np.linalg.pinv(A), rhs[:, :, 0])
        X[:, start : start + _BATCH] = sol.T * f.T
    return X


#: Above this condition number of G the inverse-based update is not used.
_MAX_COND = 1e6


def _solve_from_inverse(S, U, F):
    """``(x, y)`` for the passive sets ``F`` from ``S = G⁻¹`` and ``U = S Rhs``.

    With the active set ``Z = ~F`` of a column and ``u = G⁻¹ b``, the solution with
    ``x_Z = 0`` and ``(G x − b)_F = 0`` is ``x = u + S[:, Z] λ`` where
    ``S[Z, Z] λ = −u_Z``; the gradient ``y = G x − b`` is ``λ`` on ``Z`` and 0 on ``F``.
    So a column costs a ``|Z| × |Z|`` solve and O(k |Z|) work, not a k × k solve:
    columns are grouped by ``|Z|`` and each group is one batched solve.
    """
    k, r = U.shape
    X = U.copy()
    Y = np.zeros_like(U)
    Z = ~F
    nz = Z.sum(axis=0)
    for z in np.unique(nz):
        if z == 0:
            continue
        cols = np.flatnonzero(nz == z)
        idx = np.nonzero(Z[:, cols].T)[1].reshape(cols.size, z)  # (c, z) active rows
        Szz = S[idx[:, :, None], idx[:, None, :]]
        uz = U[idx, cols[:, None]]
        lam = np.linalg.solve(Szz, -uz[:, :, None])[:, :, 0]
        X[:, cols] += np.einsum("kcz,cz->kc", S[:, idx], lam)
        X[idx, cols[:, None]] = 0.0
        Y[idx, cols[:, None]] = lam
    return X, Y


def _inverse(G):
    """``G⁻¹`` when G is positive definite and well conditioned, else None."""
    try:
        L = np.linalg.cholesky(G)
    except np.linalg.LinAlgError:
        return None
    d = np.diagonal(L)
    if d.min() <= 0 or (d.max() / d.min()) ** 2 > _MAX_COND:
        return None
    Linv = np.linalg.inv(L)
    return Linv.T @ Linv


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
    with single_threaded_blas():  # k x k work: many small calls
        return _nnls_bpp(G, Rhs, max_iter, X0_passive)


def _nnls_bpp(G, Rhs, max_iter, X0_passive):
    G = np.asarray(G, dtype=np.float64)
    Rhs = np.asarray(Rhs, dtype=np.float64)
    k, r = Rhs.shape
    if max_iter is None:
        max_iter = 5 * k + 10
    S = _inverse(G)
    U = None if S is None else S @ Rhs

    def solve(cols):
        if S is not None:
            return _solve_from_inverse(S, U[:, cols], F[:, cols])
        Xc = _solve_groups(G, Rhs[:, cols], F[:, cols])
        Yc = G @ Xc - Rhs[:, cols]
        Yc[F[:, cols]] = 0
        return Xc, Yc

    if X0_passive is None:
        # start from the support of the unconstrained solution: usually near the answer,
        # so few pivoting rounds follow
        if U is not None:
            F = U > 0
        else:
            try:
                F = np.linalg.solve(G, Rhs) > 0
            except np.linalg.LinAlgError:
                F = np.zeros((k, r), dtype=bool)
    else:
        F = np.array(X0_passive, dtype=bool)
    X, Y = solve(slice(None))
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
        X[:, cols], Y[:, cols] = solve(cols)
    X[~F] = 0
    np.maximum(X, 0, out=X)
    return X
