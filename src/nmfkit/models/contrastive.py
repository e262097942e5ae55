r"""Background-contrastive NMF: programs enriched in a target over a matched background.

Target ``X`` (n_X × m) and background ``Y`` (n_Y × m), samples as rows, share a
non-negative basis ``H`` (k × m, ``components_``); ``W_X`` (n_X × k) and ``W_Y``
(n_Y × k) are their codes. The fit solves

.. math::
    \min_{H \ge 0,\, W_X \ge 0}\; \frac{D(X \mid W_X H)}{E_X}
      \;-\; \alpha\, \min_{W_Y \ge 0} \frac{D(Y \mid W_Y H)}{E_Y}

(the idea of bcNMF, Li, Yang & Li 2026): explain the target, while the best fit of
the background on the same basis stays poor, so the basis keeps what the target has
and the background lacks. ``D`` sums ``d(x|y) = ½(x-y)²`` (``loss="frobenius"``) or
``x log(x/y) - x + y`` (``loss="kl"``) over the **observed** entries (NaN = missing).

**How α is scaled.** Each term is divided by its own size ``E``: ``E = ½ Σ X²``
(the divergence of the zero matrix) for Frobenius, ``E = Σ X`` for KL, over observed
entries. For Frobenius the objective is therefore
``(1 − R²_X) − α (1 − R²_Y)`` with ``R²`` the (uncentred) share of each dataset's
energy that the basis explains. Multiplying ``X`` or ``Y`` (or both) by a constant, or
repeating / resampling samples, leaves ``L`` unchanged (D and E scale together), so
one α means the same on any data: ``α = 1`` weighs a point of explained target
energy against a point of explained background energy; programs that explain the
two equally are dropped for any ``α > 1``.

**Why it is bounded** (the reference objective is unbounded below: scaling the
basis up, or the background codes, sends it to −∞). Three rules make it bounded:

1. *gauge*: each row of ``H`` sums to one after every step (scale moved into the codes);
2. *best-fit background*: after every code step each sample is moved to its optimal
   scale ``c_i = argmin_c D(y_i | c ŷ_i)``, which never raises the divergence, so
   ``W_Y`` tracks ``argmin_{W_Y} D(Y | W_Y H)`` and cannot grow without bound;
3. *floor*: every basis entry is at least ``basis_floor`` (KL only needs it).

*Frobenius*: at the optimal scale ``‖y − c ŷ‖² = ‖y‖² − ⟨y, ŷ⟩²/‖ŷ‖² ≤ ‖y‖²``, so
``0 ≤ D_Y/E_Y ≤ 1`` and likewise ``0 ≤ D_X/E_X ≤ 1``: **−α ≤ L ≤ 1**. The target's
reconstruction is never worse than the zero matrix, and since ``‖ŷ_i‖ ≤ ‖y_i‖`` and
``‖w H‖² ≥ Σ_j w_j² / m`` (rows of ``H`` sum to one) every code obeys
``w_ij ≤ √m ‖x_i‖``: nothing overflows. *KL*: the optimal scale matches totals,
``Σ ŷ = Σ y``; with ``H ≥ ε = basis_floor`` each ``ŷ_f ≥ ε Σ_f ŷ_f = ε Σ y``, hence
``D(y | ŷ) = Σ y_f log(y_f/ŷ_f) ≤ Σ y log(1/ε)``, so **L ≥ −α log(1/ε)** (≈ −23 α for
the default ε = 1e-10). Codes are also floored (1e-12 × the mean row total of their
data) so none decays into float32 subnormals.

**Background programs** (``n_background_components = k_b > 0``). An NMF of the
background alone (same loss, ``k_b`` components) is fitted first; its basis ``H_b``
joins the basis as ``k_b`` fixed rows ahead of the ``k`` contrastive ones, and both
datasets' codes are fitted on the whole basis ``[H_b; H]``. Two things follow.
(i) The target's codes on ``H_b`` absorb what it shares with the background, including
the offsets that shared programs leave on target-specific features, so the codes on
``H`` carry only the target-specific programs. (ii) The background's best fit on
``[H_b; H]`` is at least as good as on ``H_b`` alone, so ``D_Y ≤ D_b`` (the background
NMF's divergence) and **L ≥ −α D_b/E_Y**: the contrast is bounded by the data, not by
the floor, and KL works for any α (the rows of ``H`` cannot profit from making the
background's fit worse than its own NMF). On the bcNMF count simulation, KL on the
raw counts with ``k_b = 7`` and the default α reaches a subtype ARI ≥ 0.99 for every
background strength β ∈ {0, …, 16}, and so does the Frobenius loss on the
log-normalised counts with the same ``k_b`` (0.996 at β = 16; the plain model 0.964).

**Choosing α.** Frobenius: α > 1 drops every program the two datasets share; the
default 2 recovers target-only programs on the bcNMF count simulation for β ≤ 8.
KL without background programs: the background term is not capped by a zero model
(the KL divergence of the zero matrix is infinite), so for α ≥ 1 the optimum pushes
the basis onto its floor (bounded, but flagged as degenerate); use α < 1 (0.3–0.6
works on the mice protein data), or background programs, with which the default 2
works. :func:`nmfkit.contrastive_path` gives label-free guidance and
``contrastive_path(...).choose()`` picks ``(k, α)`` by a documented rule.

**Single-cell counts** (issue 17, ``benchmarks/bench_contrastive_real.py``): KL on raw UMI
counts missed a program of a few tens of weakly expressed genes planted in half the
target cells. What works is ``preprocess="log1p_cp10k"`` with the Frobenius loss, no
background programs and ``(k, α)`` from ``contrastive_path(X, Y,
preprocess="log1p_cp10k").choose()``: median ARI 1.0 over the benchmark's cases, at least
contrastive PCA's label-free choice on each (the recipe that opens the guide).

**Stopping.** Full batch: when ``|ΔL|`` over 10 iterations, relative to the target
term ``D_X/E_X``, falls below ``tol`` (``L`` is not monotone:
the background codes' steps towards their best fit raise it, so a rise is not taken
for convergence; and ``L`` itself can be near 0). Mini-batch: when ``L`` over 10
epochs falls by less than ``tol`` of that term (a rise included: no progress).

**Updates.** Multiplicative (matrix products only, so they run on a GPU through the
backend layer): the basis step uses the positive/negative gradient parts of both
terms with the background's swapped (a majorise-minimise step for fixed codes), the
code steps are ordinary MU steps followed by the optimal scale. See
:mod:`nmfkit.solvers.contrastive`.
"""

from __future__ import annotations

from sklearn.utils.validation import check_is_fitted

from .._result import ContrastiveResult
from .._validation import check_data, check_features, check_fitted_backend
from ..backends import get_namespace
from ..losses import Penalty
from ._base import FactorModel
from ._contrastive_fit import (
    CONTRASTIVE_LOSSES,
    CONTRASTIVE_PARAMS,
    PairOptions,
    check_pair,
    background_argument,
    fit_pair,
    zero_unobserved_rows,
)
from ._contrastive_preprocess import apply_preprocess, prepare_pair, say_resolved
from ._contrastive_result import _pack
from ._core import build_target, project

__all__ = ["ContrastiveNMF", "ContrastiveResult", "contrastive_nmf", "DEFAULT_ALPHA"]

#: The default contrast: programs must explain the target at least twice as well
#: (in share of energy) as the background to be worth keeping.
DEFAULT_ALPHA = 2.0


def _concat_rows(A, B):
    return get_namespace(A).concat([A, B], axis=0)


def contrastive_nmf(X_target, X_background, n_components: int = 2, *,
                    alpha: float = DEFAULT_ALPHA, loss: str = "frobenius", n_restarts: int = 4,
                    max_iter: int = 1000, tol: float = 1e-5, max_time: float | None = None,
                    batch_size: int | None = None, basis_floor: float = 1e-10,
                    handle_missing: str = "mask", n_background_components: int = 0,
                    preprocess: str | None = "auto", random_state=None, verbose: int = 0,
                    callback=None) -> ContrastiveResult:
    r"""Background-contrastive NMF of a target against a background (functional form).

    Minimises the objective of :mod:`nmfkit.models.contrastive` (module docstring):
    ``D(X | W_X H)/E_X − α min_{W_Y} D(Y | W_Y H)/E_Y``. Parameters are those of
    :class:`ContrastiveNMF` (this function fits one and returns its ``result_``, with
    DataFrames where the inputs were); ``callback(n_iter, (W_X, W_Y), H, loss)`` runs
    at each loss check (return True to stop).

    Returns
    -------
    ContrastiveResult
        An :class:`nmfkit.NMFResult` (``W`` the target codes, ``H`` the basis) with the
        background's codes, the enrichment and the restarts; components are named
        ``contrastivenmf0, …`` and background programs ``contrastivenmf_bg0, …``.

    Examples
    --------
    >>> import nmfkit
    >>> from nmfkit.datasets import make_contrastive_counts
    >>> X, Y = make_contrastive_counts(beta=8, random_state=0).log_normalized()
    >>> res = nmfkit.contrastive_nmf(X, Y, 2, n_restarts=1, random_state=0)
    >>> res.H.shape, res.W_target.shape, bool(res.enrichment.min() > 0)
    ((2, 3000), (1000, 2), True)
    """
    model = ContrastiveNMF(n_components, alpha=alpha, loss=loss, n_restarts=n_restarts,
                           max_iter=max_iter, tol=tol, max_time=max_time, batch_size=batch_size,
                           basis_floor=basis_floor, handle_missing=handle_missing,
                           n_background_components=n_background_components,
                           preprocess=preprocess, random_state=random_state, verbose=verbose)
    return model._fit_result(X_target, X_background, callback=callback, labels=True)


class ContrastiveNMF(FactorModel):
    r"""Background-contrastive NMF (scikit-learn style; ``fit(X_target, X_background)``).

    Minimises, over a shared basis ``H`` and target codes ``W_X`` (background codes
    ``W_Y`` being their best fit),

    .. math::
        L = \frac{D(X \mid W_X H)}{E_X} - \alpha\,\frac{D(Y \mid W_Y H)}{E_Y}

    with ``E = ½ Σ X²`` (Frobenius) or ``Σ X`` (KL) over observed entries. The module
    docstring (:mod:`nmfkit.models.contrastive`) states the scaling rule of α and
    proves the bound ``−α ≤ L ≤ 1`` (Frobenius; ``L ≥ −α log(1/basis_floor)`` for KL).

    Parameters
    ----------
    n_components : int, default=2
        Number of shared components k.
    alpha : float, default=2.0
        Contrast strength, ``>= 0`` (0 is plain NMF of the target). The same value
        means the same on any data scale and any numbers of samples. Frobenius:
        above 1 shared programs are dropped; KL: keep it below 1 (module docstring).
    loss : {"frobenius", "kl"}, default="frobenius"
        Also their aliases ("euclidean", 2; "kullback-leibler", "poisson", 1); other βs
        raise an error.
    n_restarts : int, default=4
        Independent random starts; the kept one has the lowest final ``L`` among the
        non-degenerate runs. Degenerate: non-finite, or a target fit no better than the
        zero matrix (Frobenius: ``D_X/E_X >= 1``), or, for KL, a basis sitting on its
        floor (``D_X/E_X = Σ x log(x/ŷ)/Σ x >= log 100``: data reconstructed ~100 times
        too small). ``L`` is bounded below, so no run can win by collapsing; if every
        run is degenerate a ConvergenceWarning says so.
    max_iter : int, default=1000
    tol : float, default=1e-5
        Stop when the change of ``L`` over 10 iterations (between two loss checks),
        relative to the target term ``D_X/E_X``, falls below ``tol`` (module docstring,
        "Stopping"; the one meaning of ``tol``: :mod:`nmfkit.models._base`).
    max_time : float, optional
        Seconds for all restarts together.
    batch_size : int, optional
        Mini-batch training: each epoch walks the target in batches of this many
        samples and the background in as many batches; ``None`` is full batch.
    basis_floor : float, default=1e-10
        Lower bound of the basis entries (rows sum to one).
    handle_missing : {"mask", "error"}, default="mask"
        NaN entries are left out of both terms (their weight is 0), or rejected.
    n_background_components : int, default=0
        Background programs: an NMF of the background alone (same loss, this many
        components) is fitted first and its basis joins the shared basis as fixed rows,
        ahead of the ``n_components`` contrastive components. The target's codes on them
        absorb what the target shares with the background (the offsets a shared program
        leaves on target-specific features), so the contrastive components and their
        codes carry only the target-specific programs; and the background's best fit is
        never worse than on the background programs alone, which bounds the KL
        contrast by the background-only fit (so ``α >= 1`` is usable with KL). Use a
        value at or above the number of programs the background has (rank selection on
        the background, :func:`nmfkit.selection.rank_search`, gives it).
    preprocess : {"auto", None, "log1p_cp10k", "scale"}, default="auto"
        Transform applied to both datasets (and to the data of :meth:`transform`) before
        the fit. ``"auto"``: ``None`` for integer counts and data rich in zeros, else
        ``"scale"`` (class Notes; the value used is ``preprocess_``). ``"log1p_cp10k"``
        scales each sample to 10,000 (over its observed entries) and takes ``log1p``; the
        data must then be raw counts: the recommended setting for single-cell counts
        (module docstring, "Single-cell counts"). ``"scale"``, for measurements whose
        features differ in level and spread (protein levels, intensities; any sign): in
        each dataset on its own, every feature is shifted so its smallest observed value
        is 0 and divided by its standard deviation, the non-negative analogue of
        contrastive PCA's per-dataset standardisation. Without it the uncentred fit
        spends its components on each feature's mean level, and a mean shift between
        target and background (the mice data's behavioural protocol) becomes the
        "target-specific" program: on the mice protein data (issue 17 point 5) the
        defaults (``"auto"`` → ``"scale"``) and ``(k, α)`` from
        ``contrastive_path(X, Y).choose()`` reach a median genotype ARI of 0.639 over 5
        seeds (supervised ceiling 0.737), against 0.053 with ``None`` (``BENCHMARKS.md``,
        "Mice protein"). Its statistics are the fitted target's: :meth:`transform`
        applies them to new samples. ``None`` fits the data as given (the default before
        ``"auto"``).
    random_state : int, Generator or None
    verbose : int, default=0

    Attributes
    ----------
    components_ : array (k, n_features)
        The contrastive basis, rows summing to one, ordered by enrichment.
    background_components_ : array (n_background_components, n_features)
        The background programs (rows sum to one; 0 rows by default).
    target_codes_, background_codes_ : arrays (n_target, k), (n_background, k)
        Codes on ``components_`` (with background programs: fitted together with the
        codes on them, which are ``target_shared_codes_`` and ``background_shared_codes_``).
    enrichment_ : ndarray (k,)
        ``log2(mean target usage / mean background usage)`` per component, where the
        usage of component j by a sample is ``W_ij / Σ_f x_if`` (the share of the
        sample's own total that the component reconstructs; missing entries count at
        the sample's mean). Scale-free; positive = used more by the target.
    loss_, target_loss_, background_loss_ : float
    loss_history_ : tuple of float
        The objective ``L`` (the true, bounded one) at each check.
    n_iter_, converged_, stop_reason_, restart_losses_ :
    result_ : ContrastiveResult
        The whole outcome (arrays; :func:`contrastive_nmf` labels it).
    n_features_in_, feature_names_in_ :
    preprocess_ : {None, "log1p_cp10k", "scale"}
        The transform the fit applied (``preprocess`` with ``"auto"`` resolved, class
        Notes); :meth:`transform` applies the same. Also ``result_.info["preprocess_used"]``.

    Notes
    -----
    **preprocess="auto"** (issue 17 point 5), resolved once from both datasets so both get
    the same transform: ``None`` when both are integer-valued (counts: the KL loss models
    them, ``"log1p_cp10k"`` transforms them) or either has zeros in at least a tenth of
    its observed entries (0 means "absent": log-normalised or sparse data, where a
    per-dataset division would blow a background's near-empty features up to the
    target's spread); else ``"scale"``, the per-dataset standardisation contrastive PCA
    applies by default, for strictly positive measurements in per-feature units (protein
    levels, intensities). Negative entries are never shifted: the usual error names
    ``preprocess="scale"``. Its cost on data without zeros: a target-only program on
    features nearly empty in the background is erased (planted data: ARI 1.0 with
    ``None``, about 0 scaled); pass ``None`` when the features share one scale and their
    levels are the signal (``None`` is also the behaviour before "auto"; ``verbose >= 1``
    prints the value resolved; the guide, "Preprocessing", has the measurements).

    ``fit(X_target, X_background)``: the background is the second argument or the
    keyword ``X_background``. It must be 2-D with the target's features: a 1-D second
    argument (the labels ``y`` a :class:`~sklearn.pipeline.Pipeline` passes to its last
    step) raises an error; in a Pipeline pass ``pipe.fit(X, <step>__X_background=Y)``
    (the background does not go through the Pipeline's earlier steps).
    Inputs are samples × features: the target's and the background's features must
    be the same (for two DataFrames, the same column labels in the same order).
    Torch tensors are computed on their device, float32 stays float32. With the
    Frobenius loss and no missing entries the final codes of both datasets are exact
    non-negative least-squares fits on the final basis (as :meth:`transform` gives).

    Examples
    --------
    >>> from nmfkit import ContrastiveNMF
    >>> from nmfkit.datasets import make_contrastive_counts
    >>> d = make_contrastive_counts(beta=8, random_state=0)
    >>> X, Y = d.log_normalized()  # cells scaled to the median total count, then log1p
    >>> model = ContrastiveNMF(2, n_restarts=1, random_state=0).fit(X, Y)
    >>> model.components_.shape, model.target_codes_.shape
    ((2, 3000), (1000, 2))
    >>> from sklearn.cluster import KMeans
    >>> from sklearn.metrics import adjusted_rand_score
    >>> subtypes = KMeans(2, n_init=10, random_state=0).fit_predict(model.target_codes_)
    >>> adjusted_rand_score(d.labels, subtypes) > 0.99
    True
    """

    def __init__(self, n_components=2, *, alpha=DEFAULT_ALPHA, loss="frobenius", n_restarts=4,
                 max_iter=1000, tol=1e-5, max_time=None, batch_size=None, basis_floor=1e-10,
                 handle_missing="mask", n_background_components=0, preprocess="auto",
                 random_state=None, verbose=0):
        self.n_components = n_components
        self.alpha = alpha
        self.loss = loss
        self.n_restarts = n_restarts
        self.max_iter = max_iter
        self.tol = tol
        self.max_time = max_time
        self.batch_size = batch_size
        self.basis_floor = basis_floor
        self.handle_missing = handle_missing
        self.n_background_components = n_background_components
        self.preprocess = preprocess
        self.random_state = random_state
        self.verbose = verbose

    _own_params = CONTRASTIVE_PARAMS
    _losses = CONTRASTIVE_LOSSES
    _sparse_input = True

    def fit(self, X_target, y=None, *, X_background=None, callback=None):
        """Fit the shared basis; returns ``self``.

        The background is ``X_background`` or, if that is not given, the second
        argument ``y`` when it is a 2-D matrix (``fit(X_target, X_background)``);
        1-D labels are refused (class Notes).
        """
        self._fit_result(X_target, background_argument(X_target, y, X_background), callback=callback)
        return self

    def fit_transform(self, X_target, y=None, *, X_background=None, callback=None):
        """Fit and return the target codes ``target_codes_`` (background as in :meth:`fit`)."""
        self._fit_result(X_target, background_argument(X_target, y, X_background), callback=callback)
        return self.target_codes_

    def _fit_result(self, X_target, X_background, *, callback=None, labels=False):
        p = self._validate_params()
        self._set_features(X_target)
        X_target, X_background, used, stats = prepare_pair(X_target, X_background, p["preprocess"])
        dX, dY = check_pair(X_target, X_background, allow_nan=self.handle_missing == "mask")
        self.preprocess_, self._preprocess_stats = used, stats
        say_resolved("ContrastiveNMF", p["preprocess"], used, self.verbose)
        options = PairOptions(alpha=p["alpha"], beta=p["loss"], n_restarts=self.n_restarts,
                              max_iter=self.max_iter, tol=self.tol, max_time=self.max_time,
                              batch_size=self.batch_size, basis_floor=self.basis_floor,
                              random_state=self.random_state, verbose=self.verbose,
                              callback=callback, n_shared=self.n_background_components)
        fit = zero_unobserved_rows(fit_pair(dX, dY, self.n_components, options), dX, dY)
        self._store(fit)
        if not labels:
            return self.result_
        res = _pack(fit, self.alpha, dX, dY)
        res.info["preprocess_used"] = self.preprocess_
        return res

    def _set_features(self, X):
        if hasattr(X, "shape") and len(X.shape) == 2:
            check_features(self, X, reset=True)

    def _store(self, fit):
        r = self.result_ = _pack(fit, self.alpha)
        r.info["preprocess_used"] = self.preprocess_
        self.components_, self.target_codes_, self.background_codes_ = r.H, r.W, r.W_background
        self.background_components_ = r.H_shared
        self.target_shared_codes_ = r.W_target_shared
        self.background_shared_codes_ = r.W_background_shared
        self.enrichment_ = r.enrichment
        self.n_components_ = int(r.H.shape[0])
        self.loss_ = fit.loss
        self.target_loss_ = fit.target_loss
        self.background_loss_ = fit.background_loss
        self.loss_history_ = fit.loss_history
        self.n_iter_ = fit.n_iter
        self.converged_ = fit.converged
        self.stop_reason_ = fit.stop_reason
        self.restart_losses_ = fit.restart_losses
        self._beta = fit.beta

    def transform(self, X):
        """Codes ``W >= 0`` of ``X`` on ``components_`` (n_samples × k).

        An exact non-negative least-squares projection for the Frobenius loss without
        missing entries; otherwise multiplicative updates to convergence. With
        background programs the codes are fitted on both bases together and those on
        ``components_`` returned. ``X`` gets the fit's transform (``preprocess_``); with
        ``"scale"`` it is shifted and divided by the fitted target's statistics (not its
        own), so a sample's codes do not depend on the batch it comes in.
        """
        check_is_fitted(self)
        shaped = hasattr(X, "shape") and len(X.shape) == 2
        if shaped:
            check_features(self, X, reset=False)  # before the fitted statistics meet X
        # "scale": the fitted target's shift and divisor per feature (new samples in the
        # units of the fit, any number of them), not the batch's own
        X = apply_preprocess(X, getattr(self, "preprocess_", self.preprocess), "X",
                             stats=getattr(self, "_preprocess_stats", None))
        data = check_data(X, allow_nan=self.handle_missing == "mask")
        check_fitted_backend(self.components_, data.backend, "ContrastiveNMF")
        if not shaped:  # a list of rows: counted once it is a matrix
            check_features(self, X, reset=False)
        target = build_target(data)
        n_shared = int(self.background_components_.shape[0])
        H = _concat_rows(self.background_components_, self.components_)
        H = target.backend.cast_like(H, target.X)
        return project(target, H, beta=self._beta, penalty=Penalty())[:, n_shared:]
