r"""The replicate data of signature extraction: multinomial resampling and the GMM cap.

SigProfilerExtractor (Islam et al., Cell Genomics 2022) fits every replicate to a
*resampled* catalog, each sample redrawn as ``Multinomial(n = its total, p = its
profile)``, and tames hypermutated samples by capping each sample's total at a cutoff
found from the totals by a Gaussian mixture (its ``"gmm"`` normalisation):

1. repeatedly fit a two-component Gaussian mixture to the totals and drop the
   component with fewer samples, until the two means are closer than 4 standard
   deviations of the larger component (or too few samples are left);
2. cutoff = mean + 2 sd of what remains, but at least ``100 × n_types`` (9,600 for
   SBS-96);
3. a sample whose total exceeds the cutoff is rescaled to total = cutoff.
"""

from __future__ import annotations

import numpy as np

__all__ = ["gmm_cutoff", "cap_totals", "resample_catalogs"]


def gmm_cutoff(totals, n_types: int = 96, random_state: int = 0) -> float:
    """The hypermutator cap of SigProfiler's ``"gmm"`` normalisation (module docstring).

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit.signatures._resample import gmm_cutoff
    >>> totals = np.r_[np.full(30, 5000.0) + np.arange(30) * 50, [400000.0, 600000.0]]
    >>> 9600 <= gmm_cutoff(totals) < 400000
    True
    """
    from sklearn.mixture import GaussianMixture

    x = np.asarray(totals, dtype=np.float64).reshape(-1)
    floor = 100.0 * n_types
    while x.size >= 4 and np.ptp(x) > 0:
        gm = GaussianMixture(2, random_state=random_state).fit(x[:, None])
        labels = gm.predict(x[:, None])
        sizes = np.bincount(labels, minlength=2)
        big = int(np.argmax(sizes))
        means = gm.means_.ravel()
        sd_big = float(np.sqrt(gm.covariances_.ravel()[big]))
        if sizes.min() == 0 or abs(means[0] - means[1]) < 4.0 * sd_big:
            break
        x = x[labels == big]
    return float(max(x.mean() + 2.0 * x.std(), floor))


def cap_totals(X: np.ndarray, cutoff: float) -> np.ndarray:
    """Rows (samples) of ``X`` with a total above ``cutoff`` rescaled to total = cutoff.

    ``X`` may carry a leading replicate axis; works on a copy.
    """
    totals = X.sum(axis=-1, keepdims=True)
    scale = np.where(totals > cutoff, cutoff / np.maximum(totals, 1e-300), 1.0)
    return X * scale


def resample_catalogs(X: np.ndarray, seeds, *, resample: bool = True, cutoff=None,
                      floor: float = 1e-4, dtype=np.float64) -> np.ndarray:
    """The (R, n_samples, n_types) stack of replicate catalogs.

    Replicate ``r`` redraws every sample as ``Multinomial(total, profile)`` with the
    generator seeded by ``seeds[r]`` (so a replicate's noise is the same at every rank),
    then applies the ``cutoff`` cap (None: none) and floors entries at ``floor`` (as
    SigProfiler does, so that no count is exactly zero for the multiplicative updates).
    ``resample=False`` repeats ``X`` itself (only the starts differ between replicates).
    """
    X = np.asarray(X, dtype=np.float64)
    totals = X.sum(axis=1)
    safe = np.maximum(totals, 1e-300)[:, None]
    profiles = X / safe
    counts = np.rint(totals).astype(np.int64)
    out = np.empty((len(seeds),) + X.shape, dtype=dtype)
    for r, seed in enumerate(seeds):
        if resample:
            rng = np.random.default_rng(seed)
            Xr = rng.multinomial(counts, profiles).astype(np.float64)
        else:
            Xr = X.copy()
        if cutoff is not None:
            Xr = cap_totals(Xr, cutoff)
        out[r] = np.maximum(Xr, floor)
    return out
