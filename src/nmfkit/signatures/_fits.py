r"""The batched fits of signature extraction: replicates and cross-validation folds.

Both are declarations on the engine: a *stacked* target (one catalog per restart of the
state, :class:`nmfkit.losses.Target` with a 3-D ``X``; held-out entries are weight 0),
one term (:class:`~nmfkit.losses.Term` with β = 1 for KL/Poisson, or
:class:`~nmfkit.losses.NBTerm` for the negative binomial), the one MU engine and loop
(:func:`nmfkit.solvers.run_terms`). Orientation: samples × types, so the state's ``W``
holds exposures (R, samples, k) and ``H`` the signatures (R, k, types).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..backends import get_namespace
from ..exceptions import NMFInputError
from ..losses import NBTerm, Target, Term, elementwise_divergence, estimate_dispersion
from ..losses._nb import _elementwise as nb_elementwise
from ..losses._target import REPLICATE
from ..solvers import LoopOptions, run_terms

__all__ = ["LossSpec", "fit_replicates", "cv_errors"]


@dataclass
class LossSpec:
    """The loss of an extraction: ``"kl"`` (Poisson) or ``"nb"`` with its dispersion."""

    name: str
    dispersion: object = "per_sample"  # for "nb": "per_sample", "global" or fixed values
    alpha: Optional[object] = None  # the dispersion in use at the current rank

    @classmethod
    def of(cls, loss, dispersion):
        key = str(loss).lower()
        if key in ("kl", "poisson", "kullback-leibler"):
            return cls("kl")
        if key in ("nb", "negative_binomial", "negative-binomial"):
            if isinstance(dispersion, str) and dispersion not in ("per_sample", "global"):
                raise NMFInputError(f"dispersion={dispersion!r}: use 'per_sample', 'global' or "
                                    "positive numbers")
            return cls("nb", dispersion)
        raise NMFInputError(f"loss={loss!r} is not known for extraction; use 'kl' (Poisson, "
                            "SigProfiler's) or 'nb' (negative binomial)")

    def term(self, target: Target):
        if self.name == "kl":
            return Term(target, 1.0)
        return NBTerm(target, self.alpha)

    def divergence(self, X, Y):
        """Elementwise divergence of this loss (numpy)."""
        b = get_namespace(X)
        if self.name == "kl":
            return elementwise_divergence(X, Y, 1.0, b)
        a = self.alpha if np.ndim(self.alpha) == 0 else np.asarray(self.alpha)[:, None]
        return nb_elementwise(X, Y, a, b)

    def prepare(self, X: np.ndarray, k: int, seed: int, options: LoopOptions):
        """For "nb" with an estimated dispersion: ``α`` by maximum likelihood at rank ``k``
        from a KL fit of the original catalog (the SigMoS procedure)."""
        if self.name != "nb":
            return
        if not isinstance(self.dispersion, str):
            self.alpha = np.asarray(self.dispersion, dtype=np.float64)
            if self.alpha.ndim == 1 and self.alpha.shape[0] != X.shape[0]:
                raise NMFInputError(f"dispersion has {self.alpha.shape[0]} values for "
                                    f"{X.shape[0]} samples")
            return
        saved, self.name = self.name, "kl"
        try:
            W, H, _ = fit_replicates(X[None], k, [seed], self, options)
        finally:
            self.name = saved
        mu = W[0] @ H[0]
        self.alpha = estimate_dispersion(X, mu, per_sample=self.dispersion == "per_sample")


def _starts(D, k, seeds, dtype):
    """Uniform random starts scaled so that ``W H`` has the data's mean, one per seed."""
    R, n, p = D.shape
    W = np.empty((R, n, k), dtype=dtype)
    H = np.empty((R, k, p), dtype=dtype)
    for r, s in enumerate(seeds):
        rng = np.random.default_rng(s)
        a = 2.0 * np.sqrt(max(float(D[r].mean()), 1e-12) / k)
        W[r] = rng.random((n, k)) * a + 1e-3 * a
        H[r] = rng.random((k, p)) * a + 1e-3 * a
    return W, H


def fit_replicates(D, k, seeds, loss: LossSpec, options: LoopOptions, weights=None):
    """Fit rank ``k`` to every catalog of the stack ``D`` (R, n, p) at once.

    Returns ``(W, H, outcome)`` with ``H``'s rows on the simplex (signatures) and the
    scale moved into ``W`` (exposures).
    """
    b = get_namespace(D)
    W0, H0 = _starts(D, k, seeds, D.dtype)
    target = Target(D, weights, b)
    state = {"W": W0, "H": H0, REPLICATE: np.arange(D.shape[0])}
    outcome, _ = run_terms([loss.term(target)], state, b, solver="mu", options=options)
    W, H = outcome.state["W"], outcome.state["H"]
    scale = np.maximum(H.sum(axis=-1, keepdims=True), 1e-300)  # (R, k, 1)
    return W * np.swapaxes(scale, 1, 2), H / scale, outcome


def cv_errors(X, k, masks, seeds, loss: LossSpec, options: LoopOptions, dtype=np.float64):
    """Held-out divergence per entry of each fold (``masks[f]`` True = held out)."""
    F = len(masks)
    D = np.broadcast_to(X, (F,) + X.shape).astype(dtype)
    M = (~masks).astype(D.dtype)
    W, H, _ = fit_replicates(D, k, seeds, loss, options, weights=M)
    Y = (W @ H).astype(np.float64)
    errs = np.empty(F)
    for f in range(F):
        t = masks[f]
        errs[f] = float(np.sum(loss.divergence(X, Y[f])[t])) / max(int(t.sum()), 1)
    return errs
