r"""Multiplicative updates for the KL divergence on a sparse (CSR) ``X``, by row blocks.

For ``D_KL(X | W H)`` the MU half-steps are

.. math::
    W \leftarrow W \odot \frac{(X \oslash W H)\, H^\top}{\mathbf 1 H^\top + \lambda_1 + \lambda_2 W},
    \qquad
    H \leftarrow H \odot \frac{W^\top (X \oslash W H)}{W^\top \mathbf 1 + \lambda_1 + \lambda_2 H},

and ``X ⊘ WH`` is non-zero only where ``X`` is. The same updates as
:class:`nmfkit.solvers.mu.MUStep` (β = 1), organised for speed and memory:

* ``(W H)`` at the stored entries comes from the blocked SDDMM of
  :mod:`nmfkit.backends._sparse` (dense-enough row blocks use BLAS), written into one
  reused buffer of length nnz that then holds the ratio in place;
* the ratio shares X's ``indices``/``indptr`` (no copy), and the H half-step uses the
  transpose *view* of that CSR, so no transposed copy of ``X`` and no per-entry row
  index is kept: the extra memory is that one buffer plus a few MB of blocks.
"""

from __future__ import annotations

import numpy as np

from ..backends import single_threaded_blas
from ..backends._sparse import csr_like, sddmm
from ..losses import EPSILON, Penalty, Target

__all__ = ["SparseKLStep"]


def _safe(den):
    return np.where(den == 0, EPSILON, den)


class SparseKLStep:
    """One outer MU iteration (W then H) for KL on a CSR target without weights.

    Parameters
    ----------
    target : Target
        Sparse, no element weights, NumPy backend.
    penalty : Penalty
    update_H : bool
        ``False`` keeps H fixed (``transform``).
    """

    def __init__(self, target: Target, penalty: Penalty = Penalty(), update_H=True):
        if not target.sparse or target.M is not None:
            raise ValueError("SparseKLStep needs a sparse target without weights")
        self.t = target
        self.info = target.info
        self.penalty = penalty
        self.update_H = update_H
        self._r = None

    def _ratio(self, W, H):
        """``X ⊘ (W H)`` at the stored entries, as a CSR matrix sharing X's pattern."""
        info = self.info
        if self._r is None or self._r.dtype != W.dtype:
            self._r = np.empty(info.nnz, dtype=W.dtype)
        with single_threaded_blas():
            r = sddmm(info, W, H, out=self._r)
        np.maximum(r, EPSILON, out=r)
        np.divide(info.data, r, out=r)
        return csr_like(info, r)

    def __call__(self, W, H):
        p = self.penalty
        den = H.sum(axis=1)
        if p.l1_W:
            den = den + p.l1_W
        if p.l2_W:
            den = den + p.l2_W * W
        num = self._ratio(W, H) @ H.T
        num /= _safe(den)
        W *= num
        del num
        if not self.update_H:
            return W, H, None
        numH = (self._ratio(W, H).T @ W).T
        den = W.sum(axis=0)[:, None]
        if p.l1_H:
            den = den + p.l1_H
        if p.l2_H:
            den = den + p.l2_H * H
        numH /= _safe(den)
        H *= numH
        return W, H, None
