r"""The estimator base: every parameter declared once, checked once, meaning one thing.

:data:`COMMON` is the one table of the parameters several models share; each estimator
adds only its own (``_own_params``) and the betas its math supports (``_losses``).
:meth:`FactorModel._validate_params` checks the constructor's parameters against the
merged table (scikit-learn's ``_parameter_constraints`` idea, with nmfkit's errors:
:class:`~nmfkit.exceptions.NMFInputError` naming the argument, the problem and the
fix). The functional forms (:func:`nmfkit.nmf`, :func:`nmfkit.contrastive_nmf`) build
the estimator and return its ``result_``, so they share the declaration too.

What the shared names mean in every model
-----------------------------------------
``n_components``
    The number of components k (the rank), ``1 <= k <= min(n_samples, n_features)``.
``loss``
    The divergence, by name or as β: ``"frobenius"`` / ``"euclidean"`` / 2,
    ``"kl"`` / ``"kullback-leibler"`` / ``"poisson"`` / 1, ``"is"`` / ``"itakura-saito"`` / 0,
    or any β where the model takes any β. A model whose math covers only some βs raises
    an error naming the ones it takes. ``"nb"`` / ``"negative_binomial"`` (negative
    binomial, with the parameter ``dispersion``) where the model declares it
    (``_nb_loss``: :class:`~nmfkit.NMF`).
``dispersion``
    The negative binomial's size α (``Var x = μ + μ²/α``; α → ∞ is Poisson), used only
    with ``loss="nb"``: ``"per_sample"`` (one α per sample, i.e. per row of X, estimated
    by maximum likelihood), ``"global"`` (one α, estimated), or fixed: a number > 0 or an
    array of one value > 0 per sample.
``tol``
    One meaning: a **relative tolerance on the objective between two consecutive loss
    checks**. The fit has converged (``converged_ = True``, ``stop_reason_ = "tol"``)
    when the objective moved by less than ``tol`` times its scale since the previous
    check; ``tol = 0`` runs ``max_iter`` iterations. Each model states its objective,
    its scale and how often it checks: NMF, ConvexNMF and SemiNMF check every
    ``loss_every`` iterations and compare the decrease with ``|L_prev|``;
    ContrastiveNMF checks every 10 iterations and compares ``|ΔL|`` with its target
    term (its ``L`` is a difference of terms, not monotone, and can be near 0);
    NonnegativeAutoencoder checks every epoch and asks for ``n_iter_no_change``
    consecutive epochs without an improvement of ``tol`` relative to the best objective.
``max_iter``
    Most outer iterations (epochs for the autoencoder) of one fit (per restart).
``max_time``
    Seconds of the whole fit (all restarts together); None: no limit.
``loss_every``
    Iterations between loss checks (None: the model's default).
``init``
    How the factors start; ``"custom"`` takes them from ``fit``'s keyword arguments.
    The choices depend on the model.
``random_state``
    int, ``numpy.random.Generator``, ``RandomState`` or None; the same seed on the
    same backend gives the same result.
``verbose``
    0 is silent; 1 shows a progress bar on a terminal.
``handle_missing``
    ``"mask"``: NaN entries are missing and left out of the objective; ``"error"``:
    NaN is an error. (Models without missing-value handling do not take it; NaN is
    an error there.)
``batch_size``
    Samples per mini-batch; None is full batch.

Data far from unit scale
------------------------
The solvers floor ``W H`` at an absolute ``1.2e-7`` where they divide by it, and
square the data in Gram products, so a matrix whose largest entry is ~1e-8 (KL) or
1e-300 fits to zero and one at 1e300 overflows. :func:`~nmfkit._validation.check_data`
measures the largest observed entry ``m`` on its one pass. A model with ``_rescale``
(:class:`~nmfkit.NMF`, :func:`nmfkit.nmf`, :class:`~nmfkit.SparseNMF`) whose data has ``m`` outside
``COMFORT_RANGE`` = [2^-10, 2^40] fits ``X / s`` with ``s`` the power of two next to
``m`` (exact: no rounding) and multiplies the codes back: ``W = s W'``, ``H = H'``
(rows of ``H`` sum to one), so ``W H ≈ X`` in ``X``'s units. A β-divergence is
homogeneous of degree β (``D_β(sX | sY) = s^β D_β(X | Y)``), so the reported objective,
its history and ``divergence`` are multiplied by ``s^β`` and ``reconstruction_err`` by
``s^(β/2)``; where that overflows float64 (Frobenius at 1e300) they stay in the rescaled
units and ``info["loss_units"] = "X / data_scale"``. ``info["data_scale"]`` holds ``s``.
Penalties (``alpha_W`` / ``alpha_H``) apply to the rescaled problem, and the negative
binomial (a count model) is refused on rescaled data. ``transform`` codes ``X`` with the
fit's ``s``. Every other model (and every function that reads data with ``check_data``)
refuses data outside ``SAFE_RANGE`` (largest entry in [2^-20, 2^60] for float64,
[2^-20, 2^40] for float32) with an error that says how to rescale it.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, Callable, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._validation import (
    check_choice,
    check_data,
    data_scale,
    rescale_data,
    check_features,
    check_fitted_backend,
    check_loss,
    check_n_components,
    check_nonneg_float,
    check_positive_int,
    check_verbose,
)
from ..backends import get_namespace
from ..exceptions import NMFInputError
from ..losses import check_dispersion
from ._rescale import RESCALING_MODELS, finite_guard, scale_methods, unobserved

__all__ = ["COMMON", "FactorModel", "Param", "choice", "validate_params"]


@dataclass(frozen=True)
class Param:
    """One declared parameter: ``check(value, name, spec) -> value`` raises NMFInputError."""

    check: Callable[[Any, str, "ModelSpec"], Any]


@dataclass(frozen=True)
class ModelSpec:
    """What a check may need to know about the model: its name and the betas it supports."""

    name: str
    losses: Any = None  # tuple of betas, or None for any β
    nb: bool = False  # whether loss="nb" (negative binomial) is taken


def choice(*options) -> Param:
    """A parameter that takes one of ``options``."""
    return Param(lambda v, n, s: check_choice(v, n, options))


def _optional(check) -> Param:
    return Param(lambda v, n, s: None if v is None else check(v, n))


def _rank(value, name, spec):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        check_n_components(value, (1, 1), name)  # raises its "must be an integer" message
    return int(value)  # the range is checked against the data's shape in fit


def _random_state(value, name, spec):
    if value is None or isinstance(value, (numbers.Integral, np.random.Generator,
                                           np.random.RandomState)) and not isinstance(value, bool):
        return value
    raise NMFInputError(
        f"{name}={value!r} is not usable; pass an int seed, a numpy Generator or None"
    )


def _fraction(low_open: bool, high_open: bool):
    def check(value, name, spec):
        lo_ok = value > 0 if low_open else value >= 0
        hi_ok = value < 1 if high_open else value <= 1
        if not isinstance(value, numbers.Real) or isinstance(value, bool) or not (lo_ok and hi_ok):
            interval = ("(" if low_open else "[") + "0, 1" + (")" if high_open else "]")
            raise NMFInputError(f"{name}={value!r} must be a number in {interval}")
        return float(value)

    return Param(check)


#: The parameters several models share (their meaning: the module docstring).
COMMON: dict[str, Param] = {
    "n_components": Param(_rank),
    "loss": Param(lambda v, n, s: check_loss(v, s.name, s.losses, s.nb)),
    "tol": Param(lambda v, n, s: check_nonneg_float(v, n)),
    "max_iter": Param(lambda v, n, s: check_positive_int(v, n)),
    "max_time": _optional(check_nonneg_float),
    "loss_every": _optional(check_positive_int),
    "random_state": Param(_random_state),
    "verbose": Param(lambda v, n, s: check_verbose(v, n)),
    "handle_missing": choice("mask", "error"),
    "batch_size": _optional(check_positive_int),
}

#: Building blocks for the models' own tables.
POSITIVE_INT = Param(lambda v, n, s: check_positive_int(v, n))
NONNEG_FLOAT = Param(lambda v, n, s: check_nonneg_float(v, n))
BOOL = choice(True, False)
FRACTION = _fraction(False, False)
OPEN_FRACTION = _fraction(True, True)
POSITIVE_FRACTION = _fraction(True, False)  # (0, 1]
DISPERSION = Param(lambda v, n, s: check_dispersion(v, n))


def validate_params(table: dict, values: dict, spec: ModelSpec) -> dict:
    """Check each of ``values`` by its entry in ``table``; return the checked values.

    ``loss`` comes back as its β (``"nb"`` for the negative binomial). A name without an entry is a programming error.
    """
    out = {}
    for name, value in values.items():
        if name not in table:
            raise TypeError(f"{spec.name}: parameter {name!r} is not declared in its table")
        out[name] = table[name].check(value, name, spec)
    return out


class FactorModel(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Base of nmfkit's estimators: the parameter table, tags, ``fit``, ``inverse_transform``.

    Subclasses set ``_own_params`` (the parameters :data:`COMMON` lacks, or a narrower
    ``init`` / ``solver``), ``_losses`` (the betas they take; None: any), ``_nb_loss``
    (whether they take ``loss="nb"``), the input tags
    ``_nonneg_input`` / ``_sparse_input``, and define ``fit_transform``.
    """

    _own_params: ClassVar[dict] = {}
    _losses: ClassVar[Any] = None
    _nb_loss: ClassVar[bool] = False
    _nonneg_input: ClassVar[bool] = True
    _sparse_input: ClassVar[bool] = False
    _rescale: ClassVar[Any] = None  # True: X far from unit scale is rescaled (module docstring)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls._rescale is None and cls.__name__ in RESCALING_MODELS:
            cls._rescale = True
        if cls._rescale:
            scale_methods(cls)
        finite_guard(cls)  # no fit returns NaN / inf factors

    def _validate_params(self) -> dict:
        """The constructor's parameters, checked (``loss`` as its β)."""
        spec = ModelSpec(type(self).__name__, self._losses, self._nb_loss)
        return validate_params({**COMMON, **self._own_params}, self.get_params(deep=False), spec)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = self._nonneg_input
        tags.input_tags.sparse = self._sparse_input
        tags.input_tags.allow_nan = getattr(self, "handle_missing", "error") == "mask"
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    @property
    def _n_features_out(self):
        return self.components_.shape[0]

    def _check(self, X, reset: bool, **check_kw):
        """``X`` validated (:func:`check_data`; NaN allowed where ``handle_missing="mask"``),
        on the fitted components' backend unless ``reset``, its features recorded (``reset``)
        or checked against the fit's."""
        model = type(self).__name__
        if not reset and getattr(self, "_data_scale", 1.0) != 1.0:
            check_kw["scan"] = True  # the values are rescaled below
        data = check_data(X, allow_nan=getattr(self, "handle_missing", "error") == "mask",
                          scale="keep" if self._rescale else "refuse", model=model, **check_kw)
        self._last_unobserved = unobserved(data) if data.n_nan else None  # all-NaN rows/columns
        if self._rescale:
            data = self._rescaled(data, reset)
        if not reset:
            check_fitted_backend(self.components_, data.backend, type(self).__name__)
        check_features(self, X, reset)
        return data

    def _rescaled(self, data, reset: bool):
        """``data`` divided by the fit's power-of-two scale (module docstring)."""
        if reset:
            s = data_scale(data.max_value)
            if s != 1.0 and getattr(self, "loss", None) is not None:
                from ..losses import is_nb

                if is_nb(self.loss):
                    raise NMFInputError(
                        f"loss={self.loss!r} (negative binomial) models counts, but X's largest "
                        f"entry is {data.max_value:.3g}; pass counts or use loss='kl'"
                    )
            self._data_scale = s
            self._unobserved = self._last_unobserved
        return rescale_data(data, getattr(self, "_data_scale", 1.0))

    def fit(self, X, y=None, **params):
        """Fit the model; returns ``self`` (keyword arguments as in ``fit_transform``)."""
        self.fit_transform(X, **params)
        return self

    def inverse_transform(self, X):
        """The reconstruction ``X @ components_`` of codes ``X`` (n_samples × n_components)."""
        check_is_fitted(self)
        X = get_namespace(self.components_).cast_like(X, self.components_)
        if X.ndim != 2 or X.shape[1] != self.components_.shape[0]:
            raise NMFInputError(
                f"codes must have shape (n_samples, {self.components_.shape[0]}), got "
                f"{tuple(X.shape)}; pass the output of transform"
            )
        return X @ self.components_

