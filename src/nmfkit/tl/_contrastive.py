"""``nmfkit.tl.contrastive_nmf``: background-contrastive NMF between groups of cells."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _anndata
from .._result import component_names
from ..exceptions import NMFInputError
from ._input import check_params, features_mask, group_rows, matrix, target_adata

__all__ = ["contrastive_nmf"]


def _padded(loadings: Any, mask: np.ndarray) -> np.ndarray:
    """``(n_vars, r)`` with the loadings' rows where ``mask``, 0 elsewhere."""
    loadings = np.asarray(loadings)
    full = np.zeros((mask.size, loadings.shape[0]), dtype=loadings.dtype)
    full[mask] = loadings.T
    return full


def contrastive_nmf(adata: Any, groupby: str, target: Any, background: Any, n_components: int = 2, *,
                    layer: str | None = None, use_highly_variable: bool | None = None,
                    key_added: str = "cnmf", copy: bool = False, **params: Any):
    """Background-contrastive NMF of one group of cells against another, stored in ``adata``.

    Fits :class:`nmfkit.ContrastiveNMF` with the cells whose ``obs[groupby]`` is in
    ``target`` as the target and those in ``background`` as the background: programs
    enriched in the target relative to the background. Stored in the layout of
    :func:`nmfkit.tl.nmf` (``obsm[f"X_{key_added}"]``, ``varm[key_added.upper()]``,
    ``uns[key_added]``) with:

    - codes: target cells' ``W_target`` and background cells' ``W_background`` rows;
      **cells in neither group are NaN rows**;
    - ``uns[key_added]`` adds ``alpha``, ``enrichment`` (log2 target/background usage per
      component), ``target_loss``, ``background_loss``, ``groupby``, ``target``,
      ``background``, ``target_mask`` (bool over obs), ``preprocess_used`` (the
      transform applied, ``"none"`` for none) and, with
      ``n_background_components``, ``background_programs`` (n_vars, n_bg; zero rows for
      features not used); ``params`` the ContrastiveNMF parameters used.

    Parameters
    ----------
    adata : anndata.AnnData
        In memory (a backed AnnData: load it with ``adata.to_memory()``).
    groupby : str
        Column of ``adata.obs`` holding the groups.
    target, background : str or list of str
        One category, or a list of categories, of ``obs[groupby]``; the two must not
        overlap.
    n_components : int, default=2
    layer, use_highly_variable, key_added, copy
        As in :func:`nmfkit.tl.nmf`.
    **params
        Parameters of :class:`nmfkit.ContrastiveNMF` (``alpha``, ``loss``,
        ``n_restarts``, ``max_iter``, ``n_background_components``, ``preprocess``,
        ``random_state``, …). ``preprocess`` defaults to ``"auto"``: raw counts (integer
        valued) and data rich in zeros (log-normalised expression: at least a tenth of
        the entries 0) are fitted as given, strictly positive levels (protein
        measurements) with ``"scale"`` (each feature shifted to minimum 0 and divided by its standard
        deviation, in target and background separately); the value used is
        ``uns[key_added]["preprocess_used"]``. For raw UMI counts in ``adata.X`` (or
        ``layer``) pass ``preprocess="log1p_cp10k"`` (each cell scaled to 10,000, then
        log1p: the recommended recipe, with the Frobenius loss and ``(k, alpha)`` from
        :func:`nmfkit.contrastive_path`, which takes the same ``preprocess``); to fit
        data exactly as given pass ``preprocess=None``.

    Returns
    -------
    anndata.AnnData or None
        The copy with ``copy=True``, else None.

    Examples
    --------
    >>> import anndata, nmfkit
    >>> data = nmfkit.datasets.load_pbmc68k()
    >>> adata = anndata.AnnData(data.X, obs=data.obs, var=data.var)
    >>> nmfkit.tl.contrastive_nmf(adata, "bulk_labels", "CD14+ Monocyte", "CD4+/CD25 T Reg", 2,
    ...                           n_restarts=1, max_iter=50, random_state=0)
    >>> adata.obsm["X_cnmf"].shape, adata.uns["cnmf"]["target"].tolist()
    ((700, 2), ['CD14+ Monocyte'])
    """
    from ..models.contrastive import ContrastiveNMF

    adata = target_adata(adata, copy)
    if getattr(adata, "isbacked", False):
        raise NMFInputError("tl.contrastive_nmf needs the matrix in memory; load the backed AnnData with "
                            "adata.to_memory() (or use tl.nmf, which streams a backed file)")
    rows_t, target = group_rows(adata, groupby, target, "target")
    rows_b, background = group_rows(adata, groupby, background, "background")
    if (rows_t & rows_b).any():
        raise NMFInputError(f"target {target} and background {background} share cells; pass disjoint "
                            f"categories of adata.obs[{groupby!r}]")
    mask, used_hvg = features_mask(adata, use_highly_variable)
    params = check_params(params, ContrastiveNMF, "nmfkit.tl.contrastive_nmf")
    X = matrix(adata, layer, mask)
    model = ContrastiveNMF(n_components, **params).fit(X[np.flatnonzero(rows_t)], X[np.flatnonzero(rows_b)])
    res = model.result_
    codes = np.full((adata.n_obs, res.H.shape[0]), np.nan)
    codes[rows_t] = np.asarray(res.W)
    codes[rows_b] = np.asarray(res.W_background)
    used = {**model.get_params(deep=False), "layer": layer, "use_highly_variable": used_hvg,
            "model": "ContrastiveNMF"}
    uns = _anndata.result_uns(res, used, mask, component_names("contrastivenmf", res.H.shape[0]))
    uns.update(alpha=float(res.alpha), enrichment=np.asarray(res.enrichment, dtype=float),
               target_loss=float(res.target_loss), background_loss=float(res.background_loss),
               groupby=str(groupby), target=np.asarray([str(g) for g in target]),
               background=np.asarray([str(g) for g in background]), target_mask=rows_t,
               preprocess_used="none" if model.preprocess_ is None else model.preprocess_)
    if res.H_shared is not None and np.asarray(res.H_shared).shape[0] > 0:
        uns["background_programs"] = _padded(res.H_shared, mask)
    _anndata.store(adata, key_added, codes, np.asarray(res.H), uns, mask)
    return adata if copy else None
