r"""Non-negative matrix factorisation: the ``NMF`` estimator and the functional ``nmf``.

Objective (``X`` is n_samples × n_features, ``W`` n_samples × k, ``H`` k × n_features):

.. math::
    \min_{W \ge 0,\, H \ge 0}\; \sum_{ij} M_{ij}\, d_\beta\big(X_{ij} \mid (WH)_{ij}\big)
    + l1_W \|W\|_1 + \tfrac12 l2_W \|W\|_F^2 + l1_H \|H\|_1 + \tfrac12 l2_H \|H\|_F^2

with :math:`d_2(x|y) = \tfrac12 (x-y)^2` (Frobenius), :math:`d_1(x|y) = x\log(x/y) - x + y`
(KL / Poisson), :math:`d_0(x|y) = x/y - \log(x/y) - 1` (Itakura-Saito), the general
β-divergence otherwise; :math:`M_{ij} = 0` for a missing (NaN) or masked entry;
``l1_W = alpha_W · l1_ratio · n_features``, ``l2_W = alpha_W · (1 − l1_ratio) · n_features``,
``l1_H = alpha_H · l1_ratio · n_samples``, ``l2_H = alpha_H · (1 − l1_ratio) · n_samples``
(scikit-learn's scaling).

Gauge: without penalties, each row of ``H`` (``components_``) sums to 1 and its scale
is carried by the column of ``W``; components are ordered by their share of
``Σ W H`` (largest first). With penalties only the order is fixed.
"""

from __future__ import annotations

from sklearn.utils.validation import check_is_fitted

from .._result import NMFResult
from ..losses import LossSpec, Penalty
from ..solvers.hals import checked_right_products
from ._base import BOOL, DISPERSION, NONNEG_FLOAT, FactorModel, Param, choice
from ._core import build_target, fit_result, project
from ._nb_fit import nb_codes, nb_score
from ._nmf_fit import NMF_PARAMS, FitSpec
from ._nmf_fit import fit_one as _fit

__all__ = ["NMF", "nmf", "FitSpec", "NMF_PARAMS"]

def nmf(X, n_components, *, loss="frobenius", solver="auto", init="auto", W=None, H=None,
        mask=None, max_iter=200, tol=1e-4, max_time=None, alpha_W=0.0, alpha_H="same",
        l1_ratio=0.0, handle_missing="mask", random_state=None, verbose=0, callback=None,
        loss_every=None, refine_W=False, accelerate="auto", dispersion="per_sample",
        checkpoint=None, checkpoint_every=60.0) -> NMFResult:
    r"""Factor a non-negative matrix ``X ≈ W H`` (the functional form of :class:`NMF`).

    Minimises the objective in the module docstring (:mod:`nmfkit.models.nmf`).
    This function fits an :class:`NMF` with the same parameters and returns its
    ``result_`` (with DataFrames when ``X`` is one), so ``nmf(X, k, **params).W`` equals
    ``NMF(k, **params).fit_transform(X)`` and ``.H`` its ``components_``. The one
    difference of the defaults is ``refine_W`` (below): False here, True in the estimator.

    Parameters
    ----------
    X : array-like, DataFrame, scipy.sparse or torch.Tensor, shape (n_samples, n_features)
        Non-negative data. NaN entries are missing (left out of the objective) unless
        ``handle_missing='error'``. Sparse input stays sparse; torch tensors are
        computed on their device; float32 stays float32, other types become float64.
    n_components : int
        The rank k, ``1 <= k <= min(n_samples, n_features)``.
    loss : {"frobenius", "kl", "is", "nb"} or float
        The β-divergence: 2 / "frobenius" / "euclidean", 1 / "kl" / "kullback-leibler" /
        "poisson", 0 / "is" / "itakura-saito", or any β; or "nb" / "negative_binomial":
        the negative binomial (counts with ``Var = μ + μ²/α``; see :class:`NMF`, Notes).
    solver : {"auto", "mu", "hals", "cd"}
        "hals" (accelerated HALS; Frobenius only), "cd" (coordinate descent with
        extrapolation; KL, :mod:`nmfkit.solvers.kl_cd`, and 1 < β < 2,
        :mod:`nmfkit.solvers.beta_cd`) or "mu" (multiplicative updates, any β and "nb").
        "auto" is "hals" for Frobenius; for 1 <= β < 2 (KL included) it is "cd" on NumPy /
        SciPy data when numba is installed (its compiled kernels reach MU's objective in a
        fraction of MU's time: ``benchmarks/bench_kl_cd.py``, ``bench_beta_cd.py``), else
        "mu"; "mu" for every other loss.
    init : {"auto", "random", "nndsvd", "nndsvda", "nndsvdar", "custom"}
        Start; "auto" is "nndsvda". "custom" starts from ``W`` and ``H``.
    W, H : arrays, optional
        Starting factors for ``init="custom"``.
    mask : array of shape X.shape, optional
        Element weights ``M``: 1/True observed, 0/False left out, other values >= 0
        weight the entry (note: the opposite convention to ``numpy.ma``, whose masked
        arrays are also accepted as ``X``).
    max_iter : int
        Most iterations.
    tol : float
        Stop when the relative decrease of the objective between two loss checks,
        ``(L_prev − L)/|L_prev|``, falls below ``tol`` (0: run ``max_iter`` iterations);
        the meaning of ``tol`` in every model (:mod:`nmfkit.models._base`).
    max_time : float, optional
        Stop after this many seconds.
    alpha_W, alpha_H, l1_ratio : float
        Penalties (``alpha_H="same"`` uses ``alpha_W``), scaled as in scikit-learn.
    handle_missing : {"mask", "error"}
        What NaN in X means: a missing entry, or an error.
    random_state : int, Generator or None
        Seed of the initialisation; the same seed gives the same result.
    verbose : int
        1 shows a progress bar on a terminal.
    callback : callable, optional
        ``callback(n_iter, W, H, loss)`` at each loss check; return True to stop.
    loss_every : int, optional
        Iterations between loss checks (default 1 for HALS and CD, where it is free, 10
        for MU).
    refine_W : bool, default=False
        End with the exact ``W`` for the final ``H``: the non-negative least-squares
        solve for the Frobenius loss without missing entries, the exact KL codes
        (:func:`nmfkit.solvers.kl_codes.kl_codes`) for the KL loss with or without
        missing entries. That is what ``NMF.transform`` computes; it can only lower the
        objective, ``info["loss_before_refine"]`` keeps the one before. False returns
        the solver's own last iterate. Other losses (β ∉ {1, 2}, "nb"), or Frobenius
        with missing entries: no effect. The same option as :class:`NMF`'s, whose default is
        True (so that ``fit_transform(X)`` equals ``fit(X).transform(X)``, as
        scikit-learn expects); here the default is the solver's iterate, which is what
        parity with scikit-learn's solvers and the batched restarts
        (:mod:`nmfkit.selection`) compare against. ``nmf(X, k, refine_W=True).W``
        equals ``NMF(k).fit_transform(X)``.
    accelerate : {"auto", True, False}
        Extrapolation with restarts (Ang & Gillis 2019; :mod:`nmfkit.solvers.accelerate`),
        kept monotone: a failed extrapolated step is replaced by a plain one.
        "auto" uses it for HALS without missing values, where it reaches a converged
        loss in about 2/3 of the steps, and for KL coordinate descent ("cd"); for MU it
        was measured not to help.
    dispersion : {"per_sample", "global"}, float or array of shape (n_samples,)
        The NB size α with ``loss="nb"`` (ignored otherwise): estimated per sample (row)
        or globally, or fixed. ``info["dispersion"]`` holds the fitted α.
    checkpoint : str or os.PathLike, optional
        A file the fit writes its state to, atomically, every ``checkpoint_every``
        seconds and when Ctrl-C stops it (:mod:`nmfkit._checkpoint`: the factors, the
        iteration, the loss history, the solver's own state, the parameters and a
        fingerprint of X: shape, dtype, sum). When the file exists, the fit resumes from
        it and reaches the result of an uninterrupted run from the same start (the
        same seed): the same iterates, bit for bit on the same machine. It must be the
        same data and the same parameters (``max_time``, ``verbose`` and the checkpoint
        options excepted), else :class:`~nmfkit.exceptions.NMFInputError` says which
        differ. The file is deleted when the fit ends other than by Ctrl-C. Not with
        ``loss="nb"``. Here and in :class:`NMF`; the loop under every model has it
        (:class:`nmfkit.solvers.LoopOptions`).
    checkpoint_every : float, default=60.0
        Seconds between checkpoints (0: after every iteration).

    Returns
    -------
    NMFResult
        ``W``, ``H`` (DataFrames when ``X`` is one, components named ``nmf0, nmf1, …``),
        the final objective, its history, iterations, the stop reason and timing.

    Examples
    --------
    >>> import nmfkit
    >>> X, W_true, H_true = nmfkit.datasets.make_low_rank(100, 40, 3, random_state=0)
    >>> res = nmfkit.nmf(X, 3, random_state=0)
    >>> res.W.shape, res.H.shape
    ((100, 3), (3, 40))
    """
    model = NMF(n_components, loss=loss, solver=solver, init=init, max_iter=max_iter, tol=tol,
                max_time=max_time, alpha_W=alpha_W, alpha_H=alpha_H, l1_ratio=l1_ratio,
                handle_missing=handle_missing, random_state=random_state, verbose=verbose,
                loss_every=loss_every, refine_W=refine_W, accelerate=accelerate,
                dispersion=dispersion, checkpoint=checkpoint, checkpoint_every=checkpoint_every)
    return model._fit_result(X, W=W, H=H, mask=mask, callback=callback, labels=True)


class NMF(FactorModel):
    r"""Non-negative matrix factorisation ``X ≈ W H`` (scikit-learn compatible).

    Minimises the β-divergence objective written out in :mod:`nmfkit.models.nmf`
    (module docstring), with NaN entries of ``X`` left out of it.

    See :func:`nmfkit.nmf` for the meaning of each parameter; ``nmf(X, k, **params)``
    returns this estimator's ``result_`` (so ``nmf(X, k, refine_W=True).W`` equals
    ``NMF(k).fit_transform(X)``).

    Parameters
    ----------
    n_components : int, default=2
        The rank k (``1 <= k <= min(n_samples, n_features)``).
    loss : {"frobenius", "kl", "is", "nb"} or float, default="frobenius"
    solver : {"auto", "mu", "hals", "cd"}, default="auto"
    init : {"auto", "random", "nndsvd", "nndsvda", "nndsvdar", "custom"}, default="auto"
    max_iter : int, default=200
    tol : float, default=1e-4
        Relative decrease of the objective between two loss checks below which the fit
        has converged (the one meaning of ``tol``: :mod:`nmfkit.models._base`).
    max_time : float or None, default=None
    alpha_W : float, default=0.0
    alpha_H : float or "same", default="same"
    l1_ratio : float, default=0.0
    handle_missing : {"mask", "error"}, default="mask"
    random_state : int, Generator or None, default=None
    verbose : int, default=0
    loss_every : int or None, default=None
        Iterations between loss checks (None: 1 for HALS and CD, 10 for MU).
    refine_W : bool, default=True
        End the fit with the exact ``W`` for the final ``H`` (NNLS for Frobenius
        without missing entries, the exact KL codes for KL; see Notes). :func:`nmfkit.nmf` has the same option with the
        default False (its docstring says why).
    accelerate : {"auto", True, False}, default="auto"
    dispersion : {"per_sample", "global"}, float or array, default="per_sample"
    checkpoint : str, os.PathLike or None, default=None
        Write the fit's state to this file every ``checkpoint_every`` seconds and resume
        from it when it exists (same data and parameters; see :func:`nmfkit.nmf`).
    checkpoint_every : float, default=60.0

    Attributes
    ----------
    components_ : array, shape (n_components, n_features)
        The basis H; rows sum to 1 when unpenalised, ordered by contribution.
    n_components_ : int
    n_iter_ : int
    reconstruction_err_ : float
        ``sqrt(2 · D_beta(X | W H))`` at the end of the fit (scikit-learn's definition).
    loss_ : float
        Final objective (divergence + penalties; for "nb" the NB divergence at ``dispersion_``).
    loss_history_ : tuple of float
    converged_ : bool
    stop_reason_ : str
    result_ : NMFResult
    n_features_in_ : int
    feature_names_in_ : ndarray of str (when X had string column names)
    dispersion_ : ndarray (n_samples,) or float
        Fitted NB α (per sample or one), only with ``loss="nb"``.

    Notes
    -----
    ``transform`` is an exact projection on the fixed components for the Frobenius
    loss (one product and a batched k × k non-negative least squares) and for the KL
    loss, with or without missing entries (projected Newton on all rows at once,
    :math:`\min_{w \ge 0} \sum_f m_f[(wH)_f - x_f \log (wH)_f]` to a scaled KKT
    residual of 1e-10, :mod:`nmfkit.solvers.kl_codes`; NumPy code, so torch or
    array-API data are copied to the host for it and the codes back). For other
    losses, or Frobenius with missing entries, it is a solve iterated to convergence.
    For the Frobenius loss without missing entries and for the KL loss the fit ends
    with that same exact solve for ``W`` (it can only lower the objective;
    ``loss_history_[-1]`` and ``loss_`` are the objective after it,
    ``result_.info["loss_before_refine"]`` the one before), so ``fit_transform(X)``
    equals ``fit(X).transform(X)``; ``refine_W=False`` (here and in
    :func:`nmfkit.nmf`) keeps the solver's own iterate. For other losses, or
    Frobenius with missing entries, ``fit_transform`` returns the fit's own ``W``
    (an exact projection there is an iterative solve costing as much as the fit or
    more), which can differ from ``transform(X)`` by the solvers' tolerance. Under
    KL, features whose column of ``components_`` is all zero cannot be reconstructed
    by any code: their positive counts are left out of ``transform``'s objective
    with a ``RuntimeWarning``.

    ``loss="nb"`` (MU only; :mod:`nmfkit.models._nb_fit`): a KL (Poisson) fit starts it,
    then α by maximum likelihood from ``W H`` and NB updates with α fixed (to ``tol``)
    alternate until α moves by < 1 % (log, max over samples) or 5 rounds: block-coordinate
    ascent on the likelihood. ``transform`` uses the one α (global or fixed), or estimates
    one per new sample, alternating twice with the NB codes. ``score`` is then the mean
    NB log-likelihood per observed entry (higher is better; comparable with Poisson's,
    :func:`nmfkit.losses.nb_loglik` with ``np.inf``).

    Examples
    --------
    >>> import nmfkit
    >>> X = nmfkit.datasets.load_digits().X
    >>> model = nmfkit.NMF(n_components=10, random_state=0)
    >>> W = model.fit_transform(X)
    >>> model.components_.shape
    (10, 64)
    """

    _own_params = {
        **NMF_PARAMS,
        "refine_W": BOOL,
        "accelerate": choice("auto", True, False),
        "dispersion": DISPERSION,
        "checkpoint": Param(lambda v, n, s: v),  # checked by nmfkit._checkpoint.check_path
        "checkpoint_every": NONNEG_FLOAT,
    }
    _sparse_input = True
    _nb_loss = True

    def __init__(self, n_components=2, *, loss="frobenius", solver="auto", init="auto",
                 max_iter=200, tol=1e-4, max_time=None, alpha_W=0.0, alpha_H="same",
                 l1_ratio=0.0, handle_missing="mask", random_state=None, verbose=0,
                 loss_every=None, refine_W=True, accelerate="auto", dispersion="per_sample",
                 checkpoint=None, checkpoint_every=60.0):
        self.n_components = n_components
        self.loss = loss
        self.solver = solver
        self.init = init
        self.max_iter = max_iter
        self.tol = tol
        self.max_time = max_time
        self.alpha_W = alpha_W
        self.alpha_H = alpha_H
        self.l1_ratio = l1_ratio
        self.handle_missing = handle_missing
        self.random_state = random_state
        self.verbose = verbose
        self.loss_every = loss_every
        self.refine_W = refine_W
        self.accelerate = accelerate
        self.dispersion = dispersion
        self.checkpoint = checkpoint
        self.checkpoint_every = checkpoint_every

    def _penalty(self, shape):
        return Penalty.from_alphas(self.alpha_W, self.alpha_H, self.l1_ratio, *shape)

    # -- fitting --------------------------------------------------------------------------
    def _fit_result(self, X, *, W=None, H=None, mask=None, callback=None, labels=False):
        """Fit; store the attributes; return ``result_`` (with DataFrames if ``labels``)."""
        self._validate_params()
        data = self._check(X, reset=True)
        out = _fit(data, FitSpec.of(self.get_params(deep=False)), W=W, H=H, mask=mask,
                   callback=callback)
        self.result_ = fit_result(out)
        self.components_ = out.H
        self.n_components_ = int(out.H.shape[0])
        self.n_iter_ = out.outcome.n_iter
        self.loss_ = self.result_.loss
        self.loss_history_ = out.outcome.loss_history
        self.reconstruction_err_ = self.result_.reconstruction_err
        self.converged_ = out.outcome.converged
        self.stop_reason_ = out.outcome.stop_reason
        self._beta, self._loss = out.beta, out.loss
        if out.loss.nb:
            self.dispersion_ = out.loss.dispersion
        if labels and data.index is not None:
            return fit_result(out, (data.index, data.columns))
        return self.result_

    def fit_transform(self, X, y=None, W=None, H=None, mask=None):
        """Fit the model and return ``W`` (n_samples × n_components).

        ``W`` and ``H`` start the fit when ``init="custom"``; ``mask`` holds element
        weights (0 = missing).
        """
        return self._fit_result(X, W=W, H=H, mask=mask).W

    def _target(self, X, mask, reset=False):
        data = self._check(X, reset=reset)
        return build_target(data, mask)

    def _codes(self, X, mask):
        """The data term of ``X``, its codes on the fitted components (in X's dtype), the
        components and the loss (for "nb" with the α of X's samples)."""
        check_is_fitted(self)
        loss: LossSpec = self._loss
        target = None
        if mask is None and self._beta == 2 and not self._penalty((1, 1)).any:
            # exact NNLS path: a dense NumPy X comes back unscanned, then is validated while
            # forming H Xᵀ (one read of X); other inputs come back scanned
            data = self._check(X, reset=False, scan=False)
            if not data.scanned:
                H = self.components_.astype(data.values.dtype, copy=False)
                R = checked_right_products(data.values, H)
                if R is not None:
                    target = build_target(data)
                    return target, project(target, H, beta=2.0, penalty=Penalty(), R=R), H, loss
                # NaN, inf or negative entries: the full validation below handles or names them
            else:
                target = build_target(data)
        if target is None:
            target = self._target(X, mask)
        H = target.backend.cast_like(self.components_, target.X)  # no copy when they match
        penalty = self._penalty(target.shape)
        if loss.nb:
            W, alpha = nb_codes(target, H, loss, penalty)
            return target, W, H, loss.with_dispersion(alpha)
        return target, project(target, H, beta=loss, penalty=penalty), H, loss

    def transform(self, X, mask=None):
        """Codes ``W >= 0`` of ``X`` on the fitted components (exact for Frobenius and KL).

        For the Frobenius loss without missing entries and for the KL loss this is what
        ``fit_transform`` returns for the training data (with ``refine_W=True``, the
        default). See Notes for the solvers.
        """
        return self._codes(X, mask)[1]

    def score(self, X, y=None, mask=None):
        """Minus the mean divergence per observed entry of ``X`` from its projection (higher
        is better); for ``loss="nb"`` the mean NB log-likelihood per observed entry."""
        target, W, H, loss = self._codes(X, mask)
        if loss.nb:
            return nb_score(target, W, H, loss.dispersion)
        return -loss.divergence(target, W, H) / target.n_observed
