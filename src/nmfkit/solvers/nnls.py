r"""Exact non-negative least squares for many right-hand sides at once.

Solves, for every column ``b`` of ``Rhs``,

.. math::
    \min_{x \ge 0} \tfrac12 x^\top G x - b^\top x \qquad (G = C^\top C \text{ positive semi-definite}),

i.e. ``min_{x>=0} ‖C x − y‖`` given its normal equations, by block principal
pivoting (Kim & Park, SIAM J. Sci. Comput. 33(6), 2011). Columns that share a
passive set are solved together with one factorisation of ``G[F, F]``, so the cost
is a handful of k × k solves, not one per sample. This is what makes
``transform`` an exact projection rather than hundreds of solver sweeps.

NumPy input runs the NumPy implementation (grouped solves from ``G⁻¹``); any other
array (torch, CuPy, array-api-strict) runs a namespace-generic implementation on
the array's own device (:func:`_nnls_bpp_device`), so nothing is copied to the host.
"""

from __future__ import annotations

import numpy as np

from ..backends import get_namespace, is_device_array, single_threaded_blas

__all__ = ["nnls_bpp", "nnls_codes"]


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
    G : array, shape (k, k)
        Positive (semi-)definite Gram matrix: a NumPy array, or an array of any
        backend (torch, CuPy, array-api-strict), which is then solved on its device.
    Rhs : array, shape (k, r)
        One right-hand side per column, of the same kind as ``G``.
    max_iter : int, optional
        Pivoting rounds (default ``5 k + 10``); the method is exact and finishes in
        a few rounds in practice.
    X0_passive : bool ndarray (k, r), optional
        A warm-start passive set (e.g. the support of the previous solution).

    Returns
    -------
    X : array, shape (k, r), float64
        The minimisers, ``X >= 0``; the KKT conditions hold to round-off. Of the same
        kind and on the same device as ``G``.

    Examples
    --------
    >>> import numpy as np
    >>> G = np.array([[2.0, 0.0], [0.0, 1.0]])
    >>> nnls_bpp(G, np.array([[2.0], [-1.0]]))
    array([[1.],
           [0.]])
    """
    if is_device_array(G) or is_device_array(Rhs):
        return _nnls_bpp_device(G, Rhs, max_iter, X0_passive)
    with single_threaded_blas():  # k x k work: many small calls
        return _nnls_bpp(G, Rhs, max_iter, X0_passive)


def nnls_codes(H, R, *, l1: float = 0.0, l2: float = 0.0):
    """The one NNLS entry: codes ``W = argmin_{W>=0} ½‖X − W H‖² + l1 ΣW + ½ l2 ‖W‖²``.

    Parameters
    ----------
    H : array, shape (k, n)
        The fixed basis, on any backend.
    R : array, shape (k, m)
        ``H Xᵀ`` (``X`` may be mixed-sign): callers form it the fastest way for their
        data (e.g. fused with the validation of ``X``).
    l1, l2 : float
        Penalties on ``W``.

    Returns
    -------
    W : array, shape (m, k), of ``H``'s kind, dtype and device.

    Examples
    --------
    >>> import numpy as np
    >>> H = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> nnls_codes(H, H @ np.array([[3.0, -1.0]]).T)
    array([[3., 0.]])
    """
    from ..backends import get_namespace

    b = get_namespace(H, R)
    k = H.shape[0]
    with single_threaded_blas():  # a k x k Gram: BLAS threads only add latency
        G = H @ H.T
    if l2:
        G = G + l2 * b.eye(k, G.dtype)
    if l1:
        R = R - l1
    return b.astype(b.mT(nnls_bpp(G, R)), H.dtype)


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


# -- namespace-generic version (torch, CuPy, array-api-strict: stays on the device) --------


def _solve_batched(b, A, rhs):
    """``A⁻¹ rhs`` for a stack of systems; the pseudo-inverse where ``A`` is singular."""
    try:
        sol = b.solve(A, rhs)
        if bool(b.all(b.isfinite(sol))):  # some libraries return inf/NaN instead of raising
            return sol
    except (np.linalg.LinAlgError, RuntimeError, ValueError):
        pass
    return b.pinv(A) @ rhs


def _solve_masked(b, G, Rhs, F):
    """``(x, y)``: ``x[~F] = 0``, ``G[F,F] x[F] = Rhs[F]`` and ``y = G x − Rhs`` (0 on ``F``).

    Every column's system is embedded in a full k × k one, ``G ⊙ f fᵀ + diag(1 − f)``
    with right-hand side ``b ⊙ f``, and solved in batches: only elementwise products and
    one batched solve, so it runs in any array namespace.
    """
    k, r = Rhs.shape
    eye = b.eye(k, G.dtype)
    batch = max(1, min(_BATCH, (1 << 24) // max(k * k, 1)))
    parts = []
    for start in range(0, r, batch):
        stop = min(start + batch, r)  # the standard leaves out-of-bounds slices unspecified
        f = b.astype(b.mT(F[:, start:stop]), G.dtype)  # (c, k)
        A = G[None, ...] * f[:, :, None] * f[:, None, :] + eye * (1.0 - f)[:, None, :]
        rhs = (b.mT(Rhs[:, start:stop]) * f)[:, :, None]
        parts.append(b.mT(_solve_batched(b, A, rhs)[:, :, 0] * f))
    X = parts[0] if len(parts) == 1 else b.concat(parts, axis=1)
    return X, b.where(F, 0.0, G @ X - Rhs)


def _initial_passive(b, G, Rhs, X0_passive):
    """The start passive set: ``X0_passive``, else the support of ``G⁻¹ Rhs``."""
    if X0_passive is not None:
        return b.astype(b.asarray(X0_passive), "bool")
    try:
        U = b.solve(G, Rhs)
        if bool(b.all(b.isfinite(U))):
            return U > 0
    except (np.linalg.LinAlgError, RuntimeError, ValueError):
        pass
    return b.zeros(Rhs.shape, "bool")


def _nnls_bpp_device(G, Rhs, max_iter, X0_passive):
    """Block principal pivoting with the backend's operations only (no host copies).

    The same exchange rules as :func:`_nnls_bpp` (full exchange, limited exchange with
    the ``alpha``/``beta`` safeguard, Murty's single-index backup), written as masks
    over all columns; each round re-solves the columns whose passive set changed with
    one batched solve. Two host syncs per round (the stop test, the size of the changed
    set).
    """
    b = get_namespace(G, Rhs)
    G = b.astype(G, "float64")
    Rhs = b.astype(Rhs, "float64")
    k, r = Rhs.shape
    if max_iter is None:
        max_iter = 5 * k + 10
    F = _initial_passive(b, G, Rhs, X0_passive)
    X, Y = _solve_masked(b, G, Rhs, F)
    scale = max(b.item(b.max(b.abs(Rhs))) if r else 0.0, b.item(b.max(b.abs(G))) if k else 0.0,
                1e-300)
    tol = 1e-12 * scale
    alpha = b.full((r,), 3, "int64")
    beta = b.full((r,), k + 1, "int64")
    rows = b.reshape(b.arange(k), (k, 1))
    for _ in range(max_iter):
        V = (F & (X < -tol)) | (~F & (Y < -tol))
        nv = b.sum(V, axis=0)
        todo = nv > 0
        if not bool(b.any(todo)):
            break
        full = todo & (nv < beta)
        beta = b.where(full, nv, beta)
        alpha = b.where(full, 3, alpha)
        limited = todo & ~full & (alpha >= 1)
        alpha = b.where(limited, alpha - 1, alpha)
        backup = todo & ~full & ~limited
        last = b.max(b.where(V, rows, -1), axis=0)  # Murty: the largest violating index
        flip = (V & (full | limited)[None, :]) | ((rows == last[None, :]) & backup[None, :])
        F = F ^ flip
        # re-solve the changed columns only, then gather them back into place
        cols = b.flatnonzero(todo)
        Xc, Yc = _solve_masked(b, G, b.take(Rhs, cols, axis=1), b.take(F, cols, axis=1))
        pos = b.clamp_min(b.cumsum(todo) - 1, 0)
        X = b.where(todo[None, :], b.take(Xc, pos, axis=1), X)
        Y = b.where(todo[None, :], b.take(Yc, pos, axis=1), Y)
    X = b.clamp_min(b.where(F, X, 0.0), 0.0)
    # stored samples-major, so that ``Xᵀ`` (the codes W, r × k) is C-contiguous
    return b.mT(b.contiguous(b.mT(X)))
