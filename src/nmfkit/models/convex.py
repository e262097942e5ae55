r"""Convex NMF and semi-NMF estimators (Ding, Li & Jordan, IEEE TPAMI 32(1), 2010).

Orientation is nmfkit's: ``X`` is n_samples × n_features, ``fit_transform`` returns the
codes ``W`` (n_samples × k) and ``components_`` is the basis ``H`` (k × n_features).
Ding et al. write the transposed data :math:`X_D = X^\top`; the mapping is in each
class docstring and the update rules in :mod:`nmfkit.solvers.convex`.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .._result import NMFResult
from .._validation import check_fitted_backend, check_n_components
from ..backends._random import check_random_state
from ..exceptions import NMFInputError
from ..solvers import LoopOptions, run
from ..solvers.convex import ConvexLBFGSBStep, ConvexStep, SemiStep, semi_least_squares
from ._base import FactorModel, choice
from ._dense import check_factor, check_features, check_real, frobenius, gauge, nnls_codes

__all__ = ["ConvexNMF", "SemiNMF"]

_INITS = ("kmeans", "random", "custom")


def _kmeans_indicator(X_np: np.ndarray, k: int, rng) -> np.ndarray:
    """Cluster indicator matrix (n × k) of k-means on the rows of ``X``."""
    from sklearn.cluster import KMeans

    seed = int(rng.integers(2**31 - 1))
    labels = KMeans(k, n_init=4, random_state=seed).fit(X_np).labels_
    ind = np.zeros((X_np.shape[0], k))
    ind[np.arange(X_np.shape[0]), labels] = 1.0
    return ind


class _DenseFactorModel(FactorModel):
    """Shared checks, transform and bookkeeping; subclasses define ``fit_transform``."""

    _name = "model"
    _nonneg_input = False
    _losses = (2.0,)
    _default_loss_every = 1

    def _check_params(self):
        return self._validate_params()

    def _data(self, X, reset: bool):
        values, b, _, _ = check_real(X, self._name, nonneg=self._nonneg_input)
        if not reset:
            check_fitted_backend(self.components_, b, self._name)
        check_features(self, X, reset)
        return values, b

    def _options(self, desc):
        every = self._default_loss_every if self.loss_every is None else self.loss_every
        return LoopOptions(max_iter=self.max_iter, tol=self.tol, max_time=self.max_time,
                           loss_every=every, verbose=self.verbose, desc=desc)

    def _store(self, W, H, outcome, loss, solver, info):
        history = outcome.loss_history[:-1] + (loss,)
        self.components_ = H
        self.n_components_ = int(H.shape[0])
        self.n_iter_ = outcome.n_iter
        self.loss_ = loss
        self.loss_history_ = history
        self.reconstruction_err_ = float(np.sqrt(2.0 * max(loss, 0.0)))
        self.converged_ = outcome.converged
        self.stop_reason_ = outcome.stop_reason
        info = dict(info, loss_iters=outcome.loss_iters, reconstruction_err=self.reconstruction_err_)
        self.result_ = NMFResult(W=W, H=H, loss=loss, loss_history=history, n_iter=outcome.n_iter,
                                 converged=outcome.converged, stop_reason=outcome.stop_reason,
                                 elapsed=outcome.elapsed, beta=2.0, solver=solver, info=info)

    def transform(self, X):
        """Codes ``W >= 0`` of ``X`` on the fixed components: the exact ``argmin ‖X − W H‖_F``."""
        check_is_fitted(self)
        values, b = self._data(X, reset=False)
        H = self.components_
        H = b.cast_like(H, values)
        return nnls_codes(values, H, b)


class ConvexNMF(_DenseFactorModel):
    r"""Convex NMF: every basis vector is a non-negative combination of samples.

    .. math::
        \min_{W \ge 0,\; A \ge 0}\; \tfrac12 \| X - W A X \|_F^2, \qquad H = A X,

    with ``W`` (n_samples × k) the codes, ``A`` (k × n_samples, ``combination_``) the
    weights of the samples in each basis vector and ``H`` (``components_``) the basis.
    In Ding, Li & Jordan's notation (:math:`X_D = X^\top \approx X_D W_D G_D^\top`):
    :math:`W_D = A^\top`, :math:`G_D = W`. ``X`` may have mixed signs (as in Ding et
    al.); mixed-sign data cost O(n_samples²) memory for the sample kernel.

    Equivalently (Egendal et al., arXiv 2405.07879), it is a linear autoencoder with
    non-negative weights, no biases, and the *features* as training examples: the
    encoder weights are ``Aᵀ`` (n_samples × k), the encoder output ``(A X)ᵀ`` is the
    basis, and the decoder weights are ``Wᵀ`` (k × n_samples); see
    :class:`nmfkit.NonnegativeAutoencoder` with ``examples="features"``.

    Parameters
    ----------
    n_components : int, default=2
    solver : {"mu", "lbfgsb"}, default="mu"
        "mu": Ding et al.'s multiplicative updates (monotone; slow to settle entries whose
        optimum is 0). "lbfgsb": SciPy's bound-constrained L-BFGS-B on ``(W, A)`` jointly
        (computed in NumPy float64; each iteration of ``max_iter`` is 50 L-BFGS-B
        iterations); reaches a stationary point far sooner; use it when the optimum
        matters (comparisons, the autoencoder equivalence).
    init : {"kmeans", "random", "custom"}, default="kmeans"
        "kmeans": Ding et al.'s start, cluster indicators + 0.2 (``A`` divided by the
        cluster sizes); "random": uniform(0, 1); both are then scaled to the data.
        "custom": ``W`` and ``A`` passed to ``fit``.
    loss : "frobenius", default="frobenius"
        The model is defined for the Frobenius loss only (also "euclidean" or 2); other
        losses raise an error.
    max_iter : int, default=500
    tol : float, default=1e-5
        Stop when the relative decrease of the objective between two loss checks is
        below it (the one meaning of ``tol``: :mod:`nmfkit.models._base`).
    max_time : float or None, default=None
    loss_every : int or None, default=10
        Iterations between objective evaluations (1 records every iteration; None: 10).
    random_state : int, Generator or None, default=None
    verbose : int, default=0

    Attributes
    ----------
    components_ : array (k, n_features)
        ``H = combination_ @ X_fit``. For ``X >= 0`` each row sums to 1; for
        mixed-sign ``X`` each row of ``combination_`` sums to 1 (a weighted mean of
        samples). Components ordered by contribution.
    combination_ : array (k, n_samples_fit)
        ``A >= 0``: the weights of the training samples in each basis vector.
    loss_, loss_history_, n_iter_, converged_, stop_reason_, reconstruction_err_, result_

    Notes
    -----
    ``fit_transform`` returns the fit's own ``W``; ``transform`` is the exact NNLS of
    new samples on ``components_`` (equal to it at convergence).

    Examples
    --------
    >>> import numpy as np, nmfkit
    >>> X = np.random.default_rng(0).random((30, 8))
    >>> model = nmfkit.ConvexNMF(3, solver="lbfgsb", random_state=0)
    >>> W = model.fit_transform(X)
    >>> np.allclose(model.components_, model.combination_ @ X)
    True
    """

    _name = "ConvexNMF"
    _own_params = {"solver": choice("mu", "lbfgsb"), "init": choice(*_INITS)}
    _default_loss_every = 10

    def __init__(self, n_components=2, *, loss="frobenius", solver="mu", init="kmeans",
                 max_iter=500, tol=1e-5, max_time=None, loss_every=10, random_state=None,
                 verbose=0):
        self.n_components = n_components
        self.loss = loss
        self.solver = solver
        self.init = init
        self.max_iter = max_iter
        self.tol = tol
        self.max_time = max_time
        self.loss_every = loss_every
        self.random_state = random_state
        self.verbose = verbose

    def _start(self, X, b, k, W, A):
        n = X.shape[0]
        if self.init == "custom":
            return (check_factor(W, "W", (n, k), b, X.dtype), check_factor(A, "A", (k, n), b, X.dtype))
        if W is not None or A is not None:
            raise NMFInputError(f"W and A start the fit only with init='custom' (init={self.init!r})")
        rng = check_random_state(self.random_state)
        if self.init == "kmeans":
            ind = _kmeans_indicator(b.to_numpy(X), k, rng)
            W0 = ind + 0.2
            A0 = (W0 / np.maximum(ind.sum(axis=0), 1.0)).T
        else:
            W0, A0 = rng.random((n, k)), rng.random((k, n)) / n
        W0, A0 = b.from_numpy(W0, dtype=X.dtype), b.from_numpy(A0, dtype=X.dtype)
        Xh = W0 @ (A0 @ X)
        alpha = float(b.item((X * Xh).sum())) / max(float(b.item((Xh * Xh).sum())), 1e-300)
        if alpha > 0:  # the best scalar multiple of the start, split between W and A
            root = float(np.sqrt(alpha))  # a Python float keeps float32 factors float32
            W0, A0 = W0 * root, A0 * root
        return W0, A0

    def fit_transform(self, X, y=None, W=None, A=None):
        """Fit and return the codes ``W`` (n_samples × k).

        ``W`` (n_samples × k) and ``A`` (k × n_samples), both ``>= 0``, start the fit
        when ``init="custom"`` (zeros stay zero under multiplicative updates).
        """
        self._check_params()
        values, b = self._data(X, reset=True)
        k = check_n_components(self.n_components, values.shape)
        W0, A0 = self._start(values, b, k, W, A)
        step = ConvexStep(values, b) if self.solver == "mu" else ConvexLBFGSBStep(values, b)
        outcome = run(step, step.state(W=W0, A=A0), self._options(f"convex-nmf[{self.solver}]"),
                      step.objective).restart(0)
        nonneg = float(b.item(values.min())) >= 0
        Wf, Af = outcome.blocks["W"], outcome.blocks["A"]
        H = Af @ values
        scale = b.sum(H, axis=1) if nonneg else b.sum(Af, axis=1)
        Wf, H, scale, order = gauge(Wf, H, b, scale, by="sum" if nonneg else "norm")
        Af = b.contiguous((Af / scale[:, None])[order])
        loss = frobenius(values, Wf, H)
        dead = int(b.item((b.sum(Af, axis=1) == 0).sum()))
        if dead:
            warnings.warn(f"ConvexNMF: {dead} of {k} components ended identically zero (a local optimum "
                          "of lower rank); try init='kmeans' or another random_state", UserWarning,
                          stacklevel=2)
        self.combination_ = Af
        self._store(Wf, H, outcome, loss, f"convex-{self.solver}", {"A": Af})
        return Wf


class SemiNMF(_DenseFactorModel):
    r"""Semi-NMF: mixed-sign data and basis, non-negative codes.

    .. math::
        \min_{W \ge 0,\; H}\; \tfrac12 \| X - W H \|_F^2 ,

    ``W`` (n_samples × k, returned by ``fit_transform``) is constrained to be
    non-negative and ``H`` (``components_``, k × n_features) is free. This is Ding, Li &
    Jordan's semi-NMF :math:`X_D \approx F G^\top` (:math:`X_D = X^\top`) with their
    non-negative :math:`G = W` (the cluster memberships of the samples) and mixed-sign
    :math:`F = H^\top` (the cluster centroids). The factorisation is not unique
    (``W Q``, ``Q⁻¹ H`` with ``W Q >= 0`` fits equally well); the k-means start picks the
    solution near the clustering, whose basis is close to the cluster centroids.

    Parameters
    ----------
    n_components : int, default=2
    init : {"kmeans", "random", "custom"}, default="kmeans"
        "kmeans": cluster indicators + 0.2 (Ding et al.); "random": uniform(0, 1);
        "custom": ``W`` passed to ``fit`` (``H`` is then solved exactly).
    loss : "frobenius", default="frobenius"
        Frobenius only (also "euclidean" or 2); other losses raise an error.
    max_iter : int, default=500
    tol : float, default=1e-6
        Stop when the relative decrease of the objective between two loss checks is
        below it (the one meaning of ``tol``: :mod:`nmfkit.models._base`).
    max_time : float or None, default=None
    loss_every : int or None, default=1
    random_state : int, Generator or None, default=None
    verbose : int, default=0

    Attributes
    ----------
    components_ : array (k, n_features)
        The mixed-sign basis; each row has unit Euclidean norm (its scale is in ``W``),
        ordered by ``‖W_:j‖ ‖H_j:‖``.
    loss_, loss_history_, n_iter_, converged_, stop_reason_, reconstruction_err_, result_

    Notes
    -----
    ``fit_transform`` returns the fit's own ``W``; ``transform`` is the exact NNLS of
    new samples on ``components_`` (equal to it at an exact stationary point).

    Examples
    --------
    >>> import numpy as np, nmfkit
    >>> rng = np.random.default_rng(0)
    >>> centroids = rng.standard_normal((3, 10))                 # mixed-sign cluster centres
    >>> X = np.repeat(centroids, 20, axis=0) + 0.05 * rng.standard_normal((60, 10))
    >>> model = nmfkit.SemiNMF(3, random_state=0)
    >>> W = model.fit_transform(X)
    >>> bool((W >= 0).all()), nmfkit.signatures.match_signatures(model.components_, centroids).mean > 0.99
    (True, True)
    """

    _name = "SemiNMF"
    _own_params = {"init": choice(*_INITS)}

    def __init__(self, n_components=2, *, loss="frobenius", init="kmeans", max_iter=500,
                 tol=1e-6, max_time=None, loss_every=1, random_state=None, verbose=0):
        self.n_components = n_components
        self.loss = loss
        self.init = init
        self.max_iter = max_iter
        self.tol = tol
        self.max_time = max_time
        self.loss_every = loss_every
        self.random_state = random_state
        self.verbose = verbose

    def fit_transform(self, X, y=None, W=None):
        """Fit and return the codes ``W >= 0`` (n_samples × k); ``W`` starts ``init="custom"``."""
        self._check_params()
        values, b = self._data(X, reset=True)
        k = check_n_components(self.n_components, values.shape)
        n = values.shape[0]
        if self.init == "custom":
            W0 = check_factor(W, "W", (n, k), b, values.dtype)
        elif W is not None:
            raise NMFInputError(f"W starts the fit only with init='custom' (init={self.init!r})")
        else:
            rng = check_random_state(self.random_state)
            W0 = (_kmeans_indicator(b.to_numpy(values), k, rng) + 0.2 if self.init == "kmeans"
                  else rng.random((n, k)))
            W0 = b.from_numpy(W0, dtype=values.dtype)
        step = SemiStep(values, b)
        H0 = semi_least_squares(values, W0, b)
        outcome = run(step, step.state(W=W0, H=H0), self._options("semi-nmf"),
                      step.objective).restart(0)
        Wf = outcome.blocks["W"]
        Hf = semi_least_squares(values, Wf, b)  # exact H for the final W: can only lower the loss
        Wf, Hf, _, _ = gauge(Wf, Hf, b, by="norm")
        loss = frobenius(values, Wf, Hf)
        self._store(Wf, Hf, outcome, loss, "semi-mu", {})
        return Wf
