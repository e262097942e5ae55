"""One data term ``X`` (dense, or sparse with its pattern) with optional element weights."""

from __future__ import annotations

import weakref

from ..backends import Backend, is_sparse
from ..backends._sparse import SparseInfo

__all__ = ["Target", "REPLICATE"]

#: Key of the state entry holding, per restart of a (sub-)state, its index into a
#: stacked target (an integer vector of length R).
REPLICATE = "replicate"


class Target:
    """The matrix a divergence term compares with ``A @ B``.

    Parameters
    ----------
    X : dense backend array or scipy.sparse matrix, shape (m, n); or dense (R, m, n)
        Finite and non-negative; unobserved entries hold 0 (their weight is 0). A dense
        3-D ``X`` is a **stacked** target: one data matrix per restart of the state
        (e.g. the resampled catalogs of signature extraction's replicates), restart r
        fitted to ``X[r]``. A term on a stacked target reads which restarts a (sub-)state
        holds from its :data:`REPLICATE` entry (the loop subsets it with the blocks).
    weights : dense backend array of shape (m, n) (or (R, m, n) when stacked), or None
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
        self.stacked = not self.sparse and len(self.X.shape) == 3
        self.shape = tuple(self.X.shape)
        self._MX = None
        self._norm2 = None
        self._T = None
        self._selected = None  # (rows, Target) of the last select()
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
        """``Σ M ⊙ X²``, cached (a float64 vector of length R for a stacked target); a
        transposed target takes its parent's (one value whichever is asked first, so that
        a resumed fit's objectives equal an uninterrupted one's bit for bit)."""
        if self._norm2 is None:
            parent = self._parent() if self._parent is not None else None
            if parent is not None:
                self._norm2 = parent.norm2
            elif self.stacked:
                b = self.backend
                self._norm2 = b.to_numpy(b.sum(self.MX * self.X, axis=(1, 2))).astype("float64")
            elif self.M is None:
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
            b = self.backend
            if self.sparse:
                Xt = self.info.T
            else:
                Xt = b.mT(self.X) if self.stacked else self.X.T
            Mt = None if self.M is None else (b.mT(self.M) if self.stacked else self.M.T)
            self._T = Target(Xt, Mt, self.backend, _transpose_of=self)
            if self._norm2 is not None:
                self._T._norm2 = self._norm2
        return self._T

    def select(self, rows) -> "Target":
        """The stacked target restricted to the restarts ``rows`` (itself when all)."""
        if not self.stacked:
            return self
        b = self.backend
        rows_np = b.to_numpy(rows).astype("int64").reshape(-1)
        if rows_np.size == self.shape[0] and (rows_np == range(self.shape[0])).all():
            return self
        key = rows_np.tobytes()
        if self._selected is not None and self._selected[0] == key:
            return self._selected[1]
        sub = Target(b.take(self.X, rows_np), None if self.M is None else b.take(self.M, rows_np), b)
        self._selected = (key, sub)
        return sub

    def replicate(self, r: int) -> "Target":
        """Restart ``r``'s own (2-D) target of a stacked target."""
        return Target(self.X[r], None if self.M is None else self.M[r], self.backend)

    @property
    def n_observed(self) -> float:
        """Total weight (number of observed entries when weights are 0/1)."""
        if self.M is None:
            return float(self.shape[0] * self.shape[1])
        return float(self.backend.item(self.backend.sum(self.M)))
