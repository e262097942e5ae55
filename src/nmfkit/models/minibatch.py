r"""Mini-batch (online) NMF: ``MiniBatchNMF``, for data in memory, in files, or streamed.

The objective is :class:`~nmfkit.NMF`'s; the fit visits the rows in mini-batches and
keeps, instead of ``X``, the sufficient statistics of the ``H`` update
(:mod:`nmfkit.solvers.online`): memory is O(batch_size × n_features + (n_samples +
n_features) × k) whatever ``X`` is, so a file larger than memory (``.h5ad``, ``.zarr``,
``.npy``; :func:`nmfkit.io.open_rows`) is fitted by streaming it.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .._result import NMFResult
from .._validation import check_n_components
from ..backends._random import check_random_state
from ..exceptions import ConvergenceWarning, NMFInputError
from ..losses import Penalty
from ..solvers import BlockPenalty, LoopOptions, run
from ..solvers.online import OnlineNMF
from ._base import BOOL, POSITIVE_FRACTION, POSITIVE_INT, FactorModel
from ._core import build_target, check_beta_data, fix_gauge, resolve_solver
from ._online_fit import EpochStep, Rows, codes_rows, is_row_source, start_H
from .nmf import NMF_PARAMS

__all__ = ["MiniBatchNMF"]

class MiniBatchNMF(FactorModel):
    r"""Mini-batch NMF: :class:`~nmfkit.NMF`'s objective, fitted one batch of rows at a time.

    Each step solves the codes of a batch for the current components (an exact NNLS
    for the Frobenius loss; the engine's multiplicative or HALS steps otherwise),
    adds the batch's share of the ``H`` update to running statistics decayed by
    ``forget_factor``, and updates ``H`` from them: online HALS for Frobenius (Mairal
    et al. 2010), online multiplicative updates for any β (Lefèvre et al. 2011). The
    data can be an array (NumPy, ``scipy.sparse``, torch), or a file or stream of
    rows too large for memory (a path or a :func:`nmfkit.io.open_rows` source:
    ``.h5ad``, ``.zarr``, ``.npy``, an iterable of row blocks), read one batch at a
    time.

    Parameters
    ----------
    n_components : int, default=2
    loss : str or float, default="frobenius"
        Any β (``"frobenius"``, ``"kl"``, ``"is"`` or a number).
    solver : {"auto", "hals", "mu"}, default="auto"
        The ``H`` update: ``"hals"`` (Frobenius without missing entries; the default
        there) or ``"mu"``.
    init : {"auto", "random", "nndsvd", "nndsvda", "nndsvdar", "custom"}, default="auto"
        How ``H`` starts, computed from the **first batch** (``"auto"``: ``"nndsvda"``);
        ``"custom"`` takes ``H`` from ``fit``'s keyword argument.
    batch_size : int, default=1024
        Rows per mini-batch.
    forget_factor : float in (0, 1], default=0.7
        ``partial_fit`` (streams) only: each call of ``b`` rows multiplies the past
        statistics by ``forget_factor ** (b / N)``, ``N`` the ``n_samples`` passed to
        ``partial_fit`` or else the rows seen so far (old batches then fade
        polynomially); 1 keeps every batch with equal weight. ``fit`` on a finite data
        set needs no such knob: with HALS each batch's contribution is *replaced* when
        the batch is revisited (the statistics are exactly the full data's at the latest
        codes, so every step lowers the full objective's surrogate); with MU an update
        uses this epoch's statistics plus the unreplaced share of the previous epoch's,
        so every row counts about once and nothing older than one pass is kept.
    max_iter : int, default=200
        Most epochs (passes over the data).
    tol : float, default=1e-4
        Stop when the epoch objective fell by less than ``tol`` relative to the previous
        epoch's (module docstring of :mod:`nmfkit.models._base` for the shared meaning);
        the epoch objective is the sum of the batches' objectives at their codes.
    max_time : float or None, default=None
        Seconds; checked after every batch (the final pass over the data, which gives
        every row its codes at the final components, runs after it).
    alpha_W, alpha_H, l1_ratio : float, default=0, "same", 0
        Penalties as in :class:`~nmfkit.NMF` (``l1_H = alpha_H · l1_ratio · n_samples``).
    shuffle : bool, default=True
        Visit the batches in a new random order every epoch (rows stay contiguous in
        their batch, so files are still read sequentially in blocks). A stream of blocks
        without random access (a callable returning an iterator) is read in order.
    max_inner : int, default=10
        Most engine steps for the codes of one batch during the fit when they are
        iterative (β ≠ 2 or missing entries; warm-started from the batch's previous
        codes); they also stop at a relative change of 1e-3. Measured on the mouse
        counts (KL), 10 reaches a lower objective per epoch *and* per second than 100
        (BENCHMARKS.md). The final pass and ``transform`` solve the codes to convergence.
    handle_missing : {"mask", "error"}, default="mask"
        In-memory data only: NaN entries are missing.
    random_state : int, Generator or None
    verbose : int, default=0
        1 shows a progress bar over the batches (on a terminal).

    Attributes
    ----------
    components_ : array (n_components, n_features)
    n_iter_ : int
        Epochs run (fractional epochs count as started ones).
    n_steps_ : int
        Mini-batch steps run (``partial_fit`` calls included).
    loss_ : float
        The objective of the final factors: ``W`` solved for the final ``H`` on every
        row (one more pass), penalties included.
    loss_history_ : tuple of float
        The epoch objectives; the last entry is ``loss_``.
    reconstruction_err_ : float
    converged_, stop_reason_ : bool, str
    result_ : NMFResult
    n_features_in_ : int

    Notes
    -----
    ``fit_transform(X)`` returns ``transform(X)`` for every loss. For Frobenius without
    missing entries that is the fit's final pass (an exact NNLS). For other losses the
    fit ends with one pass that refines each batch's own codes at the final components
    (``loss_`` and ``result_.W`` are at those codes), and ``fit_transform`` adds the
    converged solve of ``transform`` (costing several passes of multiplicative steps).

    Examples
    --------
    >>> import nmfkit
    >>> X = nmfkit.datasets.load_digits().X
    >>> model = nmfkit.MiniBatchNMF(n_components=10, batch_size=256, max_iter=20, random_state=0)
    >>> W = model.fit_transform(X)
    >>> W.shape, model.components_.shape
    ((1797, 10), (10, 64))
    """

    _own_params = {
        **NMF_PARAMS,
        "forget_factor": POSITIVE_FRACTION,
        "shuffle": BOOL,
        "max_inner": POSITIVE_INT,
    }
    _sparse_input = True

    def __init__(self, n_components=2, *, loss="frobenius", solver="auto", init="auto", batch_size=1024,
                 forget_factor=0.7, max_iter=200, tol=1e-4, max_time=None, alpha_W=0.0, alpha_H="same",
                 l1_ratio=0.0, shuffle=True, max_inner=5, handle_missing="mask", random_state=None,
                 verbose=0):
        self.n_components = n_components
        self.loss = loss
        self.solver = solver
        self.init = init
        self.batch_size = batch_size
        self.forget_factor = forget_factor
        self.max_iter = max_iter
        self.tol = tol
        self.max_time = max_time
        self.alpha_W = alpha_W
        self.alpha_H = alpha_H
        self.l1_ratio = l1_ratio
        self.shuffle = shuffle
        self.max_inner = max_inner
        self.handle_missing = handle_missing
        self.random_state = random_state
        self.verbose = verbose

    # -- input -----------------------------------------------------------------------------
    def _rows(self, X, mask, reset: bool) -> Rows:
        if is_row_source(X):
            if mask is not None:
                raise NMFInputError("mask= is for in-memory data; a row source (file) takes none: mark "
                                    "missing entries in memory, or fit the file without a mask")
            from ..io import open_rows

            source = open_rows(X)
            if source.count_rows() is None:
                raise NMFInputError(
                    "this row source is a one-pass stream of unknown length: fit it with partial_fit "
                    "(one call per block), or pass a callable that returns a fresh iterator")
            if reset:
                self.n_features_in_ = int(source.shape[1])
                if hasattr(self, "feature_names_in_"):
                    del self.feature_names_in_
            elif source.shape[1] != self.n_features_in_:
                raise NMFInputError(f"X has {source.shape[1]} features, but {type(self).__name__} was "
                                    f"fitted with {self.n_features_in_}; pass data with the same columns")
            rows = Rows(source=source)
            rows.batch_size = self.batch_size
            return rows
        data = self._check(X, reset)
        return Rows(target=build_target(data, mask))

    def _online(self, beta, solver, n_features, backend, epoch_rows=None) -> OnlineNMF:
        per_sample = Penalty.from_alphas(self.alpha_W, self.alpha_H, self.l1_ratio, 1, n_features)
        return OnlineNMF(beta, backend, solver, BlockPenalty(per_sample.l1_W, per_sample.l2_W),
                         BlockPenalty(per_sample.l1_H, per_sample.l2_H), max_inner=self.max_inner,
                         epoch_rows=epoch_rows)

    def _solver(self, beta, rows: Rows):
        masked = rows.target is not None and rows.target.M is not None
        solver = resolve_solver(self.solver, beta)
        if solver == "hals" and masked:
            if self.solver == "hals":
                raise NMFInputError("MiniBatchNMF's solver='hals' needs data without missing entries; "
                                    "use solver='mu' (or 'auto') with a mask or NaN")
            solver = "mu"
        return solver

    # -- fitting ---------------------------------------------------------------------------
    def fit_transform(self, X, y=None, W=None, H=None, mask=None):
        """Fit on ``X`` (array, path or row source) and return the codes of its rows.

        The codes are ``transform(X)`` (for Frobenius without missing entries the fit's
        final pass already is that exact NNLS; otherwise one more pass solves them to
        convergence, while ``result_.W`` keeps the fit's own codes). ``H`` starts the fit
        when ``init="custom"`` (``W`` is not used: codes are solved).
        """
        self._fit(X, H=H, mask=mask)
        W_fit = self._W_final
        del self._W_final
        return W_fit if self._solver_ == "hals" else self.transform(X, mask=mask)

    def fit(self, X, y=None, W=None, H=None, mask=None):
        """Fit on ``X`` (array, path or row source); returns ``self``."""
        self._fit(X, H=H, mask=mask)
        del self._W_final
        return self

    def _fit(self, X, H=None, mask=None):
        params = self._validate_params()
        beta = params["loss"]
        rows = self._rows(X, mask, reset=True)
        k = check_n_components(self.n_components, rows.shape)
        solver = self._solver(beta, rows)
        if rows.target is not None:
            check_beta_data(rows.target, beta)
        rng = check_random_state(self.random_state)
        n, m = rows.shape
        batch = min(self.batch_size, n)
        online = self._online(beta, solver, m, rows.backend, epoch_rows=n)
        state = online.start(start_H(rows, k, self.init, H, rng, self.batch_size))
        Wstore = rows.backend.zeros((n, k), rows.dtype)
        penalty = Penalty.from_alphas(self.alpha_W, self.alpha_H, self.l1_ratio, n, m)
        step = EpochStep(online, rows, Wstore, batch, rng, self.shuffle and not rows.stream, penalty)
        n_batches = step.starts.size
        options = LoopOptions(max_iter=self.max_iter * n_batches, tol=self.tol, max_time=self.max_time,
                              loss_every=n_batches, verbose=self.verbose, warn=False,
                              desc=f"minibatch[{solver}]")
        outcome = run(step, state, options, lambda st: np.array([step.estimate(st)]),
                      initial_losses=np.array([np.nan]))
        self._online_, self._state_ = online, state
        self._beta, self._solver_ = beta, solver
        self._n_seen, self._pass_seen = n, 0
        online.new_epoch(state)  # a later partial_fit starts a new pass
        self.n_steps_ = int(outcome.n_iter[0])
        self.n_iter_ = int(-(-self.n_steps_ // n_batches))
        self._finish(rows, outcome, penalty, time.perf_counter(), out=Wstore)
        if self.stop_reason_ == "max_iter" and self.tol > 0:
            warnings.warn(f"MiniBatchNMF: stopped at max_iter={self.max_iter} epochs before the epoch "
                          f"objective's relative decrease fell below tol={self.tol:g}; raise max_iter or tol",
                          ConvergenceWarning, stacklevel=3)

    def _finish(self, rows: Rows, outcome, full_pen: Penalty, t0: float, out=None):
        """The final pass: codes of every row for the final ``H``, the exact objective
        (written over ``out``, the fit's warm starts, to hold one n × k array less).

        After Ctrl-C (in the loop or in this pass) no further pass is made and what was
        computed is kept: the components, the fit's own codes (refined where this pass got
        to), the last epoch's objective estimate as ``loss_`` and ``stop_reason_ =
        "interrupted"``."""
        H = self._state_["H"][0]
        interrupted = outcome.stop_reason[0] == "interrupted"  # Ctrl-C in the loop: no more passes
        W, div = out, float("nan")
        if not interrupted:
            try:
                W, div = codes_rows(self._online_, rows, H, self.batch_size, out=out, warm=True)
            except KeyboardInterrupt:
                interrupted = True
        b = rows.backend
        loss = div + (full_pen.value(W, H, b) if full_pen.any else 0.0)
        if interrupted:
            loss = float(outcome.loss_history[0][-1])
        W, Hg = fix_gauge(W, H, b, normalise=not full_pen.any)
        # the loop's first entry is the (unknown) start; the last epoch estimate is replaced by
        # the exact objective of the final factors
        hist = list(outcome.loss_history[0][1:-1]) + [float(loss)]
        iters = list(outcome.loss_iters[0][1:-1]) + [int(outcome.n_iter[0])]
        self.components_ = Hg
        self.n_components_ = int(Hg.shape[0])
        self.loss_ = float(loss)
        self.loss_history_ = tuple(hist)
        self.reconstruction_err_ = float(np.sqrt(2.0 * max(div, 0.0))) if not interrupted else float("nan")
        self.converged_ = bool(outcome.converged[0])
        self.stop_reason_ = "interrupted" if interrupted else outcome.stop_reason[0]
        elapsed = outcome.elapsed + (time.perf_counter() - t0)
        self.result_ = NMFResult(W=W, H=Hg, loss=float(loss), loss_history=tuple(hist), n_iter=self.n_iter_,
                                 converged=self.converged_, stop_reason=self.stop_reason_, elapsed=elapsed,
                                 beta=self._beta, solver=f"minibatch-{self._solver_}",
                                 info={"loss_iters": tuple(iters), "divergence": float(div),
                                       "reconstruction_err": self.reconstruction_err_,
                                       "n_steps": self.n_steps_, "batch_size": self.batch_size,
                                       "penalty": full_pen.__dict__.copy()})
        self._W_final = W

    def partial_fit(self, X, y=None, W=None, H=None, mask=None, n_samples=None):
        """One mini-batch step on the rows of ``X`` (the streaming use); returns ``self``.

        The first call starts ``H`` from ``init`` on ``X``. Without ``n_samples`` (an
        open-ended stream) the past statistics are multiplied by
        ``forget_factor ** (len(X) / N)``, ``N`` the rows seen so far. With ``n_samples``
        (the rows of one pass over a data set streamed in blocks) the statistics follow
        ``fit``'s epochs instead (MU: this pass plus the unreplaced share of the last;
        HALS: decayed by ``forget_factor ** (len(X) / n_samples)``), so that with
        ``forget_factor=1`` ``partial_fit`` over the batches of a data set is the same
        computation as one epoch of ``fit`` with ``shuffle=False``.
        """
        first = not hasattr(self, "_state_")
        params = self._validate_params()
        beta = params["loss"]
        rows = self._rows(X, mask, reset=first)
        n_b, m = rows.shape
        if first:
            k = check_n_components(self.n_components, (max(n_b, 1), m)) if n_b >= 1 else None
            solver = self._solver(beta, rows)
            if rows.target is not None:
                check_beta_data(rows.target, beta)
            rng = check_random_state(self.random_state)
            online = self._online(beta, solver, m, rows.backend,
                                  epoch_rows=n_samples if solver == "mu" else None)
            self._online_, self._beta, self._solver_ = online, beta, solver
            self._state_ = online.start(start_H(rows, k, self.init, H, rng, self.batch_size))
            self._n_seen = self._pass_seen = 0
            self.n_steps_ = 0
        elif rows.target is not None:
            check_beta_data(rows.target, beta)
        online = self._online_
        for s in range(0, n_b, self.batch_size):  # a call larger than batch_size is split
            e = min(n_b, s + self.batch_size)
            self._n_seen += e - s
            if online.epoch_rows:
                if self._pass_seen >= online.epoch_rows:
                    online.new_epoch(self._state_)
                    self._pass_seen = 0
                self._pass_seen += e - s
                online.step(self._state_, rows.batch(s, e), 1.0,
                            fraction=self._pass_seen / online.epoch_rows)
            else:
                N = self._n_seen if n_samples is None else n_samples
                online.step(self._state_, rows.batch(s, e), self.forget_factor ** ((e - s) / max(N, 1)))
            self.n_steps_ += 1
        self.components_ = self._state_["H"][0]
        self.n_components_ = int(self.components_.shape[0])
        return self

    # -- using the fit -----------------------------------------------------------------------
    def transform(self, X, mask=None):
        """Codes ``W >= 0`` of the rows of ``X`` (array, path or row source) on the fitted
        components: an exact NNLS for Frobenius, the engine's iterative solve otherwise."""
        check_is_fitted(self)
        rows = self._rows(X, mask, reset=False)
        if rows.target is not None:
            check_beta_data(rows.target, self._beta)
        H = rows.backend.cast_like(self.components_, rows.target.X) if rows.target is not None \
            else self.components_
        return codes_rows(self._online_, rows, H, self.batch_size)[0]

    def score(self, X, y=None, mask=None):
        """Minus the mean divergence per observed entry of ``X`` from its codes (higher is better)."""
        check_is_fitted(self)
        rows = self._rows(X, mask, reset=False)
        H = rows.backend.cast_like(self.components_, rows.target.X) if rows.target is not None \
            else self.components_
        _, div = codes_rows(self._online_, rows, H, self.batch_size)
        n_obs = rows.target.n_observed if rows.target is not None else float(rows.shape[0] * rows.shape[1])
        return -div / n_obs
