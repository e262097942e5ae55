"""The one result type: every solver and every functional form returns an ``NMFResult``.

Models with more outputs return a subclass that adds fields (e.g.
:class:`ContrastiveResult`), so code written for ``NMFResult`` (plotting, ``io``) works
on all of them. Components are named by :func:`component_names`, the one naming scheme
of the library and the command line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["NMFResult", "ContrastiveResult", "component_names"]


def component_names(prefix: str, k: int) -> list:
    """The names of ``k`` components: ``prefix0, prefix1, ...``.

    The one scheme, scikit-learn's ``get_feature_names_out`` (the lowercased
    estimator name and a 0-based index): ``nmf0`` for :class:`~nmfkit.NMF` and
    :func:`~nmfkit.nmf`, ``contrastivenmf0`` for the contrastive components and
    ``contrastivenmf_bg0`` for its background programs, and so on. Every DataFrame
    the library labels and every table the command line writes uses it.
    """
    return [f"{prefix}{j}" for j in range(int(k))]


@dataclass(frozen=True)
class NMFResult:
    """Outcome of one factorisation ``X ≈ W H``.

    Attributes
    ----------
    W : array or DataFrame, shape (n_samples, n_components)
        Coefficients (codes) of each sample. A DataFrame when ``X`` was one
        (index = ``X.index``); otherwise the array type of ``X`` (NumPy, or a torch
        tensor on ``X``'s device).
    H : array or DataFrame, shape (n_components, n_features)
        The basis (components); a DataFrame (columns = ``X.columns``) when ``X``
        was one.
    loss : float
        Final objective: the divergence ``D_beta(X | W H)`` over observed entries
        plus penalties (see :func:`nmfkit.nmf` for the exact form).
    loss_history : tuple of float
        Objective after initialisation (entry 0) and at each evaluated iteration.
    n_iter : int
        Outer iterations run.
    converged : bool
        True when the relative decrease fell below ``tol``.
    stop_reason : str
        ``"tol"``, ``"max_iter"``, ``"max_time"``, ``"callback"``, ``"nonfinite"`` (the
        objective became NaN/inf) or ``"interrupted"`` (Ctrl-C: the factors are the last
        iterate, the loop's one KeyboardInterrupt handler keeps them).
    elapsed : float
        Wall-clock seconds spent in the iteration loop.
    beta : float
        The beta of the divergence (2 Frobenius, 1 KL, 0 Itakura-Saito).
    solver : str
        The solver that ran (``"mu"`` or ``"hals"``).
    info : dict
        Extra, solver-specific details (e.g. the iterations at which the loss was
        evaluated).
    """

    W: Any
    H: Any
    loss: float
    loss_history: tuple
    n_iter: int
    converged: bool
    stop_reason: str
    elapsed: float
    beta: float = 2.0
    solver: str = ""
    info: dict = field(default_factory=dict)

    @property
    def n_components(self) -> int:
        return int(self.H.shape[0])

    @property
    def reconstruction_err(self) -> float:
        """``sqrt(2 * D_beta)`` without penalties, as scikit-learn reports it."""
        return float(self.info.get("reconstruction_err", float("nan")))

    # -- round trips (AnnData and DataFrames; anndata and pandas imported only here) --------
    def to_frames(self, sample_names=None, feature_names=None) -> tuple:
        """``(W, H)`` as DataFrames, components named by :func:`component_names` (``nmf0, …``).

        Names default to the index / columns of ``W`` / ``H`` when they are DataFrames, else
        the labels the result keeps in ``info`` (``row_names`` / ``col_names``, as
        :func:`nmfkit.io.load_result` and :meth:`from_anndata` set them), else ``0, 1, …``. :meth:`from_frames` reads them back.

        Examples
        --------
        >>> import numpy as np
        >>> from nmfkit import NMFResult
        >>> res = NMFResult.from_frames(np.ones((3, 2)), np.ones((2, 4)))
        >>> W, H = res.to_frames(sample_names=["a", "b", "c"])
        >>> list(W.columns), list(W.index), H.shape
        (['nmf0', 'nmf1'], ['a', 'b', 'c'], (2, 4))
        """
        import pandas as pd

        from .backends import to_numpy

        info = self.info or {}

        def names(obj, axis, given, stored, size):
            if given is not None:
                return list(given)
            if isinstance(obj, pd.DataFrame):
                return list(obj.index if axis == 0 else obj.columns)
            kept = info.get(stored)  # io.load_result / from_anndata keep the labels here
            return [str(v) for v in kept] if kept is not None and len(kept) == size else None

        W = self.W.to_numpy() if isinstance(self.W, pd.DataFrame) else to_numpy(self.W)
        H = self.H.to_numpy() if isinstance(self.H, pd.DataFrame) else to_numpy(self.H)
        comps = (list(self.W.columns) if isinstance(self.W, pd.DataFrame)
                 else names(None, 1, None, "component_names", H.shape[0]))
        comps = comps or component_names("nmf", H.shape[0])
        return (pd.DataFrame(W, index=names(self.W, 0, sample_names, "row_names", W.shape[0]), columns=comps),
                pd.DataFrame(H, index=comps, columns=names(self.H, 1, feature_names, "col_names", H.shape[1])))

    @classmethod
    def from_frames(cls, W, H, **fields):
        """A result from ``W`` (samples × k) and ``H`` (k × features), DataFrames or arrays.

        Other fields default to "unknown" (``loss`` NaN, empty history, ``n_iter`` 0,
        ``converged`` False, ``stop_reason`` ``""``); pass them as keywords. With
        DataFrames, ``W.columns`` must equal ``H.index`` (the same components).

        Examples
        --------
        >>> import numpy as np
        >>> from nmfkit import NMFResult
        >>> NMFResult.from_frames(np.ones((3, 2)), np.ones((2, 4)), loss=1.5).loss
        1.5
        """
        from .exceptions import NMFInputError

        if W.shape[1] != H.shape[0]:
            raise NMFInputError(f"W has {W.shape[1]} columns but H has {H.shape[0]} rows; pass W "
                                "(samples x k) and H (k x features) of the same k")
        if hasattr(W, "columns") and hasattr(H, "index") and list(W.columns) != list(H.index):
            raise NMFInputError(f"W.columns {list(W.columns)[:5]} differ from H.index {list(H.index)[:5]}; "
                                "name the components alike (e.g. W, H = result.to_frames())")
        base = dict(loss=float("nan"), loss_history=(), n_iter=0, converged=False, stop_reason="",
                    elapsed=0.0)
        return cls(W=W, H=H, **{**base, **fields})

    def to_anndata(self, adata=None, key: str = "nmf", *, sample_names=None, feature_names=None,
                   features_used=None, params=None):
        """Store this result in an AnnData under ``key`` (the layout of :mod:`nmfkit._anndata`).

        ``obsm[f"X_{key}"]`` = ``W``, ``varm[key.upper()]`` = ``H.T`` (0 for features not
        in ``features_used``), ``uns[key]`` = the fit's fields and ``params``. With
        ``adata=None`` a new AnnData without ``X`` is made (obs / var names from
        ``sample_names`` / ``feature_names`` or the DataFrames' labels); otherwise
        ``adata`` is written in place (entries under ``key`` replaced) and returned.

        Examples
        --------
        >>> import numpy as np
        >>> import nmfkit
        >>> res = nmfkit.nmf(np.random.default_rng(0).random((6, 4)), 2, random_state=0)
        >>> adata = res.to_anndata()
        >>> adata.obsm["X_nmf"].shape, adata.varm["NMF"].shape
        ((6, 2), (4, 2))
        >>> bool(np.allclose(nmfkit.NMFResult.from_anndata(adata).H, res.H))
        True
        """
        import numpy as np

        from . import _anndata

        W_df, H_df = self.to_frames(sample_names, feature_names)
        if adata is not None:
            W_df, H_df = _aligned_to(adata, W_df, H_df, features_used, labelled=(
                sample_names is not None or hasattr(self.W, "index") or "row_names" in self.info,
                feature_names is not None or hasattr(self.H, "columns") or "col_names" in self.info))
        if adata is None:
            import pandas as pd

            from ._optional import require

            anndata = require("anndata", "store a result in an AnnData")
            obs = pd.DataFrame(index=[str(v) for v in W_df.index])
            used = np.ones(H_df.shape[1], bool) if features_used is None else np.asarray(features_used, bool)
            if features_used is None:
                var_names = list(H_df.columns)
            else:  # the used features keep their names; the others are named by position
                var_names = [f"{j}" for j in range(used.size)]
                for j, name in zip(np.flatnonzero(used), H_df.columns):
                    var_names[j] = str(name)
            adata = anndata.AnnData(obs=obs, var=pd.DataFrame(index=[str(v) for v in var_names]))
        mask = np.ones(adata.n_vars, bool) if features_used is None else np.asarray(features_used, bool)
        uns = _anndata.result_uns(self, params or {}, mask, list(W_df.columns))
        _anndata.store(adata, key, W_df.to_numpy(), H_df.to_numpy(), uns, mask)
        return adata

    @classmethod
    def from_anndata(cls, adata, key: str = "nmf"):
        """The result stored under ``key`` by ``nmfkit.tl`` or :meth:`to_anndata`.

        ``W`` is ``obsm[f"X_{key}"]`` (NaN rows for cells a model did not fit), ``H`` the
        loadings of the features used (``varm[key.upper()]`` rows where
        ``uns[key]["features_used"]``, transposed), both NumPy arrays; ``info`` holds
        ``params``, ``features_used``, ``component_names``, ``row_names`` (``obs_names``),
        ``col_names`` (the ``var_names`` used) and whatever else ``uns[key]`` holds, so
        :func:`nmfkit.top_features` and :meth:`to_frames` label features by gene. After
        ``adata`` was subset along ``var``, the features read are the kept ones the fit
        used. Raises NMFInputError if nothing is stored under ``key``.
        """
        import numpy as np

        from . import _anndata

        W, H, mask, uns = _anndata.load(adata, key, what="nmfkit.tl.nmf")
        core = ("loss", "loss_history", "n_iter", "converged", "stop_reason", "elapsed", "beta", "solver")
        info = {k: v for k, v in uns.items() if k not in core}
        info["features_used"] = mask
        if "component_names" in info:
            info["component_names"] = [str(c) for c in np.ravel(info["component_names"])]
        info["row_names"] = [str(v) for v in adata.obs_names]  # the labels, as io.load_result keeps them
        info["col_names"] = [str(v) for v in np.asarray(adata.var_names)[mask]]
        return cls(W=W, H=H, loss=float(uns.get("loss", float("nan"))),
                   loss_history=tuple(float(v) for v in np.ravel(uns.get("loss_history", ()))),
                   n_iter=int(uns.get("n_iter", 0)), converged=bool(uns.get("converged", False)),
                   stop_reason=str(uns.get("stop_reason", "")), elapsed=float(uns.get("elapsed", 0.0)),
                   beta=float(uns.get("beta", 2.0)), solver=str(uns.get("solver", "")), info=info)


def _aligned_to(adata, W_df, H_df, features_used, labelled):
    """``W_df`` / ``H_df`` reordered to ``adata``'s obs and (used) var names.

    Labelled factors (a DataFrame, names given or kept by ``from_anndata`` / ``load_result``)
    must carry exactly ``adata``'s names, in any order: they are put in ``adata``'s
    order. Unlabelled factors are taken in ``adata``'s order as they are.
    """
    import numpy as np

    from .exceptions import NMFInputError

    rows_labelled, cols_labelled = labelled
    obs = [str(v) for v in adata.obs_names]
    used = (np.ones(adata.n_vars, bool) if features_used is None else np.asarray(features_used, bool))
    var = [str(v) for v in np.asarray(adata.var_names)[used]] if used.shape == (adata.n_vars,) else None
    if rows_labelled:
        names = [str(v) for v in W_df.index]
        if sorted(names) != sorted(obs):
            raise NMFInputError("the result's sample names differ from adata.obs_names; pass the AnnData "
                                "the result was fitted on (or sample_names= in adata's order)")
        W_df = W_df.set_axis(names).loc[obs]
    if cols_labelled and var is not None and len(var) == H_df.shape[1]:
        names = [str(v) for v in H_df.columns]
        if sorted(names) != sorted(var):
            raise NMFInputError("the result's feature names differ from adata.var_names (of the features "
                                "used); pass the AnnData the result was fitted on, or feature_names= in "
                                "adata's order")
        H_df = H_df.set_axis(names, axis=1).loc[:, var]
    return W_df, H_df


@dataclass(frozen=True)
class ContrastiveResult(NMFResult):
    """Outcome of :func:`nmfkit.contrastive_nmf`: an :class:`NMFResult` with the background.

    ``W`` is the target's codes (also ``W_target``), ``H`` the contrastive basis;
    ``loss`` / ``loss_history`` the contrastive objective ``L = D_X/E_X − α D_Y/E_Y``.
    DataFrames where the inputs were.

    Attributes
    ----------
    H : array (k, n_features)
        Shared basis; rows sum to one; ordered by ``enrichment`` (largest first).
    W_target, W_background : arrays (n_target, k), (n_background, k)
        Codes of the two datasets (``W`` is ``W_target``).
    enrichment : ndarray (k,)
        ``log2`` of (mean usage in the target) / (mean usage in the background);
        a sample's usage of component j is ``W_ij / Σ_f x_if``, the share of its own
        total that the component reconstructs.
    target_loss, background_loss : float
        ``D_X/E_X`` and ``D_Y/E_Y`` (for Frobenius: 1 − share of energy explained).
    alpha : float
        The contrast strength.
    restart_losses : ndarray
        Final ``L`` of each restart; ``restart_valid`` says which were not
        degenerate, ``info["restart"]`` which was kept.
    H_shared : array (n_background_components, n_features)
        The background programs (learned on the background alone, then held fixed);
        0 rows without ``n_background_components``.
    W_target_shared, W_background_shared : arrays (n_target, ·), (n_background, ·)
        Both datasets' codes on the background programs.
    """

    W_background: Any = None
    enrichment: Any = None
    target_loss: float = float("nan")
    background_loss: float = float("nan")
    alpha: float = float("nan")
    restart_losses: Any = None
    H_shared: Any = None
    W_target_shared: Any = None
    W_background_shared: Any = None

    @property
    def W_target(self):
        """The target's codes (``W``)."""
        return self.W

    @property
    def restart_valid(self):
        """Which restarts were not degenerate (``info["restart_valid"]``)."""
        return self.info.get("restart_valid")

    @property
    def shared_loss(self):
        """``D_Y/E_Y`` of the background-only NMF (None without background programs)."""
        return self.info.get("shared_loss")
