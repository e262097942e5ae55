r"""Archetypal analysis (Cutler & Breiman 1994), fitted by PCHA (Mørup & Hansen 2012).

Orientation is nmfkit's: ``X`` is n_samples × n_features. ``fit_transform`` returns the
simplex codes ``A`` (n_samples × k), ``archetypes_`` (= ``components_``) is ``Z = B X``
(k × n_features) and ``combination_`` is ``B`` (k × n_samples). The update rule is in
:mod:`nmfkit.solvers.pcha`.
"""

from __future__ import annotations

import numbers
import sys
import time
from contextlib import contextmanager

import numpy as np
from threadpoolctl import threadpool_limits
from sklearn.utils.validation import check_is_fitted

from .._result import NMFResult
from .._validation import check_fitted_backend
from ..backends._random import check_random_state
from ..exceptions import NMFInputError
from ..solvers import LoopOptions, run
from ..solvers.pcha import PCHAStep, aa_sse, furthest_sum, simplex_codes
from ._base import POSITIVE_INT, FactorModel, choice
from ._dense import check_features, check_real

__all__ = ["ArchetypalAnalysis", "archetypal_analysis"]


def _check_simplex_rows(M, name, shape, b, dtype):
    """A user-given start: right shape, finite, ``>= 0``, rows renormalised to sum 1."""
    M_np = np.asarray(b.to_numpy(M) if hasattr(M, "device") else M, dtype=np.float64)
    if M_np.shape != tuple(shape):
        raise NMFInputError(f"{name} has shape {M_np.shape} but must have shape {tuple(shape)}")
    if not np.isfinite(M_np).all() or (M_np < 0).any() or not (M_np.sum(axis=1) > 0).all():
        raise NMFInputError(f"{name} must be finite, >= 0, with no all-zero row (rows are "
                            "renormalised to sum 1)")
    return b.from_numpy(M_np / M_np.sum(axis=1, keepdims=True), dtype=dtype)


@contextmanager
def _blas_limit(X):
    """One thread for small problems: PCHA's many k-sized products only spin-wait on more.

    A 10 × 1,797 by 1,797 × 64 product took 20 ms instead of 0.13 ms on a busy 2-core
    machine (as in :class:`nmfkit.solvers.convex.ConvexLBFGSBStep`). NumPy's BLAS is
    limited through threadpoolctl; torch on the CPU through ``torch.set_num_threads``,
    restored on exit (a 60 × 4 torch fit: 1.7 s with 2 threads, 0.2 s with 1).
    """
    if int(np.prod(X.shape)) > 2**20:
        yield
        return
    torch = sys.modules.get("torch")
    on_cpu_torch = torch is not None and isinstance(X, torch.Tensor) and X.device.type == "cpu"
    with threadpool_limits(limits=1, user_api="blas"):
        if not on_cpu_torch:
            yield
            return
        before = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(before)


class ArchetypalAnalysis(FactorModel):
    r"""Archetypal analysis: samples as convex mixtures of archetypes, themselves mixtures of samples.

    .. math::
        \min_{A, B}\; \tfrac12 \| X - A B X \|_F^2, \qquad
        A \ge 0,\; A\mathbf 1 = \mathbf 1,\quad B \ge 0,\; B\mathbf 1 = \mathbf 1,

    with ``A`` (n_samples × k) the codes returned by ``fit_transform``, ``B``
    (k × n_samples, ``combination_``) the weights of the samples in each archetype and
    ``Z = B X`` (``archetypes_``, also ``components_``) the archetypes, which lie in the
    convex hull of the data (Cutler & Breiman, Technometrics 36(4), 1994). Fitted by
    PCHA (Mørup & Hansen, Neurocomputing 80, 2012): projected gradient with an adaptive
    step on both simplex factors, monotone in the objective
    (:mod:`nmfkit.solvers.pcha`).

    **X need not be non-negative**: any real, finite, dense matrix is taken (NumPy,
    pandas or torch; torch is computed on its device). scipy.sparse input is refused
    (pass ``X.toarray()``): the archetypes are dense means of samples. The fit runs in
    float64 and the results are cast back to ``X``'s float type.

    Parameters
    ----------
    n_archetypes : int, default=2
        The number of archetypes k, ``1 <= k <= n_samples`` (k may exceed n_features).
    init : {"furthest_sum", "random", "custom"}, default="furthest_sum"
        How ``B`` starts: "furthest_sum" picks k samples by Mørup & Hansen's FurthestSum,
        "random" k distinct random samples, "custom" the ``B`` passed to ``fit`` (and
        ``A`` if given). Unless given, ``A`` starts as ``-log U`` normalised, followed by
        25 steps on ``A`` alone (as PCHA).
    n_restarts : int, default=1
        Independent fits (each from its own FurthestSum / random start drawn from
        ``random_state``); the one with the lowest objective is kept. AA has local
        optima: on 300 digits with k = 6, seeds 1 and 2 reach 43.37 % explained variance,
        seed 0 42.95 %. One fit with ``init="custom"``.
    max_iter : int, default=500
        Most iterations per restart; each is 10 projected-gradient steps on ``B`` then 10 on ``A``.
    tol : float, default=1e-6
        Stop when the objective decreased by less than ``tol`` times its value between
        two checks (the one meaning of ``tol``: :mod:`nmfkit.models._base`; PCHA's).
    max_time : float or None, default=None
        Seconds of the whole fit (all restarts together).
    loss_every : int or None, default=1
        Iterations between loss checks (the loss is a by-product of the step: free).
    random_state : int, Generator or None, default=None
    verbose : int, default=0

    Attributes
    ----------
    archetypes_ : array (k, n_features)
        ``Z = combination_ @ X_fit``, ordered by usage (the column sums of the codes),
        largest first.
    components_ : array (k, n_features)
        The same array as ``archetypes_`` (so ``inverse_transform`` is ``A @ Z``).
    combination_ : array (k, n_samples_fit)
        ``B``: each row on the simplex.
    explained_variance_ : float
        ``1 − ‖X − A Z‖² / ‖X − mean(X)‖²`` of the training data.
    loss_, loss_history_, n_iter_, converged_, stop_reason_, reconstruction_err_, result_
        ``loss_`` is ``½ ‖X − A Z‖²``; ``reconstruction_err_`` is ``‖X − A Z‖_F``.

    Notes
    -----
    ``fit_transform`` returns the fit's own ``A``; ``transform`` solves
    ``min ‖x − a Z‖`` over the simplex exactly for each sample (one finite NNLS per
    sample, :func:`nmfkit.solvers.pcha.simplex_codes`; computed in NumPy on the CPU and
    returned on ``X``'s backend), equal to it at a stationary point. PCHA's
    relaxation δ (archetypes slightly outside the hull) is not offered.

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit.models.archetypal import ArchetypalAnalysis
    >>> rng = np.random.default_rng(0)
    >>> corners = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 3.0]])  # a triangle
    >>> X = rng.dirichlet(np.ones(3), 200) @ corners - 1.0        # mixed signs are fine
    >>> model = ArchetypalAnalysis(3, random_state=0)
    >>> A = model.fit_transform(X)
    >>> bool(np.allclose(A.sum(axis=1), 1) and (A >= 0).all()), model.explained_variance_ > 0.99
    (True, True)
    """

    _own_params = {"n_archetypes": POSITIVE_INT, "n_restarts": POSITIVE_INT,
                   "init": choice("furthest_sum", "random", "custom")}
    _nonneg_input = False

    def __init__(self, n_archetypes=2, *, init="furthest_sum", n_restarts=1, max_iter=500,
                 tol=1e-6, max_time=None, loss_every=1, random_state=None, verbose=0):
        self.n_archetypes = n_archetypes
        self.n_restarts = n_restarts
        self.init = init
        self.max_iter = max_iter
        self.tol = tol
        self.max_time = max_time
        self.loss_every = loss_every
        self.random_state = random_state
        self.verbose = verbose

    def _data(self, X, reset: bool):
        values, b, _, _ = check_real(X, "ArchetypalAnalysis")
        if not reset:
            check_fitted_backend(self.components_, b, "ArchetypalAnalysis")
        check_features(self, X, reset)
        return values, b

    def _start(self, X, b, k, A, B, rng):
        n = X.shape[0]
        if self.init != "custom" and (A is not None or B is not None):
            raise NMFInputError(
                f"A and B start the fit only with init='custom' (init={self.init!r})")
        if self.init == "custom":
            if B is None:
                raise NMFInputError(f"init='custom' needs B (shape ({k}, {n})); pass it to fit")
            B0 = _check_simplex_rows(B, "B", (k, n), b, X.dtype)
        else:
            idx = (furthest_sum(np.asarray(b.to_numpy(X)), k, rng) if self.init == "furthest_sum"
                   else rng.choice(n, k, replace=False))
            B0 = np.zeros((k, n))
            B0[np.arange(k), idx] = 1.0
            B0 = b.from_numpy(B0, dtype=X.dtype)
        if A is not None:
            return _check_simplex_rows(A, "A", (n, k), b, X.dtype), B0, False
        A0 = -np.log(rng.random((n, k)) + 1e-300)
        return b.from_numpy(A0 / A0.sum(axis=1, keepdims=True), dtype=X.dtype), B0, True

    def fit_transform(self, X, y=None, A=None, B=None):
        """Fit and return the simplex codes ``A`` (n_samples × k).

        With ``init="custom"``, ``B`` (k × n_samples) and optionally ``A``
        (n_samples × k), both ``>= 0`` (rows renormalised to sum 1), start the fit.
        """
        self._validate_params()
        values, b = self._data(X, reset=True)
        k, n = self.n_archetypes, values.shape[0]
        if not isinstance(k, numbers.Integral) or not 1 <= k <= n:
            raise NMFInputError(f"n_archetypes={k} must be between 1 and n_samples={n}; choose "
                                f"1 <= n_archetypes <= {n}")
        dtype = values.dtype
        X64 = b.astype(values, b.as_dtype("float64"))
        with _blas_limit(values):
            outcome = self._fit_restarts(X64, b, k, A, B)
        Af, Bf = outcome.blocks["A"], outcome.blocks["B"]
        order = b.argsort(b.sum(Af, axis=0), descending=True)
        Af, Bf = b.contiguous(b.take(Af, order, axis=1)), b.contiguous(b.take(Bf, order, axis=0))
        Z = Bf @ X64
        sse = aa_sse(X64, Af, Z)
        centred = X64 - b.sum(X64, axis=0)[None, :] / n
        sst = float(b.item((centred * centred).sum()))
        cast = (lambda M: b.astype(M, dtype))
        self._store(cast(Af), cast(Bf), cast(Z), outcome, 0.5 * sse, sst)
        return self.result_.W

    def _fit_restarts(self, X, b, k, A, B):
        """``n_restarts`` PCHA fits (one with ``init="custom"``); the lowest objective wins."""
        rng = check_random_state(self.random_state)
        start, best = time.perf_counter(), None
        for r in range(1 if self.init == "custom" else self.n_restarts):
            left = None if self.max_time is None else max(
                self.max_time - (time.perf_counter() - start), 0.0)
            if r and left == 0.0:
                break
            options = LoopOptions(max_iter=self.max_iter, tol=self.tol, max_time=left,
                                  loss_every=self.loss_every or 1, verbose=self.verbose,
                                  desc=f"archetypal[pcha] restart {r}")
            A0, B0, warm = self._start(X, b, k, A, B, rng)
            step = PCHAStep(X, b)
            if warm:
                A0, _ = step.a_phase(A0, B0 @ X, 25)
            outcome = run(step, step.state(A=A0, B=B0), options, step.objective).restart(0)
            if best is None or outcome.loss_history[-1] < best.loss_history[-1]:
                best = outcome
        return best

    def _store(self, A, B, Z, outcome, loss, sst):
        history = outcome.loss_history[:-1] + (loss,)
        self.archetypes_ = self.components_ = Z
        self.combination_ = B
        self.n_components_ = int(Z.shape[0])
        self.n_iter_ = outcome.n_iter
        self.loss_ = loss
        self.loss_history_ = history
        self.reconstruction_err_ = float(np.sqrt(2.0 * max(loss, 0.0)))
        self.explained_variance_ = 1.0 - 2.0 * loss / sst if sst > 0 else float("nan")
        self.converged_ = outcome.converged
        self.stop_reason_ = outcome.stop_reason
        info = {"B": B, "explained_variance": self.explained_variance_,
                "loss_iters": outcome.loss_iters, "reconstruction_err": self.reconstruction_err_}
        self.result_ = NMFResult(W=A, H=Z, loss=loss, loss_history=history, n_iter=outcome.n_iter,
                                 converged=outcome.converged, stop_reason=outcome.stop_reason,
                                 elapsed=outcome.elapsed, beta=2.0, solver="pcha", info=info)

    def transform(self, X):
        """Simplex codes of ``X`` on the fixed archetypes: ``argmin ‖x − a Z‖`` over the simplex."""
        check_is_fitted(self)
        values, b = self._data(X, reset=False)
        with _blas_limit(values):
            return simplex_codes(values, self.archetypes_, b)


def archetypal_analysis(X, n_archetypes, *, init="furthest_sum", A=None, B=None, n_restarts=1,
                        max_iter=500, tol=1e-6, max_time=None, loss_every=1, random_state=None,
                        verbose=0) -> NMFResult:
    r"""Archetypal analysis ``X ≈ A B X`` (the functional form of :class:`ArchetypalAnalysis`).

    Returns the estimator's ``result_``: ``W`` is the codes ``A`` (n_samples × k, rows on
    the simplex), ``H`` the archetypes ``Z = B X`` (k × n_features), ``info["B"]`` the
    sample weights ``B`` and ``info["explained_variance"]`` ``1 − ‖X − A Z‖²/‖X − X̄‖²``.
    ``X`` may have any sign. The parameters are those of :class:`ArchetypalAnalysis`;
    ``A`` and ``B`` start the fit with ``init="custom"``.

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit.models.archetypal import archetypal_analysis
    >>> X = np.random.default_rng(0).standard_normal((50, 4))
    >>> res = archetypal_analysis(X, 3, random_state=0)
    >>> res.W.shape, res.H.shape, bool(np.allclose(res.info["B"].sum(axis=1), 1))
    ((50, 3), (3, 4), True)
    """
    model = ArchetypalAnalysis(n_archetypes, init=init, n_restarts=n_restarts,
                               max_iter=max_iter, tol=tol, max_time=max_time, loss_every=loss_every,
                               random_state=random_state, verbose=verbose)
    model.fit_transform(X, A=A, B=B)
    return model.result_
