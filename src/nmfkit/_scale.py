"""Data far from unit scale: measured, rescaled by a power of two, or refused.

The solvers floor ``W H`` at an absolute ``1.2e-7`` (:data:`nmfkit.losses.EPSILON`) where
they divide by it, and square the data in Gram products, so a matrix whose largest entry
is ~1e-8 (KL) or 1e-300 fits to zero and one at 1e300 overflows.
:func:`~nmfkit._validation.check_data` measures the largest observed entry on its one
pass; models that rescale (``FactorModel._rescale``) divide by :func:`data_scale` and
multiply back (:mod:`nmfkit.models._rescale`); everything else calls :func:`check_scale`.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np

from .exceptions import NMFInputError

__all__ = ["COMFORT_RANGE", "SAFE_RANGE", "data_scale", "check_scale", "rescale_data"]

#: Largest entries in this range are fitted as they are; outside it, models that rescale
#: (``FactorModel._rescale``) divide X by a power of two (exact) and multiply back.
COMFORT_RANGE = (2.0 ** -10, 2.0 ** 40)
#: Largest entries the solvers handle without rescaling, per dtype: below the low end the
#: solvers' absolute floor (``losses.EPSILON`` ~ 1.2e-7) swamps the data (KL/IS fits go
#: to zero); above the high end squares and Gram products overflow.
SAFE_RANGE = {np.dtype(np.float64): (2.0 ** -20, 2.0 ** 60),
              np.dtype(np.float32): (2.0 ** -20, 2.0 ** 40)}


def data_scale(max_value) -> float:
    """The power of two ``s`` that brings ``max_value`` into ``[0.5, 1)``, or 1 in range.

    Dividing by a power of two is exact in floating point, so ``X / s`` loses nothing
    (unless ``X`` holds subnormal numbers).

    Examples
    --------
    >>> from nmfkit._scale import data_scale
    >>> data_scale(3.0), data_scale(1e-300) < 1e-299, data_scale(1e300) > 1e299
    (1.0, True, True)
    """
    if max_value is None or not np.isfinite(max_value) or max_value <= 0:
        return 1.0
    lo, hi = COMFORT_RANGE
    if lo <= max_value <= hi:
        return 1.0
    return math.ldexp(1.0, math.frexp(float(max_value))[1])


def check_scale(max_value, dtype, name: str = "X", model: Optional[str] = None) -> None:
    """Refuse data whose largest entry lies outside :data:`SAFE_RANGE` for its dtype.

    Raises
    ------
    NMFInputError
        Naming the largest entry, the range and the fix (divide by ``X.max()`` and
        multiply the codes back, or use :class:`nmfkit.NMF`, which rescales itself).
    """
    if max_value is None:
        return
    lo, hi = SAFE_RANGE.get(np.dtype(dtype), SAFE_RANGE[np.dtype(np.float64)])
    if lo <= max_value <= hi:
        return
    who = model or "this function"
    why = ("below the solvers' floor of 1.2e-07, so the fit would be zero"
           if max_value < lo else "so large that products of the data overflow")
    raise NMFInputError(
        f"{name} is far from unit scale: its largest entry is {max_value:.3g} ({np.dtype(dtype)}), "
        f"{why}; {who} does not rescale by itself (it takes largest entries in "
        f"[{lo:.3g}, {hi:.3g}]): pass {name} / {name}.max() and multiply the codes (W) back by "
        f"that factor, or use nmfkit.NMF / nmfkit.nmf, which rescale internally"
    )


def rescale_data(data, scale: float):
    """A :class:`~nmfkit._validation.CheckedData` with its values divided by ``scale`` (a
    power of two: exact)."""
    if scale == 1.0:
        return data
    from dataclasses import replace

    max_value = None if data.max_value is None else data.max_value / scale
    values = data.values
    e = -math.frexp(scale)[1] + 1  # values * 2**e, in steps a float32 factor can hold
    while e:
        step = max(-100, min(100, e))
        values = values * math.ldexp(1.0, step)
        e -= step
    return replace(data, values=values, max_value=max_value, scale=scale)
