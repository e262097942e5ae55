"""``DaskNMF``: a scikit-learn style estimator around :func:`nmfkit.distributed.nmf`."""

from __future__ import annotations

import numpy as np

from ..exceptions import NMFInputError
from ..losses import Penalty, loss_to_beta

__all__ = ["DaskNMF"]


class DaskNMF:
    """Full-batch NMF on a dask.distributed cluster (``fit`` / ``fit_transform`` /
    ``transform``; the parameters of :func:`nmfkit.distributed.nmf`).

    Attributes
    ----------
    components_ : ndarray (n_components, n_features)
    n_iter_, loss_, loss_history_, reconstruction_err_, stop_reason_, result_
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

    def get_params(self, deep=True):
        import inspect

        return {p: getattr(self, p) for p in inspect.signature(type(self).__init__).parameters
                if p != "self"}

    def set_params(self, **params):
        for k, v in params.items():
            setattr(self, k, v)
        return self

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
        if not hasattr(self, "components_"):
            raise NMFInputError("this DaskNMF is not fitted yet; call fit(X) first")
        from ._api import PURPOSE, as_row_blocks, get_client
        from .._optional import require

        da = require("dask.array", PURPOSE)
        client = get_client(self.client)
        X = as_row_blocks(X, client)
        beta = loss_to_beta(self.loss)
        p = Penalty.from_alphas(self.alpha_W, self.alpha_H, self.l1_ratio, *X.shape)
        W = X.map_blocks(_project, self.components_, beta, p, chunks=(X.chunks[0], (self.n_components_,)),
                         dtype=self.components_.dtype, meta=np.empty((0, 0)))
        return np.asarray(client.compute(W).result()) if isinstance(W, da.Array) else W


def _project(X_b, H, beta, penalty):
    from ..models._core import project
    from ._blocks import make_target

    t = make_target(X_b)
    return np.asarray(project(t, t.backend.cast_like(H, t.X), beta=beta, penalty=penalty))
