"""Pure math of the objectives: divergence values, gradient parts, penalties.

No loops over iterations and nothing above ``backends`` is imported here.
"""

from ._beta import (
    EPSILON,
    beta_divergence,
    elementwise_divergence,
    frobenius_from_products,
    grad_parts,
    loss_to_beta,
)
from ._penalty import Penalty
from ._target import Target

__all__ = [
    "EPSILON",
    "Penalty",
    "Target",
    "beta_divergence",
    "elementwise_divergence",
    "frobenius_from_products",
    "grad_parts",
    "loss_to_beta",
]
