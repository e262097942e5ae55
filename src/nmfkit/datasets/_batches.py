"""Two pseudo-batches of the bundled PBMC cells with a simulated gene-wise batch effect."""

from __future__ import annotations

import numpy as np
from sklearn.utils import Bunch

from ..backends._random import check_random_state

__all__ = ["make_pbmc_batches"]


def make_pbmc_batches(sd: float = 0.7, random_state=0) -> Bunch:
    """The 700 PBMC cells in two seeded random halves, the second with a batch effect.

    The second half's counts are multiplied gene-wise by ``exp(N(0, sd²))``; then every
    cell is library-size normalised (to 10⁴), ``log1p``-transformed, and each gene divided
    by its root mean square over *all* cells (scaled, not centred). Dividing by each
    gene's RMS *within* each batch (LIGER's scaling) would cancel a purely gene-wise
    effect before any model sees it (plain NMF then already mixes the batches, score
    0.98), so the pooled scaling is what leaves something to integrate.

    Returns
    -------
    Bunch
        ``X`` (700, 765) float64, ``batch`` (700,) of 0 / 1, ``labels`` (700,) the cell
        types (``bulk_labels`` of :func:`load_pbmc68k`), ``description``, ``attribution``.

    Examples
    --------
    >>> from nmfkit.datasets import make_pbmc_batches
    >>> d = make_pbmc_batches(random_state=0)
    >>> d.X.shape, int(d.batch.sum())
    ((700, 765), 350)
    """
    from ._real import load_pbmc68k

    data = load_pbmc68k()
    X = data.X.toarray()
    rng = check_random_state(random_state)
    batch = np.zeros(X.shape[0], dtype=int)
    batch[rng.permutation(X.shape[0])[: X.shape[0] // 2]] = 1
    X[batch == 1] *= np.exp(rng.normal(0.0, sd, X.shape[1]))
    L = np.log1p(1e4 * X / X.sum(axis=1, keepdims=True))
    rms = np.sqrt((L**2).mean(axis=0))
    return Bunch(X=L / np.where(rms > 0, rms, 1.0), batch=batch,
                 labels=data.obs["bulk_labels"].to_numpy(),
                 description=(f"PBMC 68k subset in two pseudo-batches, the second with a gene-wise "
                              f"batch effect exp(N(0, {sd}^2));\nlog1p of library-size-normalised "
                              "counts, genes scaled by their pooled RMS."),
                 attribution=data.attribution)
