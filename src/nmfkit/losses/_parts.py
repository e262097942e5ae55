r"""Gradient parts of one β-divergence term, for factors with a leading restart axis.

For ``D_β(X | A B)`` (``X`` is m × n, ``A`` m × k, ``B`` k × n) the gradients split into
non-negative parts, ``∇_A D = P_A − N_A`` and ``∇_B D = P_B − N_B``:

.. math::
    P_A = (M \odot Y^{\beta-1}) B^\top,\quad N_A = (M \odot X \odot Y^{\beta-2}) B^\top,
    \qquad
    P_B = A^\top (M \odot Y^{\beta-1}),\quad N_B = A^\top (M \odot X \odot Y^{\beta-2})

with ``Y = A B`` floored at :data:`EPSILON` where it is divided by or raised to a
negative power. Here the factors are **stacks**, ``A`` of shape (R, m, k) and ``B`` of
shape (R, k, n): R restarts (or replicates) of one problem computed together, so that
``X`` is read once per call for all of them:

* products with ``X`` alone (``X B_rᵀ`` for every r) are one GEMM with the stacked
  ``[B_1; …; B_R]ᵀ`` (:func:`stacked_right`);
* dense terms whose parts need ``Y_r = A_r B_r`` (any β ≠ 2, or element weights) are
  formed in **row chunks** of ``X`` (each chunk read once, for all r, while in cache;
  at most :data:`CHUNK_ELEMENTS` entries of ``Y`` exist at a time);
* sparse terms evaluate ``Y_r`` only at the stored entries (blocked SDDMM of
  :mod:`nmfkit.backends._sparse`, one reused buffer of length nnz), restart by restart,
  and the ``B`` side uses the transpose *view* of the ratio matrix: no transposed copy
  of ``X`` for KL.

A single fit is the R = 1 case of the same code.
"""

from __future__ import annotations

import numpy as np

from ..backends import single_threaded_blas
from ..backends._sparse import csr_like, sddmm

__all__ = ["EPSILON", "CHUNK_ELEMENTS", "stacked_left", "stacked_right", "left_parts", "right_parts",
           "safe_den", "accumulate_left", "accumulate_right", "row_chunks"]

#: Floor for ``A B`` where it is divided by or raised to a negative power, and for a
#: zero denominator of a multiplicative update (float32 eps, as scikit-learn uses).
EPSILON = float(np.finfo(np.float32).eps)

#: Entries of ``Y = A B`` formed at a time by the chunked dense kernels (8 MB in float64).
CHUNK_ELEMENTS = 1 << 20


def safe_den(b, P):
    """The one safe-division floor: a zero denominator becomes :data:`EPSILON`."""
    return b.where(P == 0, EPSILON, P)


def stacked_right(b, X, B):
    """``X B_rᵀ`` for every restart as one GEMM: ``B`` (R, k, n) → (R, m, k) (a view).

    ``X`` is a dense backend array or a scipy.sparse matrix of shape (m, n), or a
    stacked dense (R, m, n) (one matrix per restart: a batched product); ``b`` the
    backend.
    """
    if len(X.shape) == 3:
        return X @ b.mT(B)
    R, k, n = B.shape
    P = X @ b.reshape(B, (R * k, n)).T  # (m, R k)
    return b.mT(b.reshape(b.mT(P), (R, k, P.shape[0])))


def stacked_left(b, X, A):
    """``A_rᵀ X`` for every restart as one GEMM: ``A`` (R, m, k) → (R, k, n).

    ``X`` is a dense backend array (m, n) or stacked (R, m, n). The ``Aᵀ X`` orientation
    runs 1.4–2.5× faster than ``(Xᵀ A)ᵀ`` on a C-ordered ``X`` (OpenBLAS, shapes of the
    benchmarks).
    """
    if len(X.shape) == 3:
        return b.mT(A) @ X
    R, m, k = A.shape
    At = b.reshape(b.contiguous(b.mT(A)), (R * k, m))  # no copy for a HALS-laid-out block
    return b.reshape(At @ X, (R, k, X.shape[1]))


def row_chunks(m: int, R: int, n: int):
    """Row ranges of ``X`` holding at most :data:`CHUNK_ELEMENTS` entries of ``Y`` for all R."""
    rows = max(1, CHUNK_ELEMENTS // max(R * n, 1))
    return [(r0, min(m, r0 + rows)) for r0 in range(0, m, rows)]


def _chunk_factors(t, A, B, beta):
    """Per row chunk of ``X``: ``(r0, r1, F_P, F_N)``, the elementwise factors of the parts.

    ``F_P = M ⊙ Y^(β−1)`` and ``F_N = M ⊙ X ⊙ Y^(β−2)`` with ``Y = A B`` on rows
    ``r0:r1`` (stacked over restarts), ``None`` where the part is formed without ``Y``
    (``N`` of Frobenius, ``P`` of KL). The one place the β formulas are written; both
    sides multiply them by the other factor.
    """
    b = t.backend
    R, m, _ = A.shape
    for r0, r1 in row_chunks(m, R, B.shape[2]):
        Y = A[:, r0:r1] @ B  # (R, c, n)
        Mc = None if t.M is None else t.M[..., r0:r1, :]
        if beta == 2:  # weighted Frobenius
            Y *= Mc
            yield r0, r1, Y, None
            continue
        b.clamp_min_(Y, EPSILON)
        MX = t.MX[..., r0:r1, :]
        if beta == 1:
            yield r0, r1, None, b.divide(MX, Y, out=Y)  # (M ⊙ X) / Y written into Y
            continue
        FN = MX * Y ** (beta - 2)
        Yb = Y ** (beta - 1)
        yield r0, r1, (Yb if Mc is None else Mc * Yb), FN


def accumulate_left(b, A, B, chunks, need_P=True, need_N=True):
    """``(F_P Bᵀ, F_N Bᵀ)`` row chunk by row chunk, from ``chunks`` yielding
    ``(r0, r1, F_P, F_N)`` (elementwise factors on rows ``r0:r1``, None where not needed)."""
    Bt = b.mT(B)
    P = b.empty(A.shape, A.dtype) if need_P else None
    N = b.empty(A.shape, A.dtype) if need_N else None
    for r0, r1, FP, FN in chunks:
        if FP is not None:
            P[:, r0:r1] = FP @ Bt
        if FN is not None:
            N[:, r0:r1] = FN @ Bt
    return P, N


def accumulate_right(b, A, B, chunks, need_P=True, need_N=True):
    """``(Aᵀ F_P, Aᵀ F_N)`` summed over the row chunks of ``chunks`` (as :func:`accumulate_left`)."""
    At = b.mT(A)
    shape = (A.shape[0], A.shape[2], B.shape[2])
    P = b.zeros(shape, A.dtype) if need_P else None
    N = b.zeros(shape, A.dtype) if need_N else None
    for r0, r1, FP, FN in chunks:
        Ac = At[:, :, r0:r1]
        if FP is not None:
            P += Ac @ FP
        if FN is not None:
            N += Ac @ FN
    return P, N


def _dense_left(t, A, B, beta):
    """``(P_A, N_A)`` for a dense term; ``P_A`` may be (R, 1, k) (KL without weights)."""
    b = t.backend
    Bt = b.mT(B)
    if beta == 2 and t.M is None:
        return A @ (B @ Bt), stacked_right(b, t.X, B)
    P, N = accumulate_left(b, A, B, _chunk_factors(t, A, B, beta), beta != 1, beta != 2)
    if beta == 2:
        N = stacked_right(b, t.MX, B)
    elif beta == 1:
        P = b.sum(B, axis=-1)[:, None, :] if t.M is None else stacked_right(b, t.M, B)
    return P, N


class _RatioBuffer:
    """One reused length-nnz buffer per dtype for ``X ⊘ (A B)`` at the stored entries."""

    def __init__(self):
        self._buf = None

    def ratio(self, info, A, B):
        if self._buf is None or self._buf.dtype != A.dtype:
            self._buf = np.empty(info.nnz, dtype=A.dtype)
        with single_threaded_blas():
            r = sddmm(info, A, B, out=self._buf)
        np.maximum(r, EPSILON, out=r)
        np.divide(info.data, r, out=r)
        return csr_like(info, r)


def _dense_right(t, A, B, beta):
    """``(P_B, N_B)`` for a dense term, accumulated over row chunks of ``X``."""
    b = t.backend
    At = b.mT(A)
    if beta == 2 and t.M is None:
        return (At @ A) @ B, stacked_left(b, t.X, A)
    P, N = accumulate_right(b, A, B, _chunk_factors(t, A, B, beta), beta != 1, beta != 2)
    if beta == 2:
        N = stacked_left(b, t.MX, A)
    elif beta == 1:
        P = b.sum(A, axis=-2)[:, :, None] if t.M is None else stacked_left(b, t.M, A)
    return P, N


def _stack(blocks):
    """Per-restart results as one (R, ·, ·) array (a view for R = 1)."""
    return blocks[0][None] if len(blocks) == 1 else np.stack(blocks)


def _sparse_values(info, A, B, beta):
    return np.maximum(sddmm(info, A, B), EPSILON)


def _sparse_general_P(A, B, beta):
    """``(Y^(β−1)) Bᵀ`` over every entry, in row chunks (zeros of X still count)."""
    P = np.empty_like(A)
    for r0, r1 in row_chunks(A.shape[0], 1, B.shape[1]):
        Yc = np.maximum(A[r0:r1] @ B, EPSILON)
        P[r0:r1] = (Yc ** (beta - 1)) @ B.T
    return P


def _sparse_left(t, A, B, beta, buffer):
    info, b = t.info, t.backend
    if beta == 2:
        return A @ (B @ b.mT(B)), stacked_right(b, info.X, B)
    if beta == 1:
        N = _stack([buffer.ratio(info, A[r], B[r]) @ B[r].T for r in range(A.shape[0])])
        return B.sum(axis=-1)[:, None, :], N
    N = np.empty(A.shape, dtype=A.dtype)
    P = np.empty_like(N)
    for r in range(A.shape[0]):
        y = _sparse_values(info, A[r], B[r], beta)
        N[r] = csr_like(info, info.data * y ** (beta - 2)) @ B[r].T
        P[r] = _sparse_general_P(A[r], B[r], beta)
    return P, N


def left_parts(t, A, B, beta: float, buffer=None):
    """``(P_A, N_A)``, each of shape (R, m, k) or broadcastable to it (see module doc)."""
    if t.sparse:
        return _sparse_left(t, A, B, beta, buffer or _RatioBuffer())
    return _dense_left(t, A, B, beta)


def right_parts(t, A, B, beta: float, buffer=None):
    """``(P_B, N_B)``, each of shape (R, k, n) or broadcastable to it.

    Dense terms form ``Aᵀ (·)`` products over row chunks of ``X`` (the faster GEMM
    orientation, :func:`stacked_left`); sparse Frobenius / general-β terms are the left
    parts of the transposed term (``Xᵀ ≈ Bᵀ Aᵀ``, a cached CSR transpose); sparse KL uses
    the transpose view of the ratio matrix instead, so ``X`` is never copied transposed.
    """
    if not t.sparse:
        return _dense_right(t, A, B, beta)
    if beta == 1:
        info = t.info
        buffer = buffer or _RatioBuffer()
        N = _stack([(buffer.ratio(info, A[r], B[r]).T @ A[r]).T for r in range(A.shape[0])])
        return A.sum(axis=-2)[:, :, None], N
    b = t.backend
    P, N = left_parts(t.T, b.mT(B), b.mT(A), beta, buffer)
    return b.mT(P), b.mT(N)
