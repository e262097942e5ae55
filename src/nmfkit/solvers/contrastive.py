r"""Update steps of background-contrastive NMF (full batch and mini-batch).

The problem (see :mod:`nmfkit.models.contrastive` for the model-level account):
a target ``X`` (n_X × m) and a background ``Y`` (n_Y × m) share the basis ``H``
(k × m, rows summing to one); ``W_X`` and ``W_Y`` are their codes. The objective is

.. math::
    L = \frac{D(X \mid W_X H)}{E_X} - \alpha\,\frac{D(Y \mid W_Y H)}{E_Y}

with ``D`` the Frobenius (½‖·‖², β = 2) or KL (β = 1) divergence over observed
entries and ``E`` each term's normaliser (``½ Σ M X²`` for Frobenius, ``Σ M X``
for KL). One outer iteration is

1. **basis**: a step of the one MU engine (:func:`nmfkit.solvers.mu_update`) on the
   two terms ``Term(X, w=1/E_X)`` and ``Term(Y, w=−α/E_Y)``:
   ``H ← H ⊙ (N_X/E_X + α P_Y/E_Y) / (P_X/E_X + α N_Y/E_Y)`` with ``(P, N)`` the
   positive / negative parts of each term's gradient; the background term has a
   negative weight so its parts swap. With the codes fixed this is a majorise-minimise step: the concave
   ``−α D_Y`` is majorised by its tangent, whose positive linear part is bounded by
   ``h ≤ (h²/h₀ + h₀)/2`` (Frobenius) and negative part by ``−h ≤ −h₀ − h₀ log(h/h₀)``
   (KL), which gives exactly this update;
2. **gauge**: each row of ``H`` is scaled to sum to one (the scale moves into both
   code matrices, ``W H`` unchanged) and floored at ``basis_floor``;
3. **codes**: for ``W_X`` and ``W_Y``, ``inner`` MU-engine steps of their own
   divergence, each followed by the optimal per-sample scale
   ``c_i = argmin_c D(x_i | c ŵ_i H)`` (``⟨x, ŷ⟩/‖ŷ‖²`` for Frobenius,
   ``Σx/Σŷ`` for KL). Both lower the divergence, so the background codes track the
   best fit ``argmin_{W_Y} D(Y | W_Y H)``.

The per-sample scale is what keeps the objective bounded (proof in
:mod:`nmfkit.models.contrastive`). Mini-batch epochs run the same three steps on
matching sample batches of both datasets, with the basis parts of each batch
scaled up to the full data (``n / |batch|``: the terms of a batch carry that weight)
so the step sizes match full batch.

The state holds the blocks ``W_X``, ``W_Y`` and ``H`` with a leading restart axis: R
full-batch restarts run as one computation (each term's products serve all of them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..losses import Target, Term
from .mu import mu_update

__all__ = ["ContrastiveProblem", "ContrastiveStep", "MiniBatchContrastiveStep", "normaliser",
           "code_step", "regauge", "start_codes"]


def normaliser(t: Target, beta: float) -> float:
    """``E``: the divergence of the zero model for Frobenius (``½ Σ M X²``), ``Σ M X`` for KL."""
    b = t.backend
    if beta == 2:
        return 0.5 * t.norm2
    if t.sparse:
        return float(t.info.data.sum())
    return float(b.item(b.sum(t.MX)))


def _row_sums(t: Target):
    """``Σ_f M_if X_if`` per sample (cached on the term)."""
    cached = getattr(t, "_row_sums", None)
    if cached is None:
        b = t.backend
        if t.sparse:
            cached = b.asarray(np.asarray(t.X.sum(axis=1)).ravel())
        else:
            cached = b.sum(t.MX, axis=1)
        t._row_sums = cached
    return cached


@dataclass
class ContrastiveProblem:
    """Both data terms of one fit and the constants of the guard.

    Attributes
    ----------
    X, Y : Target
        Target and background data (element weights 0 on missing entries).
    alpha, beta : float
    E_X, E_Y : float
        Normalisers of the two terms (:func:`normaliser`).
    basis_floor : float
        Lower bound of every basis entry (rows of ``H`` sum to one).
    floor_X, floor_Y : float
        Lower bound of code entries (``1e-12`` × the mean row total of the data), so
        that no code decays into float32 subnormals.
    inner : int
        Code steps per outer iteration.
    n_fixed : int
        Leading rows of ``H`` held fixed (the background programs learned beforehand,
        see ``n_background_components`` of :class:`nmfkit.ContrastiveNMF`).
    """

    X: Target
    Y: Target
    alpha: float
    beta: float
    E_X: float
    E_Y: float
    basis_floor: float
    floor_X: float
    floor_Y: float
    inner: int = 1
    n_fixed: int = 0
    size: np.ndarray = field(default_factory=lambda: np.ones(1))  # D_X/E_X per restart

    @classmethod
    def build(cls, X: Target, Y: Target, alpha: float, beta: float, basis_floor: float,
              inner: int = 1, n_fixed: int = 0) -> "ContrastiveProblem":
        E_X, E_Y = normaliser(X, beta), normaliser(Y, beta)
        fX = 1e-12 * _mean_row_total(X)
        fY = 1e-12 * _mean_row_total(Y)
        return cls(X, Y, float(alpha), float(beta), E_X, E_Y, float(basis_floor), fX, fY,
                   int(inner), int(n_fixed))

    @property
    def backend(self):
        return self.X.backend

    def terms(self, X: Target = None, Y: Target = None, scale_X: float = 1.0,
              scale_Y: float = 1.0):
        """The model's declaration: ``Term(X, 1/E_X)`` and ``Term(Y, −α/E_Y)``.

        ``X``/``Y`` replace the data by a row block (mini-batch), whose terms carry the
        weights scaled by ``scale_X``/``scale_Y`` (``n / |batch|``).
        """
        tX = Term(self.X if X is None else X, self.beta, scale_X / self.E_X, "W_X", "H")
        tY = Term(self.Y if Y is None else Y, self.beta, -self.alpha * scale_Y / self.E_Y,
                  "W_Y", "H")
        return tX, tY

    def objective(self, state) -> np.ndarray:
        """``L = D_X/E_X − α D_Y/E_Y`` of every restart of ``state``."""
        tX, tY = self.terms()
        dX = tX.divergences(state) / self.E_X
        dY = tY.divergences(state) / self.E_Y
        self.size = dX
        return dX - self.alpha * dY

    def tol_scale(self, idx) -> np.ndarray:
        """The target term ``D_X/E_X`` at the last evaluation (per restart).

        The stopping rule measures changes of ``L`` relative to it: ``L`` itself is a
        difference that can sit near 0 (background programs make the two terms close).
        """
        return np.asarray(self.size, dtype=np.float64).reshape(-1)  # set for these restarts


def _mean_row_total(t: Target) -> float:
    b = t.backend
    total = float(t.info.data.sum()) if t.sparse else float(b.item(b.sum(t.MX)))
    return max(total / t.shape[0], 1e-300)


def _ones_where_zero(b, v):
    return b.where(v > 0, v, b.ones(v.shape, v.dtype))


def _scale(b, num, den):
    ok = den > 0
    return b.where(ok, num / _ones_where_zero(b, den), b.ones(den.shape, den.dtype))


def row_scale(term: Term, state, block: str, P=None, N=None):
    """Per sample ``c_i`` minimising ``D(x_i | c ŵ_i H)`` over observed entries, (R, n)."""
    b, t = term.target.backend, term.target
    W, H = state[block], state[term.right]
    if P is None:
        P, N = term.raw_parts(state, block)
    if term.beta == 1:  # P = 1 Hᵀ (R, 1, k) or M Hᵀ: den_i = Σ_j W_ij P_ij
        return _scale(b, _row_sums(t)[None, :], b.sum(W * P, axis=-1))
    if t.M is None:  # Frobenius without weights: P was W_old G, so G is formed again
        G = H @ b.mT(H)
        return _scale(b, b.sum(W * N, axis=-1), b.sum((W @ G) * W, axis=-1))
    R = W @ H
    return _scale(b, b.sum(t.MX * R, axis=-1), b.sum(t.M * R * R, axis=-1))


def code_step(state, block: str, term: Term, floor: float, inner: int):
    """``inner`` MU-engine steps of the term's own divergence in ``block``, each followed
    by the optimal row scale. Returns the divergence per restart when it came free from
    the products (Frobenius without element weights), else None."""
    b = term.target.backend
    unit = term.unit()
    for _ in range(inner):
        P, N = mu_update(state, block, [unit], b)  # the MU engine on the term alone
        W = b.clamp_min_(state[block], floor)
        W *= row_scale(unit, state, block, P, N)[..., None]
    return unit.divergences_after(state, block)


def regauge(state, floor: float, b, n_fixed: int = 0):
    """Rows of ``H`` sum to one (scale moved into both codes), then floored at ``floor``.

    The first ``n_fixed`` rows (already in the gauge) are left exactly as they are.
    """
    H = state["H"]
    s = _ones_where_zero(b, b.sum(H, axis=-1))  # (R, K)
    if n_fixed:
        s[:, :n_fixed] = 1.0
    state["H"] = b.contiguous(b.clamp_min_(H / s[..., None], floor))
    state["W_X"] = state["W_X"] * s[:, None, :]
    state["W_Y"] = state["W_Y"] * s[:, None, :]
    return state


def _basis_step(p: ContrastiveProblem, state, terms, parts_state=None):
    """The MU-engine basis step on ``terms`` (codes from ``parts_state``, default ``state``),
    fixed rows restored, then :func:`regauge` of the full ``state``."""
    b = p.backend
    fixed = b.copy(state["H"][:, : p.n_fixed]) if p.n_fixed else None
    mu_update(parts_state or state, "H", [t for t in terms if t.weight != 0], b)  # in place
    if p.n_fixed:
        state["H"][:, : p.n_fixed] = fixed
    regauge(state, p.basis_floor, b, p.n_fixed)


class ContrastiveStep:
    """One full-batch outer iteration on the state ``{W_X, W_Y, H}`` (any number of restarts)."""

    blocks = ("H", "W_X", "W_Y")

    def __init__(self, problem: ContrastiveProblem):
        self.p = problem
        self.tX, self.tY = problem.terms()

    def prepare(self, state):
        """Bring a start to the gauge and to the best per-sample scale (no MU step)."""
        p, b = self.p, self.p.backend
        regauge(state, p.basis_floor, b, p.n_fixed)
        state["W_X"] = state["W_X"] * row_scale(self.tX, state, "W_X")[..., None]
        state["W_Y"] = state["W_Y"] * row_scale(self.tY, state, "W_Y")[..., None]
        return state

    def __call__(self, state, idx=None, want_loss=True):
        p = self.p
        _basis_step(p, state, (self.tX, self.tY))
        dX = code_step(state, "W_X", self.tX, p.floor_X, p.inner)
        dY = code_step(state, "W_Y", self.tY, p.floor_Y, p.inner)
        if dX is None or dY is None:
            return None
        p.size = dX / p.E_X
        return dX / p.E_X - p.alpha * dY / p.E_Y


def _take_rows(t: Target, idx) -> Target:
    X = t.X[idx]
    M = None if t.M is None else t.M[idx]
    return Target(X, M, t.backend)


class MiniBatchContrastiveStep:
    """One epoch over matching sample batches of target and background (one restart).

    The target rows are split into ``ceil(n_X / batch_size)`` batches in a random
    order, the background rows into as many; for each pair the codes of the batch are
    updated, then the basis on the batch's terms, weighted by ``n / |batch|``
    (unbiased estimates of the full-data parts). The order is drawn from ``rng`` (a
    NumPy Generator), so a seed gives the same epochs on every backend.
    """

    blocks = ("H", "W_X", "W_Y")

    def __init__(self, problem: ContrastiveProblem, batch_size: int, rng: np.random.Generator):
        self.p = problem
        self.batch_size = int(batch_size)
        self.rng = rng
        self.prepare = ContrastiveStep(problem).prepare

    def __call__(self, state, idx=None, want_loss=False):
        p = self.p
        nX, nY = p.X.shape[0], p.Y.shape[0]
        n_batches = max(1, math.ceil(nX / self.batch_size))
        bx = np.array_split(self.rng.permutation(nX), n_batches)
        by = np.array_split(self.rng.permutation(nY), min(n_batches, nY))
        for j, ix_np in enumerate(bx):
            iy_np = by[j % len(by)]
            ix, iy = p.backend.index(ix_np), p.backend.index(iy_np)
            tX, tY = p.terms(_take_rows(p.X, ix), _take_rows(p.Y, iy),
                             nX / len(ix_np), nY / len(iy_np))
            sub = {"W_X": state["W_X"][:, ix], "W_Y": state["W_Y"][:, iy], "H": state["H"]}
            code_step(sub, "W_X", tX, p.floor_X, p.inner)
            code_step(sub, "W_Y", tY, p.floor_Y, p.inner)
            state["W_X"][:, ix] = sub["W_X"]
            state["W_Y"][:, iy] = sub["W_Y"]
            _basis_step(p, state, (tX, tY), parts_state=sub)
        return None


def start_codes(shape_X, shape_Y, k: int, rng: np.random.Generator, backend, dtype):
    """Uniform random start ``(W_X, W_Y, H)`` drawn in NumPy and moved to the backend.

    The scale is irrelevant: :meth:`ContrastiveStep.prepare` moves every sample to its
    best scale and the basis to the gauge before the first iteration.
    """
    H = rng.random((k, shape_X[1])) + 1e-3
    W_X = rng.random((shape_X[0], k)) + 1e-3
    W_Y = rng.random((shape_Y[0], k)) + 1e-3
    return tuple(backend.from_numpy(A, dtype) for A in (W_X, W_Y, H))
