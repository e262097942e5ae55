"""What every ``nmfkit.tl`` function does with its AnnData before fitting: copy or not,
which features, which matrix (``X`` or a layer, dense, sparse or backed), which parameters."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._anndata import check_adata
from ..exceptions import NMFInputError

__all__ = ["target_adata", "features_mask", "matrix", "check_params", "where", "group_rows"]


def where(layer: str | None) -> str:
    """How the matrix is named in messages: ``adata.X`` or ``adata.layers['counts']``."""
    return "adata.X" if layer is None else f"adata.layers[{layer!r}]"


def target_adata(adata: Any, copy: bool) -> Any:
    """``adata`` itself, or its copy with ``copy=True`` (a backed AnnData cannot be copied here)."""
    check_adata(adata)
    if not copy:
        return adata
    if getattr(adata, "isbacked", False):
        raise NMFInputError("copy=True on a backed AnnData would load or duplicate its file; pass "
                            "copy=False (the result is stored in the in-memory obsm/varm/uns, the file "
                            "is not written), or load it first with adata.to_memory()")
    return adata.copy()


def features_mask(adata: Any, use_highly_variable: bool | None) -> tuple[np.ndarray, bool]:
    """``(mask over var, used_hvg)``: scanpy's rule, ``var["highly_variable"]`` if present
    when ``use_highly_variable`` is None."""
    has = "highly_variable" in adata.var.columns
    if use_highly_variable is None:
        use_highly_variable = has
    if not use_highly_variable:
        return np.ones(adata.n_vars, dtype=bool), False
    if not has:
        raise NMFInputError("use_highly_variable=True but adata.var has no 'highly_variable' column; run "
                            "scanpy.pp.highly_variable_genes(adata) first, or pass use_highly_variable=False")
    mask = np.asarray(adata.var["highly_variable"], dtype=bool)
    if not mask.any():
        raise NMFInputError("adata.var['highly_variable'] marks no feature; run "
                            "scanpy.pp.highly_variable_genes(adata) again or pass use_highly_variable=False")
    return mask, True


def _negative_error(layer: str | None) -> NMFInputError:
    fix = ("use raw counts, e.g. layer='counts' (store them before normalising and log-transforming: "
           "adata.layers['counts'] = adata.X.copy())" if layer is None else
           "pass a layer of non-negative values (raw counts), or layer=None for adata.X")
    return NMFInputError(f"{where(layer)} has negative values (e.g. after scaling or centring); NMF needs "
                         f"non-negative data: {fix}")


def matrix(adata: Any, layer: str | None, mask: np.ndarray) -> Any:
    """The in-memory matrix to fit: ``X`` or the layer, columns ``mask``, sparse kept sparse.

    Negative values raise NMFInputError naming the layer and the fix.
    """
    if layer is not None and layer not in adata.layers:
        raise NMFInputError(f"adata has no layer {layer!r} (layers: {sorted(adata.layers)}); pass one of "
                            "them, or layer=None for adata.X")
    X = adata.X if layer is None else adata.layers[layer]
    if X is None:
        raise NMFInputError("adata.X is None; pass layer= the name of a layer of counts "
                            f"(layers: {sorted(adata.layers)})")
    if not (isinstance(X, np.ndarray) or sp.issparse(X)):
        X = np.asarray(X)
    if not mask.all():
        X = X[:, np.flatnonzero(mask)]
    values = X.data if sp.issparse(X) else X
    if values.size and np.nanmin(values) < 0:
        raise _negative_error(layer)
    return X


def check_params(params: dict, target: Any, what: str, reserved: tuple = ()) -> dict:
    """Refuse parameter names that ``target`` (a class or function) does not take."""
    accepted = set(inspect.signature(target).parameters) - {"self", "X", "X_target", "X_background",
                                                            "catalog", "ks", "n_components"}
    bad = sorted((set(params) - accepted) | (set(params) & set(reserved)))
    if bad:
        raise NMFInputError(f"{what} got unknown or reserved parameter(s) {bad}; the model parameters it "
                            f"takes are {sorted(accepted - set(reserved))}")
    return dict(params)


def group_rows(adata: Any, groupby: str, groups: Any, name: str) -> tuple[np.ndarray, list]:
    """Boolean rows of ``obs[groupby]`` in ``groups`` (one category or a list)."""
    if groupby not in adata.obs.columns:
        raise NMFInputError(f"adata.obs has no column {groupby!r} (columns: {list(adata.obs.columns)}); pass "
                            "groupby= the column holding the groups")
    groups = [groups] if isinstance(groups, (str, int, float, np.generic)) else list(groups)
    column = adata.obs[groupby]
    present = set(column.unique())
    absent = [g for g in groups if g not in present]
    if absent or not groups:
        raise NMFInputError(f"{name}={absent or groups!r} not found in adata.obs[{groupby!r}] (values: "
                            f"{sorted(map(str, present))[:20]}); pass one of them or a list of them")
    return np.asarray(column.isin(groups)), groups
