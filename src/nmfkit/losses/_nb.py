r"""Negative-binomial NMF: the NB divergence as a term of the engine, and its dispersion.

Counts ``x_ij ~ NB(mean μ_ij = (AB)_ij, size α_i)``, so ``Var x = μ + μ²/α``: ``α`` is the
inverse overdispersion (α → ∞ is Poisson). Rows of ``X`` are samples in nmfkit's
orientation, so a *per-sample* dispersion is one ``α_i`` per row; a *global* one is a
single number. For fixed ``α`` the negative log-likelihood in ``μ`` is, up to terms
without ``μ``, the **NB divergence**

.. math::
    d_\alpha(x \mid y) = x \log\frac{x}{y} - (x + \alpha)\log\frac{x + \alpha}{y + \alpha}
    \;\ge 0,

zero at ``y = x`` and the generalised KL ``x log(x/y) − x + y`` in the limit α → ∞.
Its gradient in ``y`` is ``(x + α)/(y + α) − x/y``, so the multiplicative update
(Pelizzola, Laursen & Hobolth, BMC Bioinformatics 2023, a majorise-minimise step
with exponent 1) has the positive and negative parts

.. math::
    P_A = \Big(M \odot \frac{X + \alpha}{AB + \alpha}\Big) B^\top, \qquad
    N_A = \Big(M \odot \frac{X}{AB}\Big) B^\top

(and ``Aᵀ(·)`` for ``B``). :class:`NBTerm` is a :class:`~nmfkit.losses.Term` with these
parts, so every engine path (restarts on a leading axis, stacked replicate targets,
masks) runs it unchanged. :func:`estimate_dispersion` is the maximum-likelihood ``α``
for given means (Newton on ``log α``, per sample or global), and :func:`nb_loglik` the
full log-likelihood (with its ``lgamma`` terms) for held-out comparisons.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln, polygamma, psi

from ..backends import is_sparse
from ._parts import EPSILON, accumulate_left, accumulate_right, row_chunks
from ._target import REPLICATE, Target
from ._term import Term

__all__ = ["NBTerm", "nb_divergence", "nb_loglik", "nb_loglik_entries", "estimate_dispersion",
           "ALPHA_MAX", "ALPHA_MIN"]

#: Bounds of an estimated dispersion: at ``ALPHA_MAX`` the counts are Poisson to
#: within float64 resolution (the variance excess μ²/α is below 1e-8 μ for μ ≤ 1e0…1e4).
ALPHA_MAX = 1e8
ALPHA_MIN = 1e-4


def _rows(t: Target, r0: int, r1: int):
    """Dense rows ``r0:r1`` of ``X`` and of ``M ⊙ X`` and ``M`` (stacked: on every restart)."""
    if t.sparse:
        Xc = t.X[r0:r1].toarray()
        return Xc, Xc, None
    Mc = None if t.M is None else t.M[..., r0:r1, :]
    return t.X[..., r0:r1, :], t.MX[..., r0:r1, :], Mc


def _alpha_rows(alpha, r0, r1):
    """α for rows ``r0:r1``: a number, a column (m,) → (c, 1), or per restart (R, m, 1)."""
    nd = len(alpha.shape) if hasattr(alpha, "shape") else 0
    if nd == 0:
        return alpha
    return alpha[r0:r1, None] if nd == 1 else alpha[:, r0:r1, :]


def _nb_factors(t: Target, A, B, alpha):
    """Per row chunk ``(r0, r1, M (X+α)/(Y+α), M X/Y)`` with ``Y = A B``."""
    b = t.backend
    R, m, _ = A.shape
    for r0, r1 in row_chunks(m, R, B.shape[2]):
        Y = A[:, r0:r1] @ B
        b.clamp_min_(Y, EPSILON)
        Xc, MXc, Mc = _rows(t, r0, r1)
        a = _alpha_rows(alpha, r0, r1)
        FP = (Xc + a) / (Y + a)
        if Mc is not None:
            FP = Mc * FP
        yield r0, r1, FP, b.divide(MXc, Y, out=Y)


def _elementwise(X, Y, alpha, b):
    """``d_α(X | Y)``, stable for large α (``(x+α) log1p((x−y)/(y+α))``)."""
    Yc = b.clamp_min(Y, EPSILON)
    ratio = b.clamp_min_(X / Yc, 1e-38)
    return X * b.log(ratio) - (X + alpha) * b.log1p((X - Y) / (Y + alpha))


def nb_divergence(t: Target, A, B, alpha) -> np.ndarray:
    """``Σ M ⊙ d_α(X | A_r B_r)`` for every restart of the stacks ``A`` (R, m, k), ``B`` (R, k, n)."""
    b = t.backend
    R, m, _ = A.shape
    total = None
    for r0, r1 in row_chunks(m, R, B.shape[2]):
        Xc, _, Mc = _rows(t, r0, r1)
        D = _elementwise(Xc, A[:, r0:r1] @ B, _alpha_rows(alpha, r0, r1), b)
        if Mc is not None:
            D = Mc * D
        s = b.sum(b.astype(D, np.float64), axis=(1, 2))  # float64 sum (see stacked_divergences)
        total = s if total is None else total + s
    return b.to_numpy(total).astype(np.float64)


class NBTerm(Term):
    """``weight · Σ M ⊙ d_α(X | state[left] @ state[right])``: a negative-binomial term.

    Parameters
    ----------
    target : Target
    dispersion : float, array of shape (m,), or (R, m) for a stacked target
        ``α``: one number (global), one per row of ``X`` (per sample), or per restart and
        row of a stacked target (e.g. each cross-validation fold's own estimate), > 0.
    weight, left, right
        As for :class:`~nmfkit.losses.Term`.

    The update exponent is 1 (the MM step of the NB likelihood), which the engine reads
    from ``beta = 1``; the parts and values are the NB ones, never the KL kernels.
    """

    def __init__(self, target: Target, dispersion, weight: float = 1.0, left: str = "W",
                 right: str = "H"):
        super().__init__(target, 1.0, weight, left, right)
        self._buffer = None
        alpha = np.asarray(dispersion, dtype=np.float64)
        ok = (alpha.ndim == 0 or (alpha.ndim == 1 and alpha.shape[0] == target.shape[-2])
              or (alpha.ndim == 2 and target.stacked and alpha.shape == target.shape[:2]))
        if not ok:
            raise ValueError(f"dispersion must be a number, one value per row of X "
                             f"({target.shape[-2]}) or, for a stacked target, (R, rows) "
                             f"{target.shape[:2]}; got shape {alpha.shape}")
        if not np.all(np.isfinite(alpha)) or np.any(alpha <= 0):
            raise ValueError("dispersion must be finite and > 0")
        self.dispersion = float(alpha) if alpha.ndim == 0 else alpha
        self._alpha = None  # on the target's backend and dtype

    def _alpha_for(self, t: Target, like, state):
        if np.ndim(self.dispersion) == 0:
            return self.dispersion
        if self._alpha is None or self._alpha.dtype != like.dtype:
            a = self.dispersion if self.dispersion.ndim == 1 else self.dispersion[:, :, None]
            self._alpha = t.backend.asarray(a, dtype=like.dtype)
        if self.dispersion.ndim == 2 and t is not self.target:  # a sub-state of a stacked target
            rows = t.backend.to_numpy(state[REPLICATE]).astype(np.int64).reshape(-1)
            return t.backend.take(self._alpha, rows)
        return self._alpha

    def unit(self) -> "NBTerm":
        return NBTerm(self.target, self.dispersion, 1.0, self.left, self.right)

    def raw_parts(self, state, block: str):
        if block not in (self.left, self.right):
            raise KeyError(f"term on ({self.left}, {self.right}) does not bind block {block!r}")
        A, B = state[self.left], state[self.right]
        t = self.target_of(state)
        chunks = _nb_factors(t, A, B, self._alpha_for(t, A, state))
        acc = accumulate_left if block == self.left else accumulate_right
        return acc(t.backend, A, B, chunks)

    def divergences(self, state) -> np.ndarray:
        A, B = state[self.left], state[self.right]
        t = self.target_of(state)
        return nb_divergence(t, A, B, self._alpha_for(t, A, state))

    def divergences_after(self, state, block: str):
        return None


def nb_loglik_entries(X, mu, dispersion):
    """``log NB(x; mean μ, size α)`` element by element (``X``, ``mu`` and ``dispersion``
    broadcast together; ``np.inf`` gives the Poisson log-likelihood)."""
    X = np.asarray(X, dtype=np.float64)
    mu = np.maximum(np.asarray(mu, dtype=np.float64), EPSILON)
    a = np.asarray(dispersion, dtype=np.float64)
    if np.all(np.isinf(a)):
        return X * np.log(mu) - mu - gammaln(X + 1)
    a = np.broadcast_to(a, np.broadcast_shapes(X.shape, a.shape))
    return (gammaln(X + a) - gammaln(a) - gammaln(X + 1) + a * np.log(a / (a + mu))
            + X * np.log(mu / (a + mu)))


def nb_loglik(X, mu, dispersion, axis=None, weights=None):
    r"""Log-likelihood ``Σ log NB(x; mean μ, size α)`` (with every ``lgamma`` term).

    ``X`` and ``mu`` are arrays of the same shape (samples × features), ``dispersion``
    a number or one value per row (sample); ``np.inf`` gives the Poisson likelihood.
    ``axis=1`` returns one value per sample. ``weights`` (same shape, e.g. 0/1 for
    observed / held-out entries) weight each entry's term; entries of weight 0 may
    hold anything finite.
    """
    X = X.toarray() if is_sparse(X) else np.asarray(X, dtype=np.float64)
    a = np.asarray(dispersion, dtype=np.float64)
    ll = nb_loglik_entries(X, mu, a if a.ndim == 0 else a[:, None])
    if weights is not None:
        ll = np.asarray(weights, dtype=np.float64) * ll
    return ll.sum(axis=axis)


def _loglik_alpha(X, mu, a, groups, w=None):
    """Per-group NB log-likelihood (without ``lgamma(x+1)``) at dispersions ``a`` per group."""
    ag = a[groups][:, None]
    ll = gammaln(X + ag) - gammaln(ag) + ag * np.log(ag / (ag + mu)) + X * np.log(mu / (ag + mu))
    if w is not None:
        ll = w * ll
    return np.bincount(groups, weights=ll.sum(axis=1), minlength=a.size)


def _derivatives(X, mu, a, groups, w=None):
    """First and second derivatives of the per-group log-likelihood in ``θ = log α``."""
    ag = a[groups][:, None]
    s = psi(X + ag) - psi(ag) + np.log(ag / (ag + mu)) + 1.0 - (X + ag) / (ag + mu)
    h = (polygamma(1, X + ag) - polygamma(1, ag) + 1.0 / ag - 2.0 / (ag + mu)
         + (X + ag) / (ag + mu) ** 2)
    if w is not None:
        s, h = w * s, w * h
    s = np.bincount(groups, weights=s.sum(axis=1), minlength=a.size)
    h = np.bincount(groups, weights=h.sum(axis=1), minlength=a.size)
    return a * s, a * s + a * a * h


def estimate_dispersion(X, mu, *, per_sample: bool = True, max_iter: int = 50,
                        tol: float = 1e-6, weights=None) -> np.ndarray | float:
    r"""Maximum-likelihood NB dispersion ``α`` for counts ``X`` with means ``mu``.

    Newton-Raphson on ``θ = log α`` (the log-likelihood is smoother there and α stays
    positive), with steps bounded by 2 in ``θ`` and halved while they lower the
    likelihood; started from the moment estimate ``1/α ≈ mean((x−μ)² − μ)/μ²``.
    ``α`` is kept in [:data:`ALPHA_MIN`, :data:`ALPHA_MAX`]; a sample whose counts are
    not overdispersed ends at ``ALPHA_MAX`` (Poisson).

    Parameters
    ----------
    X, mu : arrays (n_samples, n_features)
        Counts and fitted means (e.g. ``W @ H`` of a Poisson / KL fit).
    per_sample : bool
        One ``α`` per row (sample), or one for all.
    weights : array (n_samples, n_features), optional
        Element weights (0 = missing / held out: left out of the likelihood). A sample
        with no observed entry gets ``ALPHA_MAX``.

    Returns
    -------
    ndarray (n_samples,) or float

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit.losses import estimate_dispersion
    >>> rng = np.random.default_rng(0)
    >>> mu = np.full((1, 20000), 50.0)
    >>> X = rng.negative_binomial(5.0, 5.0 / (5.0 + mu))
    >>> round(float(estimate_dispersion(X, mu, per_sample=False)), 1)
    5.0
    """
    X = X.toarray() if is_sparse(X) else np.asarray(X, dtype=np.float64)
    mu = np.maximum(np.asarray(mu, dtype=np.float64), EPSILON)
    groups = np.arange(X.shape[0]) if per_sample else np.zeros(X.shape[0], dtype=np.int64)
    n_groups = X.shape[0] if per_sample else 1
    w = None if weights is None else np.asarray(weights, dtype=np.float64)
    if w is not None:
        X = np.where(w > 0, X, 0.0)
    row_w = np.full(X.shape[0], X.shape[1], float) if w is None else w.sum(axis=1)
    cnt = np.maximum(np.bincount(groups, weights=row_w, minlength=n_groups), 1e-300)
    ex = ((X - mu) ** 2 - mu) / mu**2
    excess = np.bincount(groups, weights=(ex if w is None else w * ex).sum(axis=1),
                         minlength=n_groups) / cnt
    theta = np.log(np.clip(1.0 / np.maximum(excess, 1.0 / ALPHA_MAX), ALPHA_MIN, ALPHA_MAX))
    lo, hi = np.log(ALPHA_MIN), np.log(ALPHA_MAX)
    ll = _loglik_alpha(X, mu, np.exp(theta), groups, w)
    for _ in range(max_iter):
        g, h = _derivatives(X, mu, np.exp(theta), groups, w)
        step = np.where(h < 0, -g / np.where(h < 0, h, -1.0), np.sign(g))
        step = np.clip(step, -2.0, 2.0)
        todo = np.ones(n_groups, dtype=bool)
        new = theta.copy()
        for _half in range(30):
            new[todo] = np.clip(theta[todo] + step[todo], lo, hi)
            ll_new = _loglik_alpha(X, mu, np.exp(new), groups, w)
            todo = ll_new < ll - 1e-12 * np.abs(ll)
            if not todo.any():
                break
            step[todo] *= 0.5
        new[todo] = theta[todo]
        ll = np.where(todo, ll, ll_new)
        done = np.abs(new - theta).max() < tol
        theta = new
        if done:
            break
    alpha = np.exp(theta)
    return alpha if per_sample else float(alpha[0])
