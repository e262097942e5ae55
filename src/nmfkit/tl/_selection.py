"""``nmfkit.tl.rank_search`` and ``nmfkit.tl.extract_signatures`` on an AnnData."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _anndata
from ..exceptions import NMFInputError
from ._input import check_params, features_mask, matrix, target_adata

__all__ = ["rank_search", "extract_signatures"]


def _in_memory(adata: Any, what: str) -> None:
    if getattr(adata, "isbacked", False):
        raise NMFInputError(f"tl.{what} needs the matrix in memory; load the backed AnnData with "
                            "adata.to_memory()")


def rank_search(adata: Any, ks: Any, *, layer: str | None = None, use_highly_variable: bool | None = None,
                key_added: str = "nmf_rank", copy: bool = False, **params: Any):
    """Choose the rank of an AnnData's NMF (:func:`nmfkit.selection.rank_search`), stored in ``uns``.

    Fits every k of ``ks`` several times on ``adata.X`` (or the layer; highly variable
    features as in :func:`nmfkit.tl.nmf`) and stores ``adata.uns[key_added]``: ``table``
    (the per-k table as a dict of columns ``k``, ``loss``, ``rel_error``, ``cv_error``,
    ``cv_se``, ``cophenetic``, … — ``pandas.DataFrame(adata.uns[key]["table"])``
    rebuilds it), ``best_k`` (``"None"`` when no rule applied, ``cv=None``), ``rule``,
    ``params`` and ``features_used``. No ``obsm`` / ``varm`` entry (fit the chosen k with
    :func:`nmfkit.tl.nmf`). Everything survives ``write_h5ad``.

    Parameters
    ----------
    adata : anndata.AnnData
    ks : iterable of int
        Candidate ranks.
    layer, use_highly_variable, key_added, copy
        As in :func:`nmfkit.tl.nmf`.
    **params
        Parameters of :func:`nmfkit.selection.rank_search` (``n_restarts``, ``loss``,
        ``cv``, ``rule``, ``max_iter``, ``random_state``, …).

    Returns
    -------
    RankSearchResult or (anndata.AnnData, RankSearchResult)
        The full result (restarts, consensus, stability, CV), which ``uns`` summarises;
        with ``copy=True`` the modified copy comes first.

    Examples
    --------
    >>> import anndata, nmfkit
    >>> X = nmfkit.datasets.make_low_rank(60, 30, 3, noise=0.1, random_state=0).X
    >>> adata = anndata.AnnData(X)
    >>> res = nmfkit.tl.rank_search(adata, [2, 3, 4], n_restarts=3, random_state=0)
    >>> int(adata.uns["nmf_rank"]["best_k"]) == res.best_k
    True
    """
    from ..selection import rank_search as search

    adata = target_adata(adata, copy)
    _in_memory(adata, "rank_search")
    params = check_params(params, search, "nmfkit.tl.rank_search", reserved=("client",))
    mask, used_hvg = features_mask(adata, use_highly_variable)
    res = search(matrix(adata, layer, mask), ks, **params)
    adata.uns[key_added] = _anndata.h5ad_safe({
        "table": res.table, "best_k": res.best_k, "rule": res.rule,
        "params": {**params, "ks": np.asarray(list(res.table["k"])), "layer": layer,
                   "use_highly_variable": used_hvg},
        "features_used": mask, "elapsed": float(res.elapsed)})
    return (adata, res) if copy else res


def _catalog(adata: Any, layer: str | None):
    """The catalog as types × samples (the orientation of ``signatures.extract``): the one conversion."""
    import pandas as pd
    import scipy.sparse as sp

    X = matrix(adata, layer, np.ones(adata.n_vars, dtype=bool))
    X = X.toarray() if sp.issparse(X) else np.asarray(X)
    return pd.DataFrame(X.T, index=[str(v) for v in adata.var_names],
                        columns=[str(v) for v in adata.obs_names])


def extract_signatures(adata: Any, ks: Any, *, layer: str | None = None, key_added: str = "signatures",
                       copy: bool = False, **params: Any):
    """Mutational signatures of a catalog stored as AnnData (:func:`nmfkit.signatures.extract`).

    ``adata`` holds samples as obs and the 96 mutation types as var (names such as
    ``A[C>A]A``, any order), counts in ``X`` or ``layer``. The matrix is converted
    **once, here**, to the types × samples DataFrame that ``extract`` reads (the
    literature's orientation). Stored at the chosen rank ``k``:

    - ``obsm[f"X_{key_added}"]``: exposures (n_obs, k), mutations per signature;
    - ``varm[key_added.upper()]``: the signatures (n_vars, k), each column on the
      simplex, rows in ``var_names`` order;
    - ``uns[key_added]``: ``table`` (the per-k table as a dict of columns with ``k``),
      ``k``, ``k_sigprofiler``, ``k_cv`` (``"None"`` without CV), ``rule``,
      ``component_names`` (``S1 … Sk``), ``features_used`` (all True), ``params``.

    Parameters
    ----------
    adata : anndata.AnnData
    ks : iterable of int
        Ranks to try.
    layer : str, optional
        Use ``adata.layers[layer]`` instead of ``X``.
    key_added : str, default="signatures"
    copy : bool, default=False
        Return a modified copy (then ``(adata, result)``) instead of writing in place.
    **params
        Parameters of :func:`nmfkit.signatures.extract` (``n_replicates``, ``loss``,
        ``rule``, ``cv_folds``, ``reference``, ``random_state``, …).

    Returns
    -------
    ExtractionResult or (anndata.AnnData, ExtractionResult)
        Every rank's solution; with ``copy=True`` the modified copy comes first.

    Examples
    --------
    >>> import anndata, nmfkit
    >>> data = nmfkit.datasets.load_breast_cancer_sbs96()
    >>> adata = anndata.AnnData(data.X, var=data.var)
    >>> res = nmfkit.tl.extract_signatures(adata, [2], n_replicates=3, cv_folds=0, max_iter=300,
    ...                                    reference=None, random_state=0)
    >>> adata.obsm["X_signatures"].shape, adata.varm["SIGNATURES"].shape
    ((21, 2), (96, 2))
    """
    from ..signatures import extract

    adata = target_adata(adata, copy)
    _in_memory(adata, "extract_signatures")
    params = check_params(params, extract, "nmfkit.tl.extract_signatures")
    res = extract(_catalog(adata, layer), ks, **params)
    sol = res.solution
    # read_catalog names the types as it normalises them (stripped, upper case): match on that
    var_names = [str(v).strip().upper() for v in adata.var_names]
    obs_names = [str(v) for v in adata.obs_names]
    exposures = sol.exposures.reindex(index=obs_names).to_numpy()
    signatures = sol.signatures.reindex(columns=var_names).to_numpy()
    if not (np.isfinite(exposures).all() and np.isfinite(signatures).all()):
        raise NMFInputError("the extraction's samples / mutation types do not match adata's obs_names / "
                            "var_names one to one; pass var names that are SBS-96 types (e.g. 'A[C>A]A'), "
                            "each once, and unique obs names")
    mask = np.ones(adata.n_vars, dtype=bool)
    uns = {"table": res.table, "k": int(res.k), "k_sigprofiler": int(res.k_sigprofiler), "k_cv": res.k_cv,
           "rule": res.rule, "component_names": np.asarray([str(v) for v in sol.signatures.index]),
           "params": {**{k: v for k, v in res.params.items() if k != "replicate_seeds"}, "layer": layer}}
    _anndata.store(adata, key_added, exposures, signatures, uns, mask)
    return (adata, res) if copy else res
