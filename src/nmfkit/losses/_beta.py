r"""The β-divergence family: values and the positive / negative parts of the gradient.

.. math::
    d_\beta(x \mid y) = \begin{cases}
      \tfrac12 (x - y)^2 & \beta = 2 \text{ (Frobenius)} \\
      x \log\frac{x}{y} - x + y & \beta = 1 \text{ (Kullback-Leibler / Poisson)} \\
      \frac{x}{y} - \log\frac{x}{y} - 1 & \beta = 0 \text{ (Itakura-Saito)} \\
      \frac{x^\beta + (\beta - 1) y^\beta - \beta x y^{\beta-1}}{\beta(\beta - 1)} & \text{otherwise}
    \end{cases}

and :math:`D_\beta(X \mid AB) = \sum_{ij} M_{ij}\, d_\beta(X_{ij} \mid (AB)_{ij})` with
element weights :math:`M` (1 by default, 0 for a missing entry).

The gradient with respect to ``A`` splits into non-negative parts
:math:`\nabla_A D = P - N` with

.. math::
    P = (M \odot (AB)^{\beta-1}) B^\top, \qquad N = (M \odot X \odot (AB)^{\beta-2}) B^\top,

which is all a multiplicative update needs (``A ← A ⊙ (N / P)^γ``). The H side is
the same formula on the transposed target. ``(AB)`` is floored at
:data:`EPSILON` wherever it is divided by or raised to a negative power.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..backends import single_threaded_blas
from ..backends._sparse import iter_block_values, sddmm
from ._parts import EPSILON, left_parts, stacked_right
from ._target import Target

__all__ = [
    "EPSILON",
    "beta_divergence",
    "elementwise_divergence",
    "frobenius_values",
    "stacked_divergences",
    "grad_parts",
    "loss_to_beta",
]


_LOSS_NAMES = {
    "frobenius": 2.0,
    "euclidean": 2.0,
    "kl": 1.0,
    "kullback-leibler": 1.0,
    "poisson": 1.0,
    "is": 0.0,
    "itakura-saito": 0.0,
}

#: Rows per chunk when a dense ``A B`` must be formed for a sparse target.
_ROW_CHUNK = 2048


def loss_to_beta(loss) -> float:
    """β of a loss given by name (``"frobenius"``, ``"kl"``, ``"is"``) or as a number."""
    if isinstance(loss, str):
        key = loss.lower()
        if key in ("nb", "negative_binomial", "negative-binomial"):
            from ..exceptions import NMFInputError

            raise NMFInputError(
                f"loss={loss!r} (negative binomial) is not a beta-divergence and is not available "
                "here; NMF, nmfkit.nmf, restarts, rank_search and speckled_cv take it. Use 'kl' "
                "(Poisson) here"
            )
        if key not in _LOSS_NAMES:
            from ..exceptions import NMFInputError

            raise NMFInputError(
                f"loss={loss!r} is not known; use 'frobenius', 'kl', 'is' or a number beta "
                "for the beta-divergence"
            )
        return _LOSS_NAMES[key]
    if isinstance(loss, numbers.Real) and not isinstance(loss, bool) and np.isfinite(loss):
        return float(loss)
    from ..exceptions import NMFInputError

    raise NMFInputError(
        f"loss={loss!r} is not usable; use 'frobenius', 'kl', 'is' or a finite number beta"
    )


def elementwise_divergence(X, Y, beta: float, backend):
    """``d_beta(X | Y)`` element by element.

    ``Y`` is floored at :data:`EPSILON` only where it is divided by, logged or raised to
    a negative power; the linear ``+ Y`` terms use it as is, so a zero ``X`` costs
    exactly ``Y``.
    """
    if beta == 2:
        D = X - Y
        return 0.5 * D * D
    Yc = backend.clamp_min(Y, EPSILON)
    if beta == 1:
        # x log(x / y) as x · log(max(x / y, 1e-38)): the ratio is 0 only where x = 0, where
        # the product must be 0; a vectorised log is 2-4x faster than scipy's xlogy
        R = backend.clamp_min_(X / Yc, 1e-38)
        return backend.log(R) * X - X + Y
    if beta == 0:
        R = X / Yc
        return R - backend.log(R) - 1
    Yp = (Yc if beta < 1 else Y) ** (beta - 1)
    return (X**beta + (beta - 1) * Y**beta - beta * X * Yp) / (beta * (beta - 1))


def _dense_value(t: Target, Y, beta: float) -> float:
    b = t.backend
    if t.M is None:
        return b.item(b.sum(elementwise_divergence(t.X, Y, beta, b)))
    if beta == 0:
        # unobserved entries hold X = 0, where d_0 is infinite: give them Y so d = 0
        D = elementwise_divergence(b.where(t.M > 0, t.X, b.clamp_min(Y, EPSILON)), Y, beta, b)
    else:
        D = elementwise_divergence(t.X, Y, beta, b)
    return b.item(b.sum(t.M * D))


def _sparse_value(t: Target, A, B, beta: float) -> float:
    info = t.info
    x = info.data
    if beta == 2:
        cross = float(np.einsum("ij,ij->", info.X @ B.T, A))
        quad = float(np.einsum("ij,ij->", A.T @ A, B @ B.T))
        return 0.5 * max(t.norm2 - 2.0 * cross + quad, 0.0)
    if beta == 1:
        # Σ_nz [x log(x / y) − x] + Σ_all y, block by block: no nnz-sized temporaries
        total = float(A.sum(axis=0) @ B.sum(axis=1))
        with single_threaded_blas():
            blocks = list(_kl_block_sums(info, x, A, B))
        return total + float(sum(blocks))
    y = np.maximum(sddmm(info, A, B), EPSILON)
    # zeros contribute y^beta / beta: needs sum of (AB)^beta over every entry, in row chunks
    total = 0.0
    for start in range(0, A.shape[0], _ROW_CHUNK):
        Yc = A[start : start + _ROW_CHUNK] @ B
        total += float(np.sum(Yc**beta))
    nz = np.sum(x**beta - beta * x * y ** (beta - 1)) / (beta * (beta - 1))
    return float(nz) + total / beta


def _kl_block_sums(info, x, A, B):
    """Per row block, ``Σ x log(x / y) − x`` over its stored entries (``y = (A B)``)."""
    from scipy.special import xlogy

    for blk, y in iter_block_values(info, A, B):
        xb = x[blk.lo : blk.hi]
        np.maximum(y, EPSILON, out=y)
        np.divide(xb, y, out=y)
        xlogy(xb, y, out=y)
        yield float(y.sum()) - float(xb.sum())


def beta_divergence(t: Target, A, B, beta: float) -> float:
    """``D_beta(X | A B)`` over the observed (weighted) entries of the target ``t``.

    Parameters
    ----------
    t : Target
        The data term, shape (m, n).
    A : array, shape (m, k)
    B : array, shape (k, n)
    beta : float

    Returns
    -------
    float
    """
    if t.sparse:
        return _sparse_value(t, A, B, beta)
    if beta == 2 and t.M is None:
        # ½(‖X‖² − 2⟨XBᵀ, A⟩ + ⟨AᵀA, BBᵀ⟩): no m × n temporary (guarded against cancellation)
        b = t.backend
        A3, B3 = A[None, ...], B[None, ...]
        return float(frobenius_values(t, stacked_right(b, t.X, B3), A3, b.mT(A3) @ A3,
                                      B3 @ b.mT(B3), B3)[0])
    return _dense_value(t, A @ B, beta)


def frobenius_values(t: Target, XBt, A, AtA, G, B=None) -> np.ndarray:
    r"""``½‖X − A_r B_r‖²`` for every restart r from products a solver already has.

    ``XBt`` is ``X B_rᵀ`` (R, m, k), ``A`` the stack (R, m, k), ``AtA = A_rᵀA_r`` and
    ``G = B_r B_rᵀ`` (R, k, k): ``½(‖X‖² − 2⟨X Bᵀ, A⟩ + ⟨AᵀA, BBᵀ⟩)`` costs O(R k (m + k))
    instead of a pass over ``X``. The one cancellation guard of the library: where that
    value is below ``10³ ε ‖X‖²`` (a near-exact fit, mostly in float32) and ``B`` is
    given, a dense ``X`` is evaluated from the residual instead.
    """
    b = t.backend
    cross = b.to_numpy(b.sum(XBt * A, axis=(1, 2))).astype(np.float64)
    quad = b.to_numpy(b.sum(AtA * G, axis=(1, 2))).astype(np.float64)
    val = 0.5 * np.maximum(t.norm2 - 2.0 * cross + quad, 0.0)
    if B is not None and not t.sparse:
        for r in np.flatnonzero(val <= 1e3 * b.eps(A.dtype) * t.norm2):
            X = t.X[r] if t.stacked else t.X
            val[r] = 0.5 * b.norm2(X - A[r, ...] @ B[r, ...])
    return val


def stacked_divergences(t: Target, A, B, beta: float) -> np.ndarray:
    """``D_β(X_r | A_r B_r)`` of every restart of a stacked (R, m, n) target."""
    b = t.backend
    D = elementwise_divergence(t.X, A @ B, beta, b)
    if t.M is not None:
        D = t.M * D
    # summed in float64: a float32 sum's rounding (~1e-7 relative) would pass for convergence
    return b.to_numpy(b.sum(b.astype(D, np.float64), axis=(1, 2)))


def grad_parts(t: Target, A, B, beta: float):
    """Positive and negative parts ``(P, N)`` of ``∇_A D_beta(X | A B)`` for one fit.

    The R = 1 case of :func:`nmfkit.losses._parts.left_parts` (which serves stacks of
    restarts); the H side is the same call on ``t.T``.

    Returns
    -------
    P : array, shape (m, k) or (1, k)
        Broadcastable to ``A``'s shape (for KL without weights it is one row).
    N : array, shape (m, k)
    """
    P, N = left_parts(t, A[None, ...], B[None, ...], beta)
    return P[0, ...], N[0, ...]
