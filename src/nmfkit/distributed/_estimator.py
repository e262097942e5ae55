"""``DaskNMF``: a scikit-learn style estimator around :func:`nmfkit.distributed.nmf`."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin

from ..exceptions import NMFInputError
from ..losses import Penalty, loss_to_beta

__all__ = ["DaskNMF"]


class DaskNMF(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Full-batch NMF on a dask.distributed cluster, scikit-learn style: ``fit`` /
    ``fit_transform`` / ``transform`` / ``inverse_transform`` / ``score``,
    ``get_params`` / ``set_params`` / ``clone``; the parameters of
    :func:`nmfkit.distributed.nmf` (checked there, when fitting).

    Attributes
    ----------
    components_ : ndarray (n_components, n_features)
    n_iter_, loss_, loss_history_, reconstruction_err_, stop_reason_, converged_, result_
    """

    def __init__(self, n_components=2, *, client=None, loss="frobenius", solver="auto",
                 init="random", max_iter=200, tol=1e-4, max_time=None, loss_every=None,
                 alpha_W=0.0, alpha_H="same", l1_ratio=0.0, random_state=None, verbose=0,
                 persist=True, checkpoint_every=10):
        self.n_components, self.client, self.loss, self.solver = n_components, client, loss, solver
        self.init, self.max_iter, self.tol, self.max_time = init, max_iter, tol, max_time
        self.loss_every, self.alpha_W, self.alpha_H, self.l1_ratio = loss_every, alpha_W, alpha_H, l1_ratio
        self.random_state, self.verbose, self.persist = random_state, verbose, persist
        self.checkpoint_every = checkpoint_every

    def __sklearn_clone__(self):
        """An unfitted copy with the same parameters; the client is shared, not copied (a
        ``distributed.Client`` cannot be deep-copied)."""
        return type(self)(**self.get_params(deep=False))

    @property
    def _n_features_out(self):
        return self.components_.shape[0]

    def fit_transform(self, X, y=None, W=None, H=None, mask=None):
        """Fit and return the gathered codes ``W`` (n_samples × n_components)."""
        from ._api import nmf

        res = nmf(X, self.n_components, W=W, H=H, mask=mask, **{
            k: v for k, v in self.get_params().items() if k != "n_components"})
        self.result_ = res
        self.components_ = np.asarray(res.H)
        self.n_components_ = int(res.H.shape[0])
        self.n_features_in_ = int(res.H.shape[1])
        self.n_iter_, self.loss_, self.loss_history_ = res.n_iter, res.loss, res.loss_history
        self.reconstruction_err_ = res.info["reconstruction_err"]
        self.stop_reason_, self.converged_ = res.stop_reason, res.converged
        return res.W

    def fit(self, X, y=None, **kw):
        self.fit_transform(X, **kw)
        return self

    def transform(self, X):
        """Codes of ``X`` on the fitted components: the engine's projection
        (:func:`nmfkit.models._core.project`) on each row block, on the workers."""
        return self._blockwise(X, _project, self.n_components_)

    def score(self, X, y=None):
        """Minus the mean divergence per entry of ``X`` from its codes on the fitted
        components (higher is better), computed block by block on the workers."""
        per_block = self._blockwise(X, _divergence, 2)
        total, entries = per_block.sum(axis=0)
        return -float(total) / float(entries)

    def inverse_transform(self, W):
        """The reconstruction ``W @ components_`` of codes ``W``."""
        self._check_fitted()
        W = np.asarray(W)
        if W.ndim != 2 or W.shape[1] != self.n_components_:
            raise NMFInputError(f"codes must have shape (n_samples, {self.n_components_}), got "
                                f"{W.shape}; pass the output of transform")
        return W @ self.components_

    def _check_fitted(self):
        if not hasattr(self, "components_"):
            raise NMFInputError("this DaskNMF is not fitted yet; call fit(X) first")

    def _blockwise(self, X, fn, width: int):
        """``fn(X_b, H, beta, penalty)`` on every row block, on the workers, stacked."""
        self._check_fitted()
        from ._api import PURPOSE, as_row_blocks, get_client
        from .._optional import require

        da = require("dask.array", PURPOSE)
        client = get_client(self.client)
        X = as_row_blocks(X, client)
        beta = loss_to_beta(self.loss)
        p = Penalty.from_alphas(self.alpha_W, self.alpha_H, self.l1_ratio, *X.shape)
        if X.shape[1] != self.components_.shape[1]:
            raise NMFInputError(f"X has {X.shape[1]} features, but DaskNMF was fitted with "
                                f"{self.components_.shape[1]}; pass data with the same columns")
        if fn is _divergence:
            chunks = ((1,) * X.numblocks[0], (width,))
        else:
            chunks = (X.chunks[0], (width,))
        out = X.map_blocks(fn, self.components_, beta, p, chunks=chunks, dtype=np.float64,
                           meta=np.empty((0, 0)))
        return np.asarray(client.compute(out).result()) if isinstance(out, da.Array) else out


def _project(X_b, H, beta, penalty):
    from ..models._core import project
    from ._blocks import make_target

    t = make_target(X_b)
    return np.asarray(project(t, t.backend.cast_like(H, t.X), beta=beta, penalty=penalty))


def _divergence(X_b, H, beta, penalty):
    """``[[D_β(X_b | W_b H), entries of X_b]]`` at the block's projected codes."""
    from ..losses import beta_divergence
    from ..models._core import project
    from ._blocks import make_target

    t = make_target(X_b)
    Hb = t.backend.cast_like(H, t.X)
    W = project(t, Hb, beta=beta, penalty=penalty)
    return np.array([[float(beta_divergence(t, W, Hb, beta)), float(t.n_observed)]])
