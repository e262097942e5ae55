"""Synthetic non-negative low-rank data with known ground truth."""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np

from ..backends._random import check_random_state
from ..exceptions import NMFInputError

__all__ = ["LowRankData", "make_low_rank"]

_KINDS = ("gaussian", "poisson")


class LowRankData(NamedTuple):
    """Data and ground truth from :func:`make_low_rank` (unpacks as ``X, W, H``)."""

    X: np.ndarray
    """Observed data, shape (n_samples, n_features), float64, non-negative."""
    W: np.ndarray
    """True coefficients, shape (n_samples, n_components)."""
    H: np.ndarray
    """True components, shape (n_components, n_features), each row summing to 1."""


def _check_count(value: object, name: str, default: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise NMFInputError(
            f"{name}={value!r} is not a positive integer; pass an int >= 1 (e.g. {name}={default})"
        )
    return int(value)


def make_low_rank(
    n_samples: int = 200,
    n_features: int = 100,
    n_components: int = 5,
    *,
    noise: float = 0.1,
    kind: str = "gaussian",
    random_state: int | np.random.Generator | None = None,
) -> LowRankData:
    r"""Generate a non-negative matrix of known rank plus noise.

    The ground truth is :math:`X_0 = W H` with :math:`W \in \mathbb{R}_+^{n \times k}`
    and :math:`H \in \mathbb{R}_+^{k \times m}`:

    - ``H`` is sparse-ish, so its rows are distinct and the factorisation is
      identifiable up to permutation: every feature has one "home" component
      (features are dealt out evenly over the components in random order) that
      gets an Exponential(1) weight, and every other entry is non-zero with
      probability 0.2 (also Exponential(1)). Each row of ``H`` is then scaled to
      sum to 1 and the scale moved into ``W``, so ``W @ H`` is unchanged.
    - ``W`` has i.i.d. Exponential(1) entries before that rescaling.

    The observation model depends on ``kind``:

    ``"gaussian"``
        :math:`X = \max(0,\ X_0 + \sigma \varepsilon)` with
        :math:`\varepsilon \sim N(0, 1)` i.i.d. and :math:`\sigma =`
        ``noise * std(X_0)``, so ``noise`` is the noise-to-signal ratio of
        standard deviations (``noise=0`` gives ``X = W @ H`` exactly). The
        clipping at zero is part of the generator, so that ``X`` is a valid NMF
        input; it slightly biases small entries upwards.
    ``"poisson"``
        :math:`X \sim \mathrm{Poisson}(W H)` counts, returned as float64. Here
        ``noise`` sets the count scale: ``W`` is rescaled so that the mean entry
        of ``W @ H`` is ``1 / noise**2``, so an entry of average size has a
        Poisson standard deviation of ``noise`` times its mean (``noise=0.1``:
        mean count 100; ``noise=1``: mean count 1, mostly zeros and ones).
        ``noise`` must be > 0. The returned ``W`` is the rescaled one, so
        ``E[X] = W @ H`` exactly.

    Parameters
    ----------
    n_samples, n_features : int, default=200, 100
        Shape of ``X``.
    n_components : int, default=5
        True rank ``k``; at most ``min(n_samples, n_features)``.
    noise : float, default=0.1
        Noise level, as described above; finite and >= 0 (> 0 for Poisson).
    kind : {"gaussian", "poisson"}, default="gaussian"
        Observation model.
    random_state : int, numpy.random.Generator or None, default=None
        Seed for :func:`numpy.random.default_rng`; the same seed gives the same
        data.

    Returns
    -------
    LowRankData
        Named tuple ``(X, W, H)`` of float64 arrays with shapes
        ``(n_samples, n_features)``, ``(n_samples, n_components)`` and
        ``(n_components, n_features)``.

    Raises
    ------
    NMFInputError
        If an argument is out of range or of the wrong type.

    Examples
    --------
    >>> from nmfkit.datasets import make_low_rank
    >>> X, W, H = make_low_rank(100, 40, 3, noise=0.05, random_state=0)
    >>> X.shape, W.shape, H.shape
    ((100, 40), (100, 3), (3, 40))
    >>> bool((X >= 0).all()), bool(abs(H.sum(axis=1) - 1).max() < 1e-12)
    (True, True)
    """
    n = _check_count(n_samples, "n_samples", 200)
    m = _check_count(n_features, "n_features", 100)
    k = _check_count(n_components, "n_components", 5)
    if k > min(n, m):
        raise NMFInputError(
            f"n_components={k} exceeds min(n_samples, n_features)={min(n, m)}, so the data "
            f"cannot have rank {k}; pass n_components <= {min(n, m)} or enlarge the matrix"
        )
    if kind not in _KINDS:
        raise NMFInputError(
            f"kind={kind!r} is not a known observation model; pass kind='gaussian' or kind='poisson'"
        )
    if (
        isinstance(noise, bool)
        or not isinstance(noise, numbers.Real)
        or not np.isfinite(noise)
        or noise < 0
    ):
        raise NMFInputError(
            f"noise={noise!r} is not a finite number >= 0; pass e.g. noise=0.1 "
            "(noise=0 gives noiseless Gaussian data)"
        )
    if kind == "poisson" and noise == 0:
        raise NMFInputError(
            "noise=0 with kind='poisson' would need infinite counts (mean count is 1/noise**2); "
            "pass noise > 0, e.g. noise=0.1 for a mean count of 100"
        )
    rng = check_random_state(random_state)

    home = rng.permutation(np.arange(m) % k)
    mask = rng.random((k, m)) < 0.2
    mask[home, np.arange(m)] = True
    H = rng.exponential(1.0, size=(k, m)) * mask
    W = rng.exponential(1.0, size=(n, k))
    scale = H.sum(axis=1)
    H /= scale[:, None]
    W *= scale[None, :]

    if kind == "gaussian":
        X0 = W @ H
        sigma = float(noise) * float(X0.std())
        X = np.maximum(X0 + sigma * rng.standard_normal((n, m)), 0.0)
    else:
        W *= (1.0 / float(noise) ** 2) / float((W @ H).mean())
        X = rng.poisson(W @ H).astype(np.float64)
    return LowRankData(X=X, W=W, H=H)
