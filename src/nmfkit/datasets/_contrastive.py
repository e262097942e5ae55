r"""Count simulation of background-contrastive NMF (bcNMF, Li, Yang & Li 2026, ``generate_simulation.py``)."""

from __future__ import annotations

import numbers
from typing import NamedTuple, Optional

import numpy as np

from ..backends._random import check_random_state
from ..exceptions import NMFInputError

__all__ = ["ContrastiveCounts", "make_contrastive_counts"]

_G, _N, _K_SHARED, _K_TARGET = 3000, 1000, 5, 2


class ContrastiveCounts(NamedTuple):
    """Output of :func:`make_contrastive_counts` (samples as rows)."""

    X: np.ndarray
    """Target counts, (1000 cells, 3000 genes)."""
    Y: np.ndarray
    """Background counts, (1000 cells, 3000 genes)."""
    labels: np.ndarray
    """Target subtype of each target cell (0 or 1; 500 each): the truth to recover."""
    target_classes: np.ndarray
    """Shared (background) class of each target cell, 0..4."""
    background_classes: np.ndarray
    """Shared class of each background cell, 0..4."""
    H_shared: np.ndarray
    """True shared programs, (5, 3000) (the reference's ``W_shared_true``, transposed)."""
    H_target: np.ndarray
    """True target programs, (2, 3000) (``W_target_true``, transposed)."""
    beta: float
    """Scale of the shared programs."""
    seed: Optional[int]
    """The ``random_state`` the data came from, when it was an int."""

    def log_normalized(self, target_sum: Optional[float] = None):
        """``(X_log, Y_log)``: each cell scaled to ``target_sum`` counts, then ``log1p``.

        ``target_sum=None`` uses the median total count of all cells of both datasets
        (scanpy's ``normalize_total`` default), so one count weighs about the same
        whatever ``beta`` is; the reference used ``1e4``.
        """
        tx = self.X.sum(axis=1, keepdims=True)
        ty = self.Y.sum(axis=1, keepdims=True)
        if target_sum is None:
            target_sum = float(np.median(np.concatenate([tx.ravel(), ty.ravel()])))
        fx = target_sum / np.where(tx > 0, tx, 1.0)
        fy = target_sum / np.where(ty > 0, ty, 1.0)
        return np.log1p(self.X * fx), np.log1p(self.Y * fy)


def make_contrastive_counts(beta: float = 8.0, random_state=0, *,
                            dtype=np.float64) -> ContrastiveCounts:
    r"""The count simulation of the bcNMF paper: 2 target-only programs under 5 shared ones.

    3,000 genes; 1,000 target and 1,000 background cells. Shared program ``k``
    (k = 0..4) lives on genes ``250k … 250k+249`` with Gamma(2, 0.6) weights, target
    program ``k`` (k = 0, 1) on genes ``1250+120k … +119`` with Gamma(2, 0.9) weights;
    then dense noise Gamma(0.5, 0.01) is added to every shared-program entry and
    Gamma(0.5, 0.005) to every target-program entry (genes 1490-2999 carry noise
    only). Each target cell has a subtype (``labels``: 500 + 500, shuffled) and a
    shared class (0..4, uniform); each background cell a shared class. With library
    factors ``l ~ LogNormal(0, 0.35)``, gene noise ``g ~ Gamma(1, 1)`` and cell noise
    ``c ~ Gamma(1, 1)`` (drawn apart for X and Y):

    .. math::
        \mu_X = 0.15\, T h_t + 10\beta\, S h_x + 0.02 + 0.01\, g\, c_x, \qquad
        \mu_Y = 10\beta\, S h_y + 0.02 + 0.01\, g\, c_y,

    with one-hot codes ``h``, and ``X ~ Poisson(μ_X l_x)``, ``Y ~ Poisson(μ_Y l_y)``.
    The random draws follow the reference generator's order (programs: shared
    blocks, target blocks, shared noise, target noise; labels and their shuffle;
    target classes; background classes; ``l_x``; ``l_y``; ``g``; ``c_x``; ``c_y``;
    Poisson X; Poisson Y), with ``numpy.random.default_rng(random_state)``. The
    reference stores genes × cells; here cells are rows (``X`` is its transpose).

    The larger ``beta``, the more the shared programs drown the weak target ones:
    plain NMF or PCA of ``X`` then finds the shared classes, not the subtypes.

    Parameters
    ----------
    beta : float, default=8.0
        Scale of the shared programs, ``>= 0`` (the paper uses 0, 1, 2, 4, 8, 16).
    random_state : int, Generator or None, default=0
    dtype : numpy float dtype, default=float64
        Of the returned counts (the reference stores float32).

    Returns
    -------
    ContrastiveCounts
        ``X``, ``Y``, ``labels``, the classes and the true programs;
        :meth:`ContrastiveCounts.log_normalized` gives the usual preprocessing.

    Examples
    --------
    >>> from nmfkit.datasets import make_contrastive_counts
    >>> d = make_contrastive_counts(beta=8, random_state=0)
    >>> d.X.shape, d.Y.shape, int(d.labels.sum())
    ((1000, 3000), (1000, 3000), 500)
    """
    if (isinstance(beta, bool) or not isinstance(beta, numbers.Real) or not np.isfinite(beta)
            or beta < 0):
        raise NMFInputError(f"beta={beta!r} must be a finite number >= 0, e.g. beta=8")
    if np.dtype(dtype) not in (np.float32, np.float64):
        raise NMFInputError(f"dtype={dtype!r} must be float32 or float64")
    rng = check_random_state(random_state)
    G, N = _G, _N
    S = np.zeros((G, _K_SHARED))
    T = np.zeros((G, _K_TARGET))
    for k in range(_K_SHARED):
        S[250 * k: 250 * k + 250, k] = rng.gamma(2.0, 0.6, size=250)
    for k in range(_K_TARGET):
        T[1250 + 120 * k: 1250 + 120 * k + 120, k] = rng.gamma(2.0, 0.9, size=120)
    S += rng.gamma(0.5, 0.01, size=(G, _K_SHARED))
    T += rng.gamma(0.5, 0.005, size=(G, _K_TARGET))
    labels = np.repeat([0, 1], N // 2)
    rng.shuffle(labels)
    cx = rng.integers(0, _K_SHARED, size=N)
    cy = rng.integers(0, _K_SHARED, size=N)
    lib_x = rng.lognormal(0.0, 0.35, size=N)
    lib_y = rng.lognormal(0.0, 0.35, size=N)
    g = rng.gamma(1.0, 1.0, size=(G, 1))
    noise_x = rng.gamma(1.0, 1.0, size=(1, N))
    noise_y = rng.gamma(1.0, 1.0, size=(1, N))
    eye_t, eye_s = np.eye(_K_TARGET), np.eye(_K_SHARED)
    mu_x = 0.15 * T @ eye_t[labels].T + beta * 10 * S @ eye_s[cx].T + 0.02 + 0.01 * g @ noise_x
    mu_y = beta * 10 * S @ eye_s[cy].T + 0.02 + 0.01 * g @ noise_y
    X = rng.poisson(mu_x * lib_x[None, :])
    Y = rng.poisson(mu_y * lib_y[None, :])
    seed = int(random_state) if isinstance(random_state, numbers.Integral) else None
    return ContrastiveCounts(np.ascontiguousarray(X.T, dtype=dtype),
                             np.ascontiguousarray(Y.T, dtype=dtype), labels, cx, cy,
                             np.ascontiguousarray(S.T), np.ascontiguousarray(T.T), float(beta),
                             seed)
