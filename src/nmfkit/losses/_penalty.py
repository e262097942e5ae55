"""L1 / L2 penalties on the factors, scaled as in scikit-learn (>= 1.0)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Penalty"]


@dataclass(frozen=True)
class Penalty:
    r"""Penalty weights on W and H.

    The penalty added to the divergence is

    .. math::
        l1_W \|W\|_1 + \tfrac12 l2_W \|W\|_F^2 + l1_H \|H\|_1 + \tfrac12 l2_H \|H\|_F^2

    with :meth:`from_alphas` giving scikit-learn's scaling
    ``l1_W = alpha_W * l1_ratio * n_features`` (and ``n_samples`` for H), so the
    same ``alpha`` means the same thing on data of any size.
    """

    l1_W: float = 0.0
    l2_W: float = 0.0
    l1_H: float = 0.0
    l2_H: float = 0.0

    @classmethod
    def from_alphas(cls, alpha_W, alpha_H, l1_ratio, n_samples, n_features) -> "Penalty":
        alpha_H = alpha_W if alpha_H == "same" else alpha_H
        return cls(
            l1_W=float(alpha_W * l1_ratio * n_features),
            l2_W=float(alpha_W * (1.0 - l1_ratio) * n_features),
            l1_H=float(alpha_H * l1_ratio * n_samples),
            l2_H=float(alpha_H * (1.0 - l1_ratio) * n_samples),
        )

    @property
    def any(self) -> bool:
        return any((self.l1_W, self.l2_W, self.l1_H, self.l2_H))

    def transposed(self) -> "Penalty":
        """The same penalty with the roles of W and H swapped."""
        return Penalty(self.l1_H, self.l2_H, self.l1_W, self.l2_W)

    def value(self, W, H, backend) -> float:
        """The penalty's value at ``(W, H)``."""
        total = 0.0
        if self.l1_W:
            total += self.l1_W * backend.item(backend.sum(W))
        if self.l2_W:
            total += 0.5 * self.l2_W * backend.norm2(W)
        if self.l1_H:
            total += self.l1_H * backend.item(backend.sum(H))
        if self.l2_H:
            total += 0.5 * self.l2_H * backend.norm2(H)
        return total
