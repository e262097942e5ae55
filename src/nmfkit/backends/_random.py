"""Seeded draws made in NumPy (so a seed gives the same numbers on every backend)."""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["check_random_state"]


def check_random_state(random_state) -> np.random.Generator:
    """A ``numpy.random.Generator`` from an int, a Generator, a RandomState or None."""
    if random_state is None:
        return np.random.default_rng()
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**31 - 1))
    from ..exceptions import NMFInputError

    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise NMFInputError(
                f"random_state={random_state!r} is negative; pass a seed >= 0 (e.g. 0), a numpy "
                "Generator, or None for a fresh random start"
            )
        return np.random.default_rng(int(random_state))

    raise NMFInputError(
        f"random_state={random_state!r} is not usable; pass an int seed, a numpy Generator or None"
    )
