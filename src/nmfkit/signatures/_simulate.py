r"""Poisson mutational catalogs simulated from known signatures (for tests and benchmarks).

Each sample ``i`` gets a mutation burden :math:`m_i` (log-uniform between the bounds), a
mix :math:`\pi_i \sim \mathrm{Dirichlet}(a)` over the ``k`` signatures and counts

.. math::
    X_{if} \sim \mathrm{Poisson}\Big(m_i \sum_j \pi_{ij} S_{jf}\Big), \qquad \sum_f S_{jf} = 1 .
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from ..backends import to_numpy
from ..backends._random import check_random_state
from ..exceptions import NMFInputError
from ._catalog import SBS96_TYPES

__all__ = ["random_signatures", "simulate_catalog", "SimulatedCatalog"]


class SimulatedCatalog(NamedTuple):
    """A simulated catalog and its truth (unpacks as ``X, exposures, signatures``)."""

    X: pd.DataFrame
    """Counts, samples × 96 (float64 holding integers)."""
    exposures: np.ndarray
    """Expected mutations of each sample from each signature, samples × k (``X ≈ exposures @ signatures``)."""
    signatures: np.ndarray
    """The signatures, k × 96, rows summing to 1."""


def random_signatures(n_signatures: int, *, concentration: float = 0.1,
                      random_state=None) -> pd.DataFrame:
    """``n_signatures`` random SBS-96 signatures (rows ~ Dirichlet(concentration), sum 1).

    A small concentration gives peaked, nearly disjoint profiles (easy to tell apart);
    larger values give flat, overlapping ones such as SBS3/SBS5.
    """
    if not isinstance(n_signatures, (int, np.integer)) or n_signatures < 1:
        raise NMFInputError(f"n_signatures={n_signatures!r} must be a positive integer")
    rng = check_random_state(random_state)
    S = rng.dirichlet(np.full(96, float(concentration)), size=int(n_signatures))
    return pd.DataFrame(S, index=[f"sig{j + 1}" for j in range(len(S))], columns=list(SBS96_TYPES))


def simulate_catalog(signatures, n_samples: int, *, mutations=(500, 20000), concentration: float = 0.5,
                     noise: str = "poisson", dispersion: float = 10.0, hypermutated: int = 0,
                     hyper_factor=(20.0, 50.0), random_state=None) -> SimulatedCatalog:
    """Simulate counts for ``n_samples`` genomes from known ``signatures``.

    Parameters
    ----------
    signatures : array or DataFrame (k, 96)
        One signature per row (e.g. :func:`random_signatures` or rows of
        :func:`load_cosmic`); rows are normalised to sum 1.
    n_samples : int
    mutations : (low, high)
        Bounds of the per-sample mutation burden (log-uniform).
    concentration : float
        Dirichlet parameter of each sample's signature mix (small: one or two
        signatures dominate each sample).
    noise : {"poisson", "nb"}
        Poisson counts, or negative-binomial counts with size ``dispersion`` (variance
        ``μ + μ²/dispersion``: overdispersed, as real catalogs are).
    dispersion : float
        The NB size α (per entry, the same for every sample).
    hypermutated : int
        Number of samples whose burden is multiplied by a factor drawn log-uniformly
        from ``hyper_factor`` (the hypermutators SigProfiler's GMM cap is for).
    random_state : int, Generator or None

    Examples
    --------
    >>> from nmfkit.signatures import random_signatures, simulate_catalog
    >>> sim = simulate_catalog(random_signatures(3, random_state=0), 50, random_state=0)
    >>> sim.X.shape, sim.exposures.shape, sim.signatures.shape
    ((50, 96), (50, 3), (3, 96))
    """
    S = np.asarray(to_numpy(signatures), dtype=np.float64)
    if S.ndim != 2 or S.shape[1] != 96 or not np.isfinite(S).all() or (S < 0).any():
        raise NMFInputError(f"signatures must be a finite non-negative (k, 96) matrix, got shape {S.shape}")
    if (S.sum(axis=1) <= 0).any():
        raise NMFInputError("every signature needs a positive sum")
    if not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise NMFInputError(f"n_samples={n_samples!r} must be a positive integer")
    lo, hi = (float(m) for m in mutations)
    if not 0 < lo <= hi:
        raise NMFInputError(f"mutations={mutations!r} must be (low, high) with 0 < low <= high")
    rng = check_random_state(random_state)
    S = S / S.sum(axis=1, keepdims=True)
    if noise not in ("poisson", "nb"):
        raise NMFInputError(f"noise={noise!r}: use 'poisson' or 'nb'")
    if not (isinstance(hypermutated, (int, np.integer)) and 0 <= hypermutated <= n_samples):
        raise NMFInputError(f"hypermutated={hypermutated!r} must be an integer in 0..n_samples")
    burden = np.exp(rng.uniform(np.log(lo), np.log(hi), size=n_samples))
    if hypermutated:
        hyper = rng.choice(n_samples, size=hypermutated, replace=False)
        f_lo, f_hi = (float(f) for f in hyper_factor)
        burden[hyper] *= np.exp(rng.uniform(np.log(f_lo), np.log(f_hi), size=hypermutated))
    mix = rng.dirichlet(np.full(S.shape[0], float(concentration)), size=n_samples)
    E = burden[:, None] * mix
    mu = E @ S
    if noise == "poisson":
        X = rng.poisson(mu).astype(np.float64)
    else:
        if not dispersion > 0:
            raise NMFInputError(f"dispersion={dispersion!r} must be > 0")
        X = rng.negative_binomial(dispersion, dispersion / (dispersion + mu)).astype(np.float64)
    frame = pd.DataFrame(X, index=[f"sample{i + 1}" for i in range(n_samples)], columns=list(SBS96_TYPES))
    return SimulatedCatalog(frame, E, S)
