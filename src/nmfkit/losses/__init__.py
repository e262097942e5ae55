"""Pure math of the objectives: divergence values, gradient parts, penalties.

No loops over iterations and nothing above ``backends`` is imported here.
"""

from ._beta import (
    EPSILON,
    beta_divergence,
    elementwise_divergence,
    frobenius_values,
    grad_parts,
    loss_to_beta,
)
from ._parts import left_parts, right_parts, safe_den, stacked_left, stacked_right
from ._nb import NBTerm, estimate_dispersion, nb_divergence, nb_loglik, nb_loglik_entries
from ._penalty import Penalty
from ._spec import LossSpec, as_loss, check_dispersion, is_nb, resolve_loss
from ._target import Target
from ._term import Term

__all__ = [
    "EPSILON",
    "Penalty",
    "Target",
    "Term",
    "NBTerm",
    "estimate_dispersion",
    "nb_divergence",
    "nb_loglik",
    "nb_loglik_entries",
    "LossSpec",
    "as_loss",
    "check_dispersion",
    "is_nb",
    "resolve_loss",
    "frobenius_values",
    "left_parts",
    "right_parts",
    "safe_den",
    "stacked_left",
    "stacked_right",
    "beta_divergence",
    "elementwise_divergence",
    "grad_parts",
    "loss_to_beta",
]
