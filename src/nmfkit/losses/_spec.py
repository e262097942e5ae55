"""A model's loss, resolved once: a β-divergence, or the negative binomial with its dispersion.

:func:`resolve_loss` turns the user's ``loss`` (a name, an alias or β) and, for the
negative binomial, its ``dispersion`` into a :class:`LossSpec`; the fitting code asks
the spec for its terms (:meth:`LossSpec.terms`: a :class:`~nmfkit.losses.Term` or an
:class:`~nmfkit.losses.NBTerm`) and its value (:meth:`LossSpec.divergence`) instead of
branching on the loss itself.

A negative-binomial spec is either a **mode** (``"per_sample"`` / ``"global"``: α is
estimated by the fit) or **concrete** (α a positive number or one value per sample),
which is what the terms need; :meth:`LossSpec.with_dispersion` makes a concrete spec
from a mode and an estimate.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._beta import beta_divergence, loss_to_beta
from ._nb import NBTerm, nb_divergence
from ._target import Target
from ._term import Term

__all__ = ["LossSpec", "NB_NAMES", "DISPERSION_MODES", "is_nb", "check_dispersion", "resolve_loss",
           "as_loss"]

#: Spellings of the negative-binomial loss.
NB_NAMES = ("nb", "negative_binomial", "negative-binomial")
#: Dispersions a fit estimates (besides a fixed positive number or one per sample).
DISPERSION_MODES = ("per_sample", "global")


def is_nb(loss) -> bool:
    """Whether ``loss`` names the negative binomial (``"nb"`` / ``"negative_binomial"``)."""
    return isinstance(loss, str) and loss.lower() in NB_NAMES


def check_dispersion(value, name: str = "dispersion"):
    """``"per_sample"``, ``"global"``, a positive number, or a 1-D array of positive numbers."""
    from ..exceptions import NMFInputError

    if isinstance(value, str):
        if value in DISPERSION_MODES:
            return value
        raise NMFInputError(f"{name}={value!r} is not known; use 'per_sample', 'global', a number "
                            "> 0 (fixed) or an array of one value > 0 per sample")
    if isinstance(value, bool):
        raise NMFInputError(f"{name}={value!r} must be 'per_sample', 'global' or numbers > 0")
    if isinstance(value, numbers.Real):
        alpha = np.asarray(float(value))
    else:
        try:
            alpha = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise NMFInputError(f"{name}={value!r} must be 'per_sample', 'global', a number > 0 or "
                                "an array of numbers > 0 (one per sample)") from None
        if alpha.ndim != 1 or alpha.size == 0:
            raise NMFInputError(f"{name} as an array must be 1-D with one value per sample, got "
                                f"shape {alpha.shape}")
    if not np.all(np.isfinite(alpha)) or np.any(alpha <= 0):
        raise NMFInputError(f"{name} must be > 0 and finite (the NB size α; α → ∞ is Poisson: use "
                            "loss='kl' for that), got "
                            f"{value if alpha.ndim == 0 else 'an array with min %g' % alpha.min()}")
    return float(alpha) if alpha.ndim == 0 else alpha


@dataclass(frozen=True, eq=False)
class LossSpec:
    """The loss of one model: ``beta`` and, for the negative binomial, ``dispersion``.

    Attributes
    ----------
    beta : float
        The β-divergence, or 1 for the negative binomial (its update exponent and
        the β it tends to as α → ∞).
    dispersion : None, str, float or ndarray
        None for a β-divergence. For NB: a mode (``"per_sample"``, ``"global"``) or α
        itself (a number, or one value per sample: concrete).
    """

    beta: float
    dispersion: Any = None

    @property
    def nb(self) -> bool:
        return self.dispersion is not None

    @property
    def concrete(self) -> bool:
        """Whether the terms can be built (a β-divergence, or NB with numeric α)."""
        return not isinstance(self.dispersion, str)

    @property
    def name(self) -> str:
        return "nb" if self.nb else f"beta={self.beta:g}"

    def with_dispersion(self, alpha) -> "LossSpec":
        return LossSpec(1.0, alpha)

    def _alpha(self, target: Target):
        if isinstance(self.dispersion, str):
            raise ValueError(f"the NB dispersion is the mode {self.dispersion!r}, not a value; "
                             "estimate it first (LossSpec.with_dispersion)")
        a = self.dispersion
        m = target.shape[-2]
        if np.ndim(a) == 1 and a.shape[0] != m:
            from ..exceptions import NMFInputError

            raise NMFInputError(f"dispersion has {a.shape[0]} values but X has {m} samples; pass "
                                "one value per sample (row), one number, or 'per_sample'")
        return a

    def terms(self, target: Target, left: str = "W", right: str = "H") -> list:
        """The one data term ``D(X | state[left] @ state[right])`` of this loss."""
        if self.nb:
            return [NBTerm(target, self._alpha(target), 1.0, left, right)]
        return [Term(target, self.beta, 1.0, left, right)]

    def divergence(self, target: Target, W, H) -> float:
        """``D(X | W H)`` over the observed (weighted) entries: the NB or β-divergence."""
        if self.nb:
            return float(nb_divergence(target, W[None, ...], H[None, ...], self._alpha(target))[0])
        return float(beta_divergence(target, W, H, self.beta))

    def arguments(self) -> dict:
        """``loss`` / ``dispersion`` keyword arguments of :func:`nmfkit.nmf` for this loss."""
        if self.nb:
            return {"loss": "nb", "dispersion": self.dispersion}
        return {"loss": self.beta}


def resolve_loss(loss, dispersion="per_sample") -> LossSpec:
    """The :class:`LossSpec` of ``loss`` (any β-divergence spelling, or ``"nb"``).

    ``dispersion`` is checked (:func:`check_dispersion`) and kept only for NB.
    """
    if isinstance(loss, LossSpec):
        return loss
    if is_nb(loss):
        return LossSpec(1.0, check_dispersion(dispersion))
    return LossSpec(loss_to_beta(loss))


def as_loss(beta) -> LossSpec:
    """A :class:`LossSpec` from a spec or a β (what the core functions accept)."""
    return beta if isinstance(beta, LossSpec) else LossSpec(float(beta))
