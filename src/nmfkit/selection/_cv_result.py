"""The outcome of a rank cross-validation and the one-standard-error rule that reads it.

Split from :mod:`nmfkit.selection._cv` (which re-exports both names); see that module
for the cross-validation methods.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from ..exceptions import NMFInputError

__all__ = ["CVResult", "one_se_rule"]


def one_se_rule(ks: Sequence[int], entry_losses: dict, se_factor: float = 1.0) -> int:
    r"""The smallest k whose CV error is within ``se_factor`` standard errors of the minimum.

    With :math:`k^* = \arg\min_k \overline{d_k}` (mean held-out divergence), returns the
    smallest :math:`k \le k^*` with

    .. math::
        \overline{d_k - d_{k^*}} \le \mathrm{se\_factor} \cdot
        \frac{\operatorname{sd}(d_k - d_{k^*})}{\sqrt{|T|}},

    the differences taken entry by entry over the same held-out entries T (a paired
    standard error, far tighter than the standard error of each mean alone).

    Parameters
    ----------
    ks : sequence of int
    entry_losses : dict
        ``k -> ndarray`` of per-entry held-out divergences (same entries for every k).
    se_factor : float
        0 returns the minimiser itself.

    Returns
    -------
    int

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit.selection import one_se_rule
    >>> rng = np.random.default_rng(0)
    >>> base = rng.random(1000)
    >>> losses = {2: base + 1.0, 3: base + 0.001 * rng.standard_normal(1000), 4: base - 1e-5}
    >>> one_se_rule([2, 3, 4], losses)
    3
    """
    ks = sorted(int(k) for k in ks)
    means = {k: float(np.mean(entry_losses[k])) for k in ks}
    finite = [k for k in ks if np.isfinite(means[k])]
    if not finite:
        raise NMFInputError("every CV error is non-finite; check the input scale and the loss")
    kmin = min(finite, key=lambda k: means[k])
    for k in finite:
        if k >= kmin:
            break
        diff = np.asarray(entry_losses[k]) - np.asarray(entry_losses[kmin])
        se = diff.std(ddof=1) / np.sqrt(diff.size) if diff.size > 1 else 0.0
        if diff.mean() <= se_factor * se:
            return k
    return kmin


@dataclass(frozen=True)
class CVResult:
    """Cross-validation errors per rank (from :func:`speckled_cv` or :func:`bicv`).

    Attributes
    ----------
    method : {"speckled", "bicv"}
    ks : tuple of int
    error : ndarray
        Mean held-out divergence per entry, per k.
    se : ndarray
        Its standard error (sd of the per-entry values / sqrt(count)).
    train_error : ndarray
        Mean divergence per training entry of the same fits.
    entry_losses : dict
        ``k -> ndarray`` of per-entry held-out divergences (same entries for every k).
    elapsed : ndarray
        Seconds per k.
    params : dict
    """

    method: str
    ks: tuple
    error: np.ndarray
    se: np.ndarray
    train_error: np.ndarray
    entry_losses: dict = field(repr=False)
    elapsed: np.ndarray = field(repr=False)
    params: dict = field(default_factory=dict)

    @property
    def best_k(self) -> int:
        """:func:`one_se_rule` on the per-entry errors."""
        return one_se_rule(self.ks, self.entry_losses)

    @property
    def table(self):
        """Tidy DataFrame: k, error, se, train_error, time."""
        import pandas as pd

        return pd.DataFrame({"k": list(self.ks), "error": self.error, "se": self.se,
                             "train_error": self.train_error, "time": self.elapsed})
