"""The optional compiled kernel of :mod:`nmfkit.solvers.beta_cd` (numba), one row at a time.

The same decisions as the vectorised path of :func:`~nmfkit.solvers.beta_cd.beta_cd_left`
(per row: coordinates in order, ``inner`` projected Newton steps each, the exact check of
rows whose final point is not certified by the trapezoid bound or that hold an entry
``Y < EPSILON``, the multiplicative / no-move fallbacks, a fresh row of ``A B`` where a
coordinate fell to 0), written as loops over each row, rows in parallel (``prange``)
above ``PARALLEL_SIZE`` entries. Each entry's power ``max(y, EPSILON)^(β−2)`` is taken
once per coordinate: the pass that forms the derivative at a coordinate's final point
keeps it in a row buffer for the next coordinate's Newton step, refreshed only where
``B_j ≠ 0`` (the entries a move changes) and not at all for a coordinate that did not
move (a zero held at 0), so sparse factors cost fewer powers. Each row is swept densely (the
sweep is dense for β > 1 whatever ``X`` is). The row's share of the divergence after its
sweep, from its row of ``A B`` formed afresh, is summed in the same call. A CSR ``X`` is
read row by row into a length-n buffer (no dense copy of ``X``: memory O(n) per thread).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..losses import EPSILON

__all__ = ["beta_cd_left_numba"]


@njit(cache=True, fastmath=True)
def _derivs(x, w, y, q, bj, beta):
    """``(P, N, h)`` of the coordinate from the row buffer ``q = max(y, EPSILON)^(β−2)``."""
    P = 0.0
    N = 0.0
    h = 0.0
    for f in range(y.shape[0]):
        b = bj[f]
        if b == 0.0:
            continue
        yc = max(y[f], EPSILON)
        qq = q[f]
        xw = x[f] * w[f]
        P += w[f] * b * yc * qq
        N += xw * b * qq
        h += b * b * qq * (w[f] * (beta - 1.0) + (2.0 - beta) * xw / yc)
    return P, N, h


@njit(cache=True)
def _powers(x, w, y, q, bj, beta):
    """Refill ``q`` at the current ``y`` where ``bj ≠ 0`` (the only entries a move of
    coordinate j changes); returns ``(P, N, min y)`` over those entries."""
    P = 0.0
    N = 0.0
    low = np.inf
    for f in range(y.shape[0]):
        if bj[f] == 0.0:
            continue
        yy = y[f]
        low = min(low, yy)
        yc = max(yy, EPSILON)
        qq = yc ** (beta - 2.0)
        q[f] = qq
        P += w[f] * bj[f] * yc * qq
        N += x[f] * w[f] * bj[f] * qq
    return P, N, low


@njit(cache=True)
def _move(y, Ai, B, j, a, new):
    """``A[i, j]`` from ``a`` to ``new`` with the rank-one change of ``y``; the row of
    ``A B`` afresh where the coordinate fell to 0."""
    Ai[j] = new
    if new == 0.0 and a != 0.0:
        for f in range(y.shape[0]):
            s = 0.0
            for c in range(B.shape[0]):
                s += Ai[c] * B[c, f]
            y[f] = s
    else:
        d = new - a
        for f in range(y.shape[0]):
            y[f] += d * B[j, f]


@njit(cache=True)
def _rise(x, w, y, bj, a0, a, beta, l1, l2):
    """``f(a) − f(a0)`` with ``y`` the row of ``A B`` at ``a`` (the dense objective's
    convention: no floor)."""
    D = a - a0
    r = l1 * D + 0.5 * l2 * (a * a - a0 * a0)
    for f in range(y.shape[0]):
        b = bj[f]
        if b == 0.0:
            continue
        y1 = max(y[f], 0.0)
        y0 = max(y[f] - D * b, 0.0)
        g1 = y1 ** (beta - 1.0)
        g0 = y0 ** (beta - 1.0)
        r += w[f] * (y1 * g1 - y0 * g0) / beta - x[f] * w[f] * (g1 - g0) / (beta - 1.0)
    return r


@njit(cache=True)
def _beta_row(i, X, indptr, indices, data, sparse, W, A, B, beta, l1, l2, inner, want_loss, out):
    """Coordinate descent on row ``i`` of ``A`` (and its share of the divergence in ``out[i]``)."""
    m, k = A.shape
    n = B.shape[1]
    if sparse:
        x = np.zeros(n)
        for p in range(indptr[i], indptr[i + 1]):
            x[indices[p]] = data[p]
    else:
        x = X[i]
    w = W[i] if W.shape[0] == m else W[0]
    Ai = A[i]
    y = np.zeros(n)
    for c in range(k):
        for f in range(n):
            y[f] += Ai[c] * B[c, f]
    q = np.empty(n)
    for f in range(n):
        q[f] = max(y[f], EPSILON) ** (beta - 2.0)
    for j in range(k):
        bj = B[j]
        a0 = Ai[j]
        a = a0
        P0 = 0.0
        N0 = 0.0
        moved = False
        for t in range(inner):
            if moved:
                _powers(x, w, y, q, bj, beta)
            P, N, h = _derivs(x, w, y, q, bj, beta)
            if t == 0:
                P0, N0 = P, N
            g = P + l1 + l2 * a - N
            h += l2
            if h > 0:
                new = max(a - g / h, 0.0)
            else:
                new = 0.0 if g > 0 else a
            moved = new != a
            if moved:
                _move(y, Ai, B, j, a, new)
            a = new
        if a == a0:  # no move (e.g. held at 0): nothing changed, q still holds
            continue
        P, N, low = _powers(x, w, y, q, bj, beta)
        g = P + l1 + l2 * a - N
        g0 = P0 + l1 + l2 * a0 - N0
        ok = (a <= a0 and g >= 0) or (a >= a0 and g <= 0) or (a < a0 and g + g0 >= 0)
        if ok and low >= EPSILON:
            continue
        if _rise(x, w, y, bj, a0, a, beta, l1, l2) <= 0:
            continue
        den = P0 + l1 + l2 * a0
        alt = a0 * N0 / den if den > 0 else a0
        _move(y, Ai, B, j, a, alt)
        if not _rise(x, w, y, bj, a0, alt, beta, l1, l2) <= 0:
            _move(y, Ai, B, j, alt, a0)
        _powers(x, w, y, q, bj, beta)
    if want_loss:
        s = 0.0
        for f in range(n):
            yy = 0.0
            for c in range(k):
                yy += Ai[c] * B[c, f]
            yy = max(yy, 0.0)
            gp = yy ** (beta - 1.0)
            xb = x[f] ** beta if x[f] > 0 else 0.0
            s += w[f] * (xb + (beta - 1.0) * yy * gp - beta * x[f] * gp) / (beta * (beta - 1.0))
        out[i] = s


# Two drivers, not one function compiled twice: numba's on-disk cache keys a compiled
# function by its Python function, so ``njit(parallel=True)`` and ``njit()`` of one function
# shared a cache entry and the "parallel" sweep could load the serial code.
@njit(cache=True)
def _sweep_serial(X, indptr, indices, data, sparse, W, A, B, beta, l1, l2, inner, want_loss, out):
    for i in range(A.shape[0]):
        _beta_row(i, X, indptr, indices, data, sparse, W, A, B, beta, l1, l2, inner, want_loss, out)


@njit(cache=True, parallel=True)
def _sweep_parallel(X, indptr, indices, data, sparse, W, A, B, beta, l1, l2, inner, want_loss, out):
    for i in prange(A.shape[0]):
        _beta_row(i, X, indptr, indices, data, sparse, W, A, B, beta, l1, l2, inner, want_loss, out)

#: Entries (m × n) from which rows run in parallel threads.
PARALLEL_SIZE = 1 << 17


def beta_cd_left_numba(X, M, A, B, beta: float, l1: float, l2: float, inner: int, want_loss: bool):
    """One sweep over the columns of ``A`` (m × k, float64, C-contiguous, in place) for
    ``X`` (m × n): a dense C-contiguous float64 array with weights ``M`` (or None), or the
    :class:`~nmfkit.backends._sparse.SparseInfo` of a CSR matrix (``M`` None). Returns the divergence
    ``Σ M d_β(X | A B)`` after the sweep when ``want_loss`` (else None).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((6, 5)) @ rng.random((5, 4))
    >>> A, B = rng.random((6, 2)), rng.random((2, 4))
    >>> d = beta_cd_left_numba(X, None, A, B, 1.5, 0.0, 0.0, 1, True)
    >>> bool(d >= 0)
    True
    """
    m, n = X.shape
    W = np.ones((1, n)) if M is None else M
    out = np.zeros(A.shape[0])
    sweep = _sweep_parallel if m * n >= PARALLEL_SIZE else _sweep_serial
    if isinstance(X, np.ndarray):
        none_i = np.zeros(1, dtype=np.int32)
        args = (X, none_i, none_i, np.zeros(1), False)
    else:
        args = (np.zeros((1, 1)), X.indptr, X.indices, np.asarray(X.data, dtype=np.float64), True)
    sweep(*args, W, A, B, float(beta), float(l1), float(l2), int(inner), bool(want_loss), out)
    return float(out.sum()) if want_loss else None
