r"""One term of a model's objective: ``w · D_β(X | A B)`` over named factor blocks.

Almost every model of the library minimises a weighted sum of such terms
(``../DESIGN.md``): plain NMF is one term, masked NMF one term with element weights,
background-contrastive NMF two terms sharing the basis with weights ``1/E_X`` and
``−α/E_Y``, a joint NMF several terms sharing a block. A :class:`Term` knows its data
(a :class:`~nmfkit.losses.Target`: dense or sparse, with element weights), its β, its
signed weight and the names of the two blocks it binds (``left`` ≈ A, ``right`` ≈ B in
``X ≈ A B``). It gives

* :meth:`Term.value`: ``w · D`` for every restart of a state, and
* :meth:`Term.parts`: the positive and negative parts of ``∇ (w · D)`` for either bound
  block (a negative weight swaps them), the only thing a multiplicative update needs.

A state is a mapping from block names to stacks with a leading restart axis:
``A`` (R, m, k), ``B`` (R, k, n).
"""

from __future__ import annotations

import numpy as np

from ._beta import beta_divergence, frobenius_values, stacked_divergences
from ._parts import _RatioBuffer, left_parts, right_parts, stacked_right
from ._target import REPLICATE, Target

__all__ = ["Term"]


class Term:
    """``weight · D_β(target | state[left] @ state[right])``.

    Parameters
    ----------
    target : Target
        The data (dense or sparse) and its element weights (0 = missing).
    beta : float
        The β of the divergence (2 Frobenius, 1 KL, 0 Itakura-Saito, any real).
    weight : float
        Signed weight ``w``; a negative weight makes the term a reward (its gradient
        parts swap in a multiplicative update).
    left, right : str
        Names of the blocks ``A`` (rows of ``X``) and ``B`` (columns of ``X``).
    """

    def __init__(self, target: Target, beta: float, weight: float = 1.0, left: str = "W",
                 right: str = "H"):
        self.target = target
        self.beta = float(beta)
        self.weight = float(weight)
        self.left, self.right = left, right
        self._buffer = _RatioBuffer() if target.sparse else None
        self._products = None  # (block, X-products) of the last Frobenius parts

    @property
    def blocks(self) -> tuple:
        return (self.left, self.right)

    def binds(self, block: str) -> bool:
        return block in (self.left, self.right)

    def unit(self) -> "Term":
        """The divergence alone (weight 1), sharing this term's sparse buffer: what a step
        that minimises the term's own fit in one block (e.g. best-fit codes) uses."""
        out = Term(self.target, self.beta, 1.0, self.left, self.right)
        out._buffer = self._buffer
        return out

    def target_of(self, state) -> Target:
        """The data of the restarts ``state`` holds: the target itself, or for a stacked
        target the rows named by ``state[REPLICATE]``."""
        t = self.target
        if not t.stacked:
            return t
        if REPLICATE not in state:
            raise ValueError(f"a term on a stacked target needs the state entry {REPLICATE!r} "
                             "(the index of each restart's data)")
        return t.select(state[REPLICATE])

    # -- gradient parts -----------------------------------------------------------------
    def raw_parts(self, state, block: str):
        """Unweighted ``(P, N)`` of ``∇_block D`` (shapes broadcastable to the block)."""
        if block not in (self.left, self.right):
            raise KeyError(f"term on ({self.left}, {self.right}) does not bind block {block!r}")
        A, B = state[self.left], state[self.right]
        t = self.target_of(state)
        parts = left_parts if block == self.left else right_parts
        P, N = parts(t, A, B, self.beta, self._buffer)
        if self.beta == 2 and t.M is None:
            self._products = (block, N)
        return P, N

    def parts(self, state, block: str):
        """``(P, N)`` of ``∇_block (w · D)``: scaled by ``|w|``, swapped for ``w < 0``."""
        P, N = self.raw_parts(state, block)
        w = self.weight
        if w < 0:
            P, N, w = N, P, -w
        if w != 1.0:
            P, N = P * w, N * w
        return P, N

    def caches(self, array) -> bool:
        """Whether ``array`` is the product this term keeps for :meth:`divergences_after`."""
        return self._products is not None and self._products[1] is array

    # -- values -------------------------------------------------------------------------
    def divergences(self, state) -> np.ndarray:
        """Unweighted ``D_β`` of every restart (float64 vector of length R)."""
        A, B = state[self.left], state[self.right]
        t = self.target_of(state)
        b = t.backend
        if self.beta == 2 and t.M is None:
            XBt = stacked_right(b, t.X, B)
            return frobenius_values(t, XBt, A, b.mT(A) @ A, B @ b.mT(B), B)
        if t.stacked:
            return stacked_divergences(t, A, B, self.beta)
        return np.array([beta_divergence(t, A[r, ...], B[r, ...], self.beta)
                         for r in range(A.shape[0])], dtype=np.float64)

    def value(self, state) -> np.ndarray:
        """``w · D_β`` of every restart."""
        return self.weight * self.divergences(state)

    def divergences_after(self, state, block: str):
        """``D_β`` at the current state from the products of the last :meth:`raw_parts`.

        Only for Frobenius without element weights, when the last parts were taken for
        ``block`` and the *other* block has not changed since: then ``X``'s products are
        still valid and the value costs O(R k (m + n)) instead of a pass over ``X``.
        Returns None when that does not apply.
        """
        if self._products is None or self._products[0] != block:
            return None
        _, N = self._products
        A, B = state[self.left], state[self.right]
        t = self.target_of(state)
        b = t.backend
        if block == self.left:
            return frobenius_values(t, N, A, b.mT(A) @ A, B @ b.mT(B), B)
        # N = Aᵀ X (R, k, n): the value of the transposed problem Xᵀ ≈ Bᵀ Aᵀ
        return frobenius_values(t.T, b.mT(N), b.mT(B), B @ b.mT(B), b.mT(A) @ A, b.mT(A))
