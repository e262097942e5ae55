"""The one AnnData storage layout of an NMF result (used by ``nmfkit.tl``, ``nmfkit.pl`` and
:meth:`NMFResult.to_anndata` / :meth:`NMFResult.from_anndata`).

A result stored under ``key`` (``key_added`` of the ``nmfkit.tl`` functions, default
``"nmf"``) occupies exactly three entries, in scanpy's conventions (as ``sc.tl.pca``
stores ``obsm["X_pca"]``, ``varm["PCs"]`` and ``uns["pca"]``):

``adata.obsm[f"X_{key}"]``
    The codes ``W``, shape ``(n_obs, k)``. Rows of cells a model did not fit (e.g. cells
    in neither group of ``tl.contrastive_nmf``) are NaN.
``adata.varm[key.upper()]``
    The loadings ``H.T``, shape ``(n_vars, k)``; rows of features that were not used
    (e.g. not highly variable) are 0, as scanpy's PCA does.
``adata.uns[key]``
    A dict: ``"params"`` (the parameters actually used), ``"loss_history"``, ``"loss"``,
    ``"n_iter"``, ``"converged"``, ``"stop_reason"``, ``"beta"``, ``"solver"``,
    ``"elapsed"``, ``"features_used"`` (a bool array over ``var``) and
    ``"component_names"`` (:func:`nmfkit._result.component_names`), plus what a model
    adds. Everything is stored so that ``adata.write_h5ad`` / ``anndata.read_h5ad``
    keeps it: h5ad cannot store None, so None is stored as the string ``"None"`` (and
    read back as None by :func:`load`); tuples become arrays; tables become dicts of
    columns.

Nothing else of ``adata`` is touched. This module imports only NumPy and pandas (and
nmfkit's exceptions); it never imports anndata, it works on the object it is given.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .exceptions import NMFInputError

__all__ = ["obsm_key", "varm_key", "store", "load", "result_uns", "check_adata", "h5ad_safe",
           "from_h5ad", "NONE"]

#: How None is stored (h5ad has no None).
NONE = "None"


def obsm_key(key: str) -> str:
    """``obsm`` entry of the codes: ``f"X_{key}"``."""
    return f"X_{key}"


def varm_key(key: str) -> str:
    """``varm`` entry of the loadings: ``key.upper()``."""
    return str(key).upper()


def check_adata(adata: Any, name: str = "adata") -> None:
    """Raise NMFInputError unless ``adata`` looks like an ``anndata.AnnData``."""
    if not all(hasattr(adata, a) for a in ("obs", "var", "obsm", "varm", "uns", "layers")):
        raise NMFInputError(f"{name} must be an anndata.AnnData, got a {type(adata).__name__}; "
                            "build one with anndata.AnnData(X, obs=..., var=...)")


def h5ad_safe(value: Any) -> Any:
    """``value`` in a form ``write_h5ad`` stores and reads back (None → ``"None"``)."""
    if value is None:
        return NONE
    if isinstance(value, dict):
        return {str(k): h5ad_safe(v) for k, v in value.items()}
    if hasattr(value, "to_dict") and hasattr(value, "columns"):  # a DataFrame: dict of columns
        frame = value.reset_index() if value.index.name is not None else value
        return {str(c): h5ad_safe(frame[c].to_numpy()) for c in frame.columns}
    if isinstance(value, (bool, np.bool_, str, numbers.Number)):
        return value
    if isinstance(value, (list, tuple, np.ndarray)):
        array = np.asarray(value)
        if array.dtype.kind == "O":
            return np.asarray([NONE if v is None else str(v) for v in array.ravel()]).reshape(array.shape)
        return array
    return repr(value)  # e.g. a numpy Generator: its description


def from_h5ad(value: Any) -> Any:
    """Invert :func:`h5ad_safe` where it matters: ``"None"`` → None, in nested dicts too."""
    if isinstance(value, str) and value == NONE:
        return None
    if isinstance(value, dict):
        return {k: from_h5ad(v) for k, v in value.items()}
    return value


def _features_mask(features_used: Any, n_vars: int, n_used: int) -> np.ndarray:
    if features_used is None:
        mask = np.ones(n_vars, dtype=bool)
    else:
        mask = np.asarray(features_used, dtype=bool).ravel()
    if mask.shape[0] != n_vars or int(mask.sum()) != n_used:
        raise NMFInputError(f"features_used marks {int(mask.sum())} of {mask.shape[0]} features but the "
                            f"loadings have {n_used} features and adata has {n_vars} vars; pass one "
                            "bool per var, True for the features the model used")
    return mask


def result_uns(result: Any, params: dict, features_used: np.ndarray, names: list) -> dict:
    """The ``uns`` dict of an :class:`~nmfkit.NMFResult` (the fields listed in the module docstring)."""
    return {
        "params": dict(params),
        "loss": float(result.loss),
        "loss_history": np.asarray(result.loss_history, dtype=np.float64),
        "n_iter": int(result.n_iter),
        "converged": bool(result.converged),
        "stop_reason": str(result.stop_reason),
        "beta": float(result.beta),
        "solver": str(result.solver),
        "elapsed": float(result.elapsed),
        "features_used": np.asarray(features_used, dtype=bool),
        "component_names": np.asarray(names, dtype=str),
    }


def store(adata: Any, key: str, codes: Any, loadings: Any, uns: dict,
          features_used: Any = None) -> None:
    """Write codes ``(n_obs, k)``, loadings ``(k, n_used)`` and ``uns`` into ``adata`` under ``key``.

    ``features_used`` (bool over ``var``, None = all) says which rows of ``varm`` the
    loadings fill; the others are 0. Existing entries under ``key`` are replaced (as
    scanpy does); nothing else is changed.
    """
    check_adata(adata)
    codes = np.asarray(codes)
    loadings = np.asarray(loadings)
    n_obs, n_vars = adata.n_obs, adata.n_vars
    if codes.ndim != 2 or codes.shape[0] != n_obs:
        raise NMFInputError(f"the codes have shape {codes.shape} but adata has {n_obs} obs; "
                            "pass one row of codes per observation")
    if loadings.ndim != 2 or loadings.shape[0] != codes.shape[1]:
        raise NMFInputError(f"the loadings have shape {loadings.shape} but the codes have "
                            f"{codes.shape[1]} components; pass H of shape (k, n_features)")
    mask = _features_mask(features_used, n_vars, loadings.shape[1])
    full = np.zeros((n_vars, loadings.shape[0]), dtype=loadings.dtype)
    full[mask] = loadings.T
    entry = h5ad_safe(uns)
    entry["features_used"] = mask
    adata.obsm[obsm_key(key)] = codes
    adata.varm[varm_key(key)] = full
    adata.uns[key] = entry


def load(adata: Any, key: str = "nmf", *, what: str = "nmfkit.tl.nmf") -> tuple:
    """Read ``(codes (n_obs, k), loadings (k, n_used), features_used, uns)`` stored under ``key``.

    Raises NMFInputError naming the missing entry and the call that writes it.
    """
    check_adata(adata)
    entries = ((adata.obsm, "obsm", obsm_key(key)), (adata.varm, "varm", varm_key(key)), (adata.uns, "uns", key))
    missing = [f"{where}[{name!r}]" for mapping, where, name in entries if name not in mapping]
    if missing:
        have = sorted(k[2:] for k in adata.obsm.keys() if str(k).startswith("X_") and k[2:] in adata.uns)
        raise NMFInputError(f"adata has no nmfkit result under key={key!r} (missing {', '.join(missing)}; "
                            f"results present: {have}); run {what}(adata, ..., key_added={key!r}) first, "
                            "or pass the key it was stored under")
    uns = from_h5ad(dict(adata.uns[key]))
    codes = np.asarray(adata.obsm[obsm_key(key)])
    full = np.asarray(adata.varm[varm_key(key)])
    mask = np.asarray(uns.get("features_used", np.ones(adata.n_vars, dtype=bool)), dtype=bool)
    if mask.shape != (adata.n_vars,):
        # adata was subset along var after the fit (e.g. adata[:, adata.var.highly_variable]):
        # varm was sliced with it, uns was not. The features kept that the fit used are the
        # non-zero rows of the loadings (a fitted feature has a positive loading somewhere).
        if int(mask.sum()) < int(np.count_nonzero(full.any(axis=1))):
            raise NMFInputError(f"uns[{key!r}]['features_used'] has {mask.size} entries but adata has "
                                f"{adata.n_vars} vars, and the loadings do not say which were fitted; "
                                f"refit with {what}(adata, ..., key_added={key!r})")
        mask = full.any(axis=1)
    return codes, full[mask].T, mask, uns
