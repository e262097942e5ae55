"""Checks of scalar parameters (the building blocks of the estimators' one parameter table).

Each raises :class:`~nmfkit.exceptions.NMFInputError` naming the argument, the problem and
the fix. Re-exported by :mod:`nmfkit._validation`.
"""

from __future__ import annotations

import numbers

import numpy as np

from .exceptions import NMFInputError

__all__ = ["BETA_NAMES", "check_choice", "check_loss", "check_n_components", "check_nonneg_float",
           "check_positive_int", "check_verbose"]


def check_n_components(k, shape, name: str = "n_components") -> int:
    """``1 <= k <= min(shape)``."""
    if not isinstance(k, numbers.Integral) or isinstance(k, bool):
        example = max(1, int(round(k))) if isinstance(k, numbers.Real) and np.isfinite(k) else 2
        raise NMFInputError(
            f"{name}={k!r} must be an integer (the rank k of the factorisation), not "
            f"{type(k).__name__}; pass a whole number, e.g. {name}={example}"
        )
    limit = min(shape)
    if k < 1 or k > limit:
        raise NMFInputError(
            f"{name}={k} is out of range for X of shape {tuple(shape)}; choose 1 <= {name} <= "
            f"min(n_samples, n_features) = {limit}"
        )
    return int(k)


def check_positive_int(value, name: str, allow_none: bool = False):
    if value is None and allow_none:
        return None
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise NMFInputError(f"{name}={value!r} must be a positive integer; pass an int >= 1")
    return int(value)


def check_nonneg_float(value, name: str, allow_none: bool = False):
    if value is None and allow_none:
        return None
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not np.isfinite(value) or value < 0:
        raise NMFInputError(f"{name}={value!r} must be a finite number >= 0; pass a float >= 0")
    return float(value)


def check_choice(value, name: str, options):
    """``value`` is one of ``options`` (compared with ``==``; None may be an option)."""
    if not any(value is o or (type(value) is type(o) and value == o) for o in options):
        raise NMFInputError(
            f"{name}={value!r} is not known; use one of {', '.join(map(repr, options))}"
        )
    return value


#: Canonical name of each β that has one (the aliases are in :func:`nmfkit.losses.loss_to_beta`).
BETA_NAMES = {2.0: "frobenius", 1.0: "kl", 0.0: "is"}


def check_loss(loss, model: str, allowed=None, nb: bool = False):
    """The β of ``loss`` (a name, an alias or a number), restricted to ``allowed`` betas.

    Every model accepts the same spellings ('frobenius'/'euclidean', 'kl'/
    'kullback-leibler'/'poisson', 'is'/'itakura-saito', or β itself); a model whose
    math covers only some βs names them in the error. The negative binomial
    ('nb' / 'negative_binomial') comes back as ``"nb"`` where the model takes it
    (``nb=True``) and is an error naming the models that do elsewhere.
    """
    from .losses import is_nb, loss_to_beta

    if is_nb(loss):
        if nb:
            return "nb"
        raise NMFInputError(
            f"loss={loss!r} (negative binomial) is not available for {model}; NMF, nmfkit.nmf, "
            "restarts, rank_search and speckled_cv take it; use 'kl' (Poisson) here"
        )
    beta = loss_to_beta(loss)
    if allowed is not None and beta not in allowed:
        names = " or ".join(repr(BETA_NAMES.get(b, b)) for b in allowed)
        raise NMFInputError(
            f"loss={loss!r} is not available for {model}; use {names} (or an alias of it)"
        )
    return beta


def check_verbose(value, name: str = "verbose") -> int:
    if not isinstance(value, numbers.Integral):
        raise NMFInputError(f"{name}={value!r} must be an integer (0 = silent); pass {name}=0 or "
                            f"{name}=1")
    return int(value)
