"""Diagnostics of a contrastive fit: usage enrichment, component order, degeneracy, references.

Read-only summaries of a fitted pair (no update math): the enrichment that orders the
components, the threshold that flags a degenerate KL restart, and the trivial model that
:func:`nmfkit.contrastive_path` measures explained shares against.
"""

from __future__ import annotations

import numpy as np

__all__ = ["KL_DEGENERATE", "enrichment", "order_by_enrichment", "trivial_divergence"]


def _row_totals(t, b) -> np.ndarray:
    """Each sample's total over all features, missing entries counted at the sample's mean."""
    m = t.shape[1]
    if t.sparse:
        return np.asarray(t.X.sum(axis=1)).ravel().astype(np.float64)
    tot = b.to_numpy(b.sum(t.MX, axis=1)).astype(np.float64)
    if t.M is None:
        return tot
    n_obs = b.to_numpy(b.sum(t.M, axis=1)).astype(np.float64)
    return tot * m / np.maximum(n_obs, 1)


def enrichment(W_X, W_Y, tX, tY, b) -> np.ndarray:
    r"""``log2`` of (mean usage in the target) / (mean usage in the background), per component.

    A sample's usage of component j is ``W_ij / Σ_f x_if``: the share of the sample's
    own total that the component reconstructs (rows of ``H`` sum to one, so
    ``Σ_f W_ij H_jf = W_ij``; missing entries count at the sample's mean). Usages are
    scale-free, so the enrichment depends neither on the data's scale nor on the
    numbers of samples; a pseudo-usage of ``1e-6`` keeps it finite.
    """
    def usage(W, t):
        W = b.to_numpy(W).astype(np.float64)
        tot = _row_totals(t, b)
        return (W / np.where(tot > 0, tot, np.inf)[:, None]).mean(axis=0)

    return np.log2((usage(W_X, tX) + 1e-6) / (usage(W_Y, tY) + 1e-6))


def order_by_enrichment(W_X, W_Y, H, enr, b, n_shared: int = 0):
    """Components after the ``n_shared`` background programs, by enrichment (largest first)."""
    order = np.r_[np.arange(n_shared), n_shared + np.argsort(-enr[n_shared:], kind="stable")]
    idx = b.index(order)
    return (b.contiguous(b.take(W_X, idx, axis=1)), b.contiguous(b.take(W_Y, idx, axis=1)),
            b.contiguous(b.take(H, idx, axis=0)), enr[order])


#: A KL fit is degenerate when its target term ``Σ x log(x/ŷ) / Σ x`` (totals are matched,
#: so this is the count-weighted mean log-ratio) exceeds ``log(100)``: the data-carrying
#: entries are reconstructed about 100 times too small, i.e. the basis sits on its floor.
KL_DEGENERATE = float(np.log(100.0))


def trivial_divergence(t, beta: float) -> float:
    """Divergence of a trivial model (the diagnostics' reference).

    Frobenius: the zero matrix (``½ Σ M X²``); KL: every sample reconstructed by its own
    mean over its observed entries (the zero matrix has infinite KL divergence).
    """
    b = t.backend
    if beta == 2:
        return 0.5 * t.norm2
    if t.sparse:
        X = t.X.toarray()
        M = np.ones_like(X)
    else:
        X, M = b.to_numpy(t.X), (np.ones(t.shape) if t.M is None else b.to_numpy(t.M))
    mean = (M * X).sum(axis=1) / np.maximum(M.sum(axis=1), 1)
    from scipy.special import xlogy

    R = np.maximum(mean[:, None], 1e-300)
    return float(np.sum(M * (xlogy(X, X / R) - X + R)))
