"""One NMF fit: the shared parameter table, the fit's options (``FitSpec``) and the run.

Split from :mod:`nmfkit.models.nmf` (the estimator and the function form) so that the
other estimators that reuse NMF's fit (``MiniBatchNMF``'s parameters, the contrastive
background programs) import it without the estimator.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Callable, Optional

from .._validation import check_n_components
from ..exceptions import NMFInputError
from ..init import initialize
from ..losses import Penalty, resolve_loss
from ..solvers import LoopOptions
from ._base import FRACTION, NONNEG_FLOAT, Param, choice
from ._core import build_target, fit_factors, resolve_solver
from ._nb_fit import fit_nb

__all__ = ["NMF_PARAMS", "FitSpec", "fit_one"]

#: The parameters of NMF's objective and solvers that its other estimators (MiniBatchNMF) share.
NMF_PARAMS = {
    "solver": choice("auto", "mu", "hals", "cd"),
    "init": choice("auto", "random", "nndsvd", "nndsvda", "nndsvdar", "custom"),
    "alpha_W": NONNEG_FLOAT,
    "alpha_H": Param(lambda v, n, s: v if v == "same" else NONNEG_FLOAT.check(v, n, s)),
    "l1_ratio": FRACTION,
}


@dataclass(frozen=True)
class FitSpec:
    """The options of one NMF fit (what :func:`fit_one` needs besides the data and starts)."""

    n_components: int
    loss: Any = "frobenius"
    solver: str = "auto"
    init: str = "auto"
    max_iter: int = 200
    tol: float = 1e-4
    max_time: Optional[float] = None
    alpha_W: float = 0.0
    alpha_H: Any = "same"
    l1_ratio: float = 0.0
    random_state: Any = None
    verbose: int = 0
    loss_every: Optional[int] = None
    refine_W: bool = False
    accelerate: Any = "auto"
    dispersion: Any = "per_sample"
    checkpoint: Any = None
    checkpoint_every: float = 60.0

    @classmethod
    def of(cls, params: dict) -> "FitSpec":
        """The spec of an estimator's ``get_params()`` (other keys ignored)."""
        return cls(**{f.name: params[f.name] for f in fields(cls) if f.name in params})


def fit_one(data, spec: FitSpec, *, W=None, H=None, mask=None, callback: Optional[Callable] = None):
    """Initialise and run one NMF fit of checked ``data`` (``_core.fit_factors``)."""
    loss = resolve_loss(spec.loss, spec.dispersion)
    solver = resolve_solver(spec.solver, loss, cd_backend=data.backend)
    k = check_n_components(spec.n_components, data.shape)
    target = build_target(data, mask)
    b = target.backend
    n_samples, n_features = data.shape
    penalty = Penalty.from_alphas(spec.alpha_W, spec.alpha_H, spec.l1_ratio, n_samples, n_features)
    W0, H0 = initialize(target.X, k, spec.init, backend=b, dtype=data.values.dtype,
                        weights=target.M, random_state=spec.random_state, W=W, H=H)
    loss_every = spec.loss_every
    if loss_every is None:
        loss_every = 1 if solver in ("hals", "cd") else 10
    options = LoopOptions(max_iter=spec.max_iter, tol=spec.tol, max_time=spec.max_time,
                          loss_every=loss_every, verbose=spec.verbose, callback=callback,
                          desc=f"nmf[{solver}]", **_checkpointing(spec, target, loss))
    if loss.nb:
        return fit_nb(target, W0, H0, loss=loss, penalty=penalty, options=options,
                      accelerate=spec.accelerate)
    return fit_factors(target, W0, H0, beta=loss, solver=solver, penalty=penalty, options=options,
                       refine_W=spec.refine_W, accelerate=spec.accelerate)


def _checkpointing(spec: FitSpec, target, loss) -> dict:
    """The loop's checkpoint options: the path, the period and the key a checkpoint must match."""
    if spec.checkpoint is None:
        return {}
    if loss.nb:
        raise NMFInputError("checkpoint= is not available with loss='nb' (its fit alternates "
                            "several runs); pass checkpoint=None or another loss")
    from .._checkpoint import fingerprint

    skip = ("verbose", "max_time", "checkpoint", "checkpoint_every")
    params = {f.name: getattr(spec, f.name) for f in fields(spec) if f.name not in skip}
    params = {k: (v if isinstance(v, (str, int, float, bool, type(None))) else repr(type(v).__name__))
              for k, v in params.items()}
    key = {"model": "NMF", "params": params, "data": fingerprint(target)}
    return dict(checkpoint=spec.checkpoint, checkpoint_every=spec.checkpoint_every, checkpoint_key=key)
