"""One data term ``X`` (dense, or sparse with its pattern) with optional element weights."""

from __future__ import annotations

import weakref

from ..backends import Backend, is_sparse
from ..backends._sparse import SparseInfo

__all__ = ["Target"]


class Target:
    """The matrix a divergence term compares with ``A @ B``.

    Parameters
    ----------
    X : dense backend array or scipy.sparse matrix, shape (m, n)
        Finite and non-negative; unobserved entries hold 0 (their weight is 0).
    weights : dense backend array of shape (m, n), or None
        Element weights ``M >= 0``; ``None`` means every entry has weight 1.
    backend : Backend

    Notes
    -----
    ``Target.T`` is the same term for the transposed problem ``Xᵀ ≈ Bᵀ Aᵀ``: the H
    update of a solver is the W update of the transposed target, so every
    gradient formula is written once, for the left factor.
    """

    def __init__(self, X, weights, backend: Backend, _transpose_of=None):
        self.backend = backend
        self.sparse = is_sparse(X) or isinstance(X, SparseInfo)
        if self.sparse:
            if weights is not None:
                raise ValueError("sparse targets take no weights; densify X first")
            self.info = X if isinstance(X, SparseInfo) else SparseInfo(X)
            self.X = self.info.X
        else:
            self.info = None
            self.X = X
        self.M = weights
        self.shape = tuple(self.X.shape)
        self._MX = None
        self._norm2 = None
        self._T = None
        # the transposed term refers back to its parent weakly: a strong cycle would keep
        # every mini-batch's data alive until the cyclic garbage collector runs
        self._parent = None if _transpose_of is None else weakref.ref(_transpose_of)

    @property
    def MX(self):
        """``M ⊙ X`` (``X`` when there are no weights), cached once for both orientations."""
        if self.M is None:
            return self.X
        if self._MX is None:
            parent = self._parent() if self._parent is not None else None
            self._MX = parent.MX.T if parent is not None else self.M * self.X
        return self._MX

    @property
    def norm2(self) -> float:
        """``Σ M ⊙ X²``, cached."""
        if self._norm2 is None:
            if self.M is None:
                self._norm2 = self.backend.norm2(self.X)
            else:
                self._norm2 = self.backend.vdot(self.MX, self.X)
        return self._norm2

    @property
    def T(self) -> "Target":
        """The transposed term (cached; shares memory where the backend allows)."""
        parent = self._parent() if self._parent is not None else None
        if parent is not None:
            return parent
        if self._T is None:
            if self.sparse:
                Xt = self.info.T
            else:
                Xt = self.X.T
            Mt = None if self.M is None else self.M.T
            self._T = Target(Xt, Mt, self.backend, _transpose_of=self)
            if self._norm2 is not None:
                self._T._norm2 = self._norm2
        return self._T

    @property
    def n_observed(self) -> float:
        """Total weight (number of observed entries when weights are 0/1)."""
        if self.M is None:
            return float(self.shape[0] * self.shape[1])
        return float(self.backend.item(self.backend.sum(self.M)))
