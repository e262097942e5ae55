"""``nmfkit.tl.nmf``: NMF of an AnnData, stored in scanpy's conventions."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _anndata
from ..exceptions import NMFInputError
from .._result import component_names
from ._input import check_params, features_mask, matrix, target_adata

__all__ = ["nmf"]


def _backed_source(adata: Any, layer: str | None, mask: np.ndarray, batch_size: int):
    """A row source over the backed file (``open_rows``), columns ``mask`` taken block by block."""
    from ..io import open_rows

    source = open_rows(adata, layer=layer)
    if mask.all():
        return source
    cols = np.flatnonzero(mask)
    return open_rows(lambda: (block[:, cols] for _, block in source.blocks(batch_size)),
                     n_features=cols.size)


def _fit(adata: Any, n_components: int, layer: str | None, mask: np.ndarray, params: dict):
    """Fit NMF (in memory) or MiniBatchNMF (``batch_size`` given, or a backed AnnData)."""
    from ..models.minibatch import MiniBatchNMF
    from ..models.nmf import NMF

    backed = bool(getattr(adata, "isbacked", False))
    minibatch = backed or "batch_size" in params
    cls = MiniBatchNMF if minibatch else NMF
    params = check_params(params, cls, f"nmfkit.tl.nmf (model {cls.__name__})")
    model = cls(n_components, **params)
    if not backed:
        model.fit(matrix(adata, layer, mask))
        return model
    try:
        model.fit(_backed_source(adata, layer, mask, model.batch_size))
    except NMFInputError as err:
        if "non-negative" not in str(err):
            raise
        where = f"adata.layers[{layer!r}]" if layer else "adata.X"
        raise NMFInputError(f"{where} of the backed file has negative values ({err}); NMF needs raw, "
                            "non-negative values: pass layer= the raw counts (e.g. layer='counts'), not "
                            "scaled data") from err
    return model


def nmf(adata: Any, n_components: int, layer: str | None = None, use_highly_variable: bool | None = None,
        key_added: str = "nmf", copy: bool = False, **model_params: Any):
    """Non-negative matrix factorisation of an AnnData, stored as scanpy stores PCA.

    Fits ``X ≈ W H`` on ``adata.X`` (or ``adata.layers[layer]``; dense, scipy.sparse, or
    a backed file) over the cells × the features used, with :class:`nmfkit.NMF` (or
    :class:`nmfkit.MiniBatchNMF`, below), and stores

    - ``adata.obsm[f"X_{key_added}"]``: the codes ``W`` (n_obs, k);
    - ``adata.varm[key_added.upper()]``: the loadings ``H.T`` (n_vars, k), zero rows for
      features not used (not highly variable);
    - ``adata.uns[key_added]``: ``params`` (every model parameter used, with
      ``n_components``, ``layer``, ``use_highly_variable``, ``random_state``; None is
      stored as ``"None"``), ``loss``, ``loss_history``, ``n_iter``, ``converged``,
      ``stop_reason``, ``beta``, ``solver``, ``elapsed``, ``features_used`` (bool over
      var), ``component_names`` (``nmf0, nmf1, …``).

    Nothing else of ``adata`` changes. Everything stored survives ``write_h5ad`` /
    ``read_h5ad``; :meth:`nmfkit.NMFResult.from_anndata` reads the result back.

    Parameters
    ----------
    adata : anndata.AnnData
        Cells (obs) × features (var). Non-negative values, e.g. raw counts (integers are
        fine); log-normalised data work too, but scaled (centred) data have negative
        values and are refused.
    n_components : int
        The rank k.
    layer : str, optional
        Use ``adata.layers[layer]`` instead of ``adata.X``.
    use_highly_variable : bool, optional
        Fit only ``var["highly_variable"]`` features. None (default): if that column
        exists (scanpy's rule, e.g. after ``sc.pp.highly_variable_genes``).
    key_added : str, default="nmf"
        The key: ``X_nmf`` / ``NMF`` / ``nmf``. Entries under it are replaced.
    copy : bool, default=False
        Return a modified copy and leave ``adata`` untouched; otherwise write into
        ``adata`` and return None.
    **model_params
        Parameters of :class:`nmfkit.NMF` (``loss``, ``solver``, ``init``, ``max_iter``,
        ``tol``, ``random_state``, ``alpha_W``, …); an unknown name raises
        ``NMFInputError`` listing the accepted ones. With ``batch_size`` (or a backed
        AnnData, ``anndata.read_h5ad(path, backed="r")``) the fit is
        :class:`nmfkit.MiniBatchNMF`: a backed file is streamed block by block through
        :func:`nmfkit.io.open_rows`, never loaded whole (``max_iter`` counts epochs;
        with a highly-variable subset the blocks are read in order, not shuffled).

    Returns
    -------
    anndata.AnnData or None
        The copy with ``copy=True``, else None.

    Examples
    --------
    >>> import anndata, nmfkit
    >>> data = nmfkit.datasets.load_pbmc68k()
    >>> adata = anndata.AnnData(data.X, obs=data.obs, var=data.var)
    >>> nmfkit.tl.nmf(adata, 5, loss="kl", max_iter=50, random_state=0)
    >>> adata.obsm["X_nmf"].shape, adata.varm["NMF"].shape, adata.uns["nmf"]["params"]["loss"]
    ((700, 5), (765, 5), 'kl')
    """
    adata = target_adata(adata, copy)
    mask, used_hvg = features_mask(adata, use_highly_variable)
    model = _fit(adata, n_components, layer, mask, dict(model_params))
    result = model.result_
    params = {**model.get_params(deep=False), "layer": layer, "use_highly_variable": used_hvg,
              "model": type(model).__name__}
    uns = _anndata.result_uns(result, params, mask, component_names("nmf", result.H.shape[0]))
    _anndata.store(adata, key_added, np.asarray(result.W), np.asarray(result.H), uns, mask)
    return adata if copy else None
