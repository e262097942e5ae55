r"""Archetypal analysis by PCHA (Mørup & Hansen, Neurocomputing 80, 2012).

The objective (Cutler & Breiman, Technometrics 36(4), 1994) in nmfkit's orientation
(``X`` n_samples × n_features, samples as rows):

.. math::
    \min_{A, B}\; \tfrac12 \| X - A B X \|_F^2 \quad\text{s.t. the rows of }
    A\ (n \times k)\text{ and of } B\ (k \times n)\text{ lie on the probability simplex,}

so the archetypes ``Z = B X`` are convex combinations of samples and each sample is
approximated by a convex combination of archetypes. In Mørup & Hansen's notation
:math:`X_M = X^\top \approx X_M C S` with :math:`C = B^\top` and :math:`S = A^\top`.
``X`` may have any sign.

**The step (PCHA).** One loop iteration is ``inner`` projected-gradient steps on ``B``
followed by ``inner`` on ``A``. Each step takes the normalisation-invariant gradient
(for each simplex row ``r`` with gradient ``g``: ``g − (g·r)``), moves by ``μ``, clips at
0 and renormalises the row to sum 1. The step is accepted only if the SSE did not
increase by more than a relative ``1e-9``; then ``μ ← 1.2 μ``, otherwise ``μ ← μ/2``
and the step is retried, so the objective is monotone. With ``G = Z Zᵀ`` the SSE is
``‖X‖² − 2 Σ A ⊙ (X Zᵀ) + Σ (AᵀA) ⊙ G``, so a trial costs O(n k²) for ``A`` and
O(n p k) for ``B`` (``Z = B X``); no n × n kernel is formed (memory O(n p)).

The gradients are ``∇_A = A G − X Zᵀ`` and ``∇_B = (AᵀA Z − Aᵀ X) Xᵀ``, scaled by the
data's mean square per sample (``A``) and its total square (``B``), as in PCHA, so
the initial step size 1 suits any data scale. Sums are formed in float64.

:func:`simplex_codes` solves ``min ‖x − a Z‖²`` over the simplex for new samples
exactly (one finite non-negative least squares per sample).
"""

from __future__ import annotations

import numpy as np

from ..backends import Backend
from ._loop import SingleFitStep

__all__ = ["PCHAStep", "furthest_sum", "simplex_codes", "aa_sse"]

_SLACK = 1e-9      # PCHA's accepted relative increase of the SSE
_MIN_STEP = 1e-30  # below it a line search gives up (the point is stationary to rounding)


def aa_sse(X, A, Z) -> float:
    """``‖X − A Z‖²_F`` from the residual."""
    R = X - A @ Z
    return float((R * R).sum())


def _normalise_rows(V, b: Backend):
    V = b.clamp_min(V, 0.0)
    s = b.sum(V, axis=1)
    return V / b.clamp_min(s, 1e-300)[:, None]


def _invariant(g, R, b: Backend):
    """The gradient ``g`` of simplex rows ``R`` minus its component along ``R`` (PCHA)."""
    return g - b.sum(g * R, axis=1)[:, None]


def _search(R, g, mu, sse_of, sse, b: Backend):
    """One PCHA line search: returns ``(R, sse, mu)`` with ``sse`` not increased (up to slack)."""
    while mu > _MIN_STEP:
        trial = _normalise_rows(R - mu * g, b)
        new = sse_of(trial)
        if new <= sse * (1.0 + _SLACK):
            return trial, new, mu * 1.2
        mu /= 2.0
    return R, sse, 1.0  # no decrease at any step size: keep R, reset mu


class PCHAStep(SingleFitStep):
    """PCHA iterations on the blocks ``A`` (n × k) and ``B`` (k × n); see the module docstring.

    Parameters
    ----------
    X : backend array (n, p), dense, float64
    backend : Backend
    inner : int, default=10
        Projected-gradient steps on each block per loop iteration.
    """

    blocks = ("A", "B")

    def __init__(self, X, backend: Backend, inner: int = 10):
        self.X = X
        self.b = backend
        self.inner = int(inner)
        self.sst = max(float(backend.item((X * X).sum())), 1e-300)
        self.mu_A = self.mu_B = 1.0

    def a_phase(self, A, Z, steps: int):
        """``steps`` PCHA steps on ``A`` for fixed archetypes ``Z``; returns ``(A, sse)``."""
        b, n = self.b, A.shape[0]
        XZt, G = self.X @ Z.T, Z @ Z.T

        def sse_of(M):
            return self.sst - 2.0 * float(b.item((M * XZt).sum())) + float(
                b.item(((M.T @ M) * G).sum()))

        sse = sse_of(A)
        for _ in range(steps):
            g = _invariant((A @ G - XZt) / (self.sst / n), A, b)
            A, sse, self.mu_A = _search(A, g, self.mu_A, sse_of, sse, b)
        return A, sse

    def b_phase(self, A, B, steps: int):
        """``steps`` PCHA steps on ``B`` for fixed codes ``A``; returns ``(B, sse)``."""
        b, X = self.b, self.X
        AtX, AtA = A.T @ X, A.T @ A

        def sse_of(M):
            Z = M @ X
            return self.sst - 2.0 * float(b.item((AtX * Z).sum())) + float(
                b.item((AtA * (Z @ Z.T)).sum()))

        sse = sse_of(B)
        for _ in range(steps):
            g = _invariant(((AtA @ (B @ X) - AtX) @ X.T) / self.sst, B, b)
            B, sse, self.mu_B = _search(B, g, self.mu_B, sse_of, sse, b)
        return B, sse

    def update(self, A, B):
        B, _ = self.b_phase(A, B, self.inner)
        A, sse = self.a_phase(A, B @ self.X, self.inner)
        b = self.b
        return {"A": b.contiguous(A), "B": b.contiguous(B)}, 0.5 * max(sse, 0.0)

    def value(self, A, B) -> float:
        return 0.5 * aa_sse(self.X, A, B @ self.X)


def furthest_sum(X: np.ndarray, k: int, rng) -> np.ndarray:
    """FurthestSum (Mørup & Hansen): ``k`` sample indices, each the farthest in summed distance.

    Starts from a random sample, picks ``k`` samples greedily by the sum of Euclidean
    distances to those already picked, then drops the random start and picks once more
    with it excluded (so the result does not depend on it much). O(n p k).
    """
    n = X.shape[0]
    sq = (X * X).sum(axis=1)

    def dist(i):
        return np.sqrt(np.maximum(sq + sq[i] - 2.0 * (X @ X[i]), 0.0))

    start = int(rng.integers(n))
    chosen = [start]
    total = dist(start)
    for _ in range(k):
        cand = total.copy()
        cand[chosen] = -np.inf
        i = int(np.argmax(cand))
        chosen.append(i)
        total += dist(i)
    if k >= n:  # every sample is needed: the start stays
        return np.array(sorted(set(chosen))[:k])
    picked = chosen[1:]
    if start in picked:
        return np.array(picked[:k])
    # replace the oldest pick by the best one given the others (start excluded)
    rest = picked[1:k]
    total = sum((dist(i) for i in rest), np.zeros(n))
    total[rest + [start]] = -np.inf
    return np.array(rest + [int(np.argmax(total))]) if k > 1 else np.array(picked[:1])


def simplex_codes(X, Z, b: Backend):
    """Exact ``argmin_a ‖x − a Z‖`` over the probability simplex for each row ``x`` of ``X``.

    Each sample is a minimum-norm-point problem over the convex hull of the differences
    ``d_j = x − z_j`` (since ``x − a Z = Σ_j a_j d_j`` when ``Σ a = 1``), solved exactly by
    one non-negative least squares (Lawson & Hanson, *Solving Least Squares Problems*,
    ch. 23): ``u = argmin_{u≥0} ‖Dᵀu‖² + (1ᵀu − 1)²`` gives ``a = u / 1ᵀu`` because, on
    the ray ``u = s a``, the best ``s`` leaves ``‖Dᵀa‖² / (1 + ‖Dᵀa‖²)``, increasing in
    ``‖Dᵀa‖``. ``D`` is scaled by its largest row norm first (the minimiser is
    scale-free; this keeps ``‖Dᵀa‖ <= 1`` so the NNLS is well resolved). One
    Lawson–Hanson solve (``scipy.optimize.nnls``, finite) per sample, computed in NumPy
    float64 on the CPU; the codes come back on ``X``'s backend and dtype.
    """
    from scipy.optimize import nnls

    Xn = np.asarray(b.to_numpy(X), dtype=np.float64)
    Zn = np.asarray(b.to_numpy(Z), dtype=np.float64)
    n, k = Xn.shape[0], Zn.shape[0]
    out = np.empty((n, k))
    target = np.zeros(Zn.shape[1] + 1)
    target[-1] = 1.0
    for i in range(n):
        D = Xn[i][None, :] - Zn                           # k × p
        scale = float(np.sqrt((D * D).sum(axis=1).max()))
        if not scale > 0:                                 # x is every archetype: any code
            out[i] = 1.0 / k
            continue
        E = np.vstack([D.T / scale, np.ones((1, k))])      # (p + 1) × k
        u = nnls(E, target)[0]
        out[i] = u / u.sum()
    return b.from_numpy(out, dtype=X.dtype)
