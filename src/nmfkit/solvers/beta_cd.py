r"""Coordinate descent for the β-divergence with 1 < β < 2: cyclic 1-D Newton, safeguarded.

For 1 ≤ β ≤ 2, :math:`d_\beta(x \mid y) = \frac{x^\beta}{\beta(\beta-1)}
- \frac{x y^{\beta-1}}{\beta-1} + \frac{y^\beta}{\beta}` is convex in ``y``, so one
coordinate ``a = A_ij`` of ``X ≈ A B`` (the others fixed, ``c`` the rest of ``Y = A B``)
minimises the convex 1-D function

.. math::
    f(a) = \sum_f M_{if}\, d_\beta\big(X_{if} \mid c_f + a B_{jf}\big)
           + l_1 a + \tfrac{l_2}{2} a^2,

    f'(a) = \sum_f M B_{jf} \big(Y_f^{\beta-1} - X_f Y_f^{\beta-2}\big) + l_1 + l_2 a,

    f''(a) = \sum_f M B_{jf}^2 \big((\beta-1) Y_f^{\beta-2} + (2-\beta) X_f Y_f^{\beta-3}\big) + l_2.

Each coordinate takes projected Newton steps ``a ← max(0, a − f'/f'')``, and ``Y`` gets
the rank-one change of column j; as in :mod:`nmfkit.solvers.kl_cd` (β = 1, whose
helpers this module reuses) component j is updated for all rows at once. Powers of
``Y`` are taken at ``max(Y, EPSILON)`` (:data:`nmfkit.losses.EPSILON`, the floor of the
MU engine).

**Monotone.** ``f''' = (β−2) Σ M B³ Y^{β−4} ((β−1) Y + (3−β) X) ≤ 0``, as for KL: ``f'``
is concave, so a step up never overshoots and the trapezoid bound of
:mod:`~nmfkit.solvers.kl_cd` spares most coordinates the exact check (not rows where
``Y < EPSILON`` somewhere: there the floored ``f'`` can have the wrong sign). The others get
their exact 1-D change ``Σ M (d_β(X | Y₁) − d_β(X | Y₀))`` (+ penalties); where it rose,
the coordinate takes the multiplicative (majorise-minimise, γ = 1) step from its start
instead, and if even that is not lower it keeps its start. So no half-step increases
the objective (``tests/test_beta_cd.py``), and extrapolation
(:mod:`nmfkit.solvers.accelerate`) runs around it as for KL.

**Cost.** Unlike KL, ``Σ_f M B Y^{β−1}`` is not linear in ``a``: every entry of ``Y``
enters every coordinate's derivatives, so a sweep costs k (× ``inner``) elementwise powers
over the whole m × n matrix (MU: one per half-step) and is dense whatever ``X`` is.

**Kernels.** The vectorised path (:func:`beta_cd_left`, backend operations: NumPy,
torch, array-API) pays about ten passes over ``Y`` per coordinate; it **densifies** a
sparse ``X`` once per orientation (memory 2 m n floats on top of ``Y``). The optional
compiled kernel of :mod:`nmfkit.solvers._beta_cd_numba` (numba; ``kernel="auto"`` uses
it for NumPy / SciPy data when numba imports) takes one power per entry and coordinate,
rows in parallel, and reads a CSR ``X`` row by row (no dense copy). Measured
(``benchmarks/bench_beta_cd.py``, k = 10, same start, 2-core machine at load 8-10, so
ratios only): time to nmfkit MU's 200-iteration objective / MU's time, compiled kernel
with extrapolation (what ``solver="cd"`` runs): pbmc68k (700 × 765) 0.090 at β = 1.5
(0.078 of scikit-learn's 200 MU iterations) and 0.12 at β = 1.2; mouse10k's first 2,000
cells (1,999 × 590) 0.31 and 0.17; without extrapolation 0.21-0.37. The NumPy path with
extrapolation: 0.87 on pbmc68k at β = 1.5 (the same 9 iterations as the kernel, 9.6×
slower per sweep) and not there within MU's time at β = 1.2. So
:func:`nmfkit.models._core.resolve_solver` lets ``solver="auto"`` run this step for
1 < β < 2 only where the compiled kernel runs, as for KL.
"""

from __future__ import annotations

import numpy as np

from ..losses import EPSILON, elementwise_divergence
from .kl_cd import KLCDStep, _between, _mu_point, _newton, _pen_change
from .mu import BlockPenalty

__all__ = ["BetaCDStep", "beta_cd_left"]


def _floor_pow(Y, p, b):
    """``max(Y, EPSILON) ** p`` (``p < 0``)."""
    return b.clamp_min(Y, EPSILON) ** p


def _derivatives(MX, M, Y, Q, bj, beta, b, need_h=True):
    """``(P, N, h)`` per row: ``P − N = f'`` without penalties, ``h = f''`` without ``l2``;
    ``Q = max(Y, EPSILON)^(β−2)``."""
    Yc = b.clamp_min(Y, EPSILON)
    G = Yc * Q  # Y^(β−1)
    P = (G if M is None else M * G) @ bj
    R = MX * Q  # M X Y^(β−2)
    N = R @ bj
    if not need_h:
        return P, N, None
    bj2 = bj * bj
    MQ = Q if M is None else M * Q
    h = (beta - 1.0) * (MQ @ bj2) + (2.0 - beta) * ((R / Yc) @ bj2)
    return P, N, h


def _rise(MX, M, Y, bj, a0, a, beta, pen, b):
    """``f(a) − f(a0)`` per row, with ``Y`` the product at ``a`` (the dense objective's
    convention, :func:`~nmfkit.losses.elementwise_divergence`: no floor, ``Y`` at
    ``max(Y, 0)`` against round-off)."""
    D = a - a0
    Y1 = b.clamp_min(Y, 0.0)
    Y0 = b.clamp_min(Y - D[:, None] * bj[None, :], 0.0)
    G1, G0 = Y1 ** (beta - 1.0), Y0 ** (beta - 1.0)
    E = (Y1 * G1 - Y0 * G0) / beta
    if M is not None:
        E = M * E
    E = E - MX * (G1 - G0) / (beta - 1.0)
    return _pen_change(a0, a, pen) + E @ b.ones((E.shape[1],), E.dtype)


def _move(Y, A, B, j, a, new, b):
    """Column j of ``A`` from ``a`` to ``new``, ``Y = A B`` updated in place by the
    rank-one change; rows where the coordinate fell to 0 get their row of ``A B`` afresh
    (a residue of the incremental updates where ``Y`` should be 0 would shift
    ``Y^(β−1)``, whose slope is infinite at 0, by far more than round-off)."""
    A[:, j] = new
    Y += (new - a)[:, None] * B[j][None, :]
    zeroed = (new == 0) & (a != 0)
    if bool(b.any(zeroed)):
        Y[zeroed] = A[zeroed] @ B
    return new


def _guard(MX, M, Y, A, B, j, a0, a, P0, N0, g, beta, pen, b):
    """Rows whose objective rose take the MU point, then (if still higher) their start.
    Returns ``(a, changed)``; ``Y`` is updated in place to the returned point.

    The bound of :func:`~nmfkit.solvers.kl_cd._between` needs the true signs of ``f'``;
    the floored derivatives can have the wrong one where ``Y < EPSILON`` (the true
    ``f'`` tends to −∞ at ``Y = 0 < X``), so rows with such an entry (where ``B_j > 0``)
    get the exact check."""
    bj = B[j]
    low = b.min(b.where(bj[None, :] > 0, Y, 1.0), axis=1) < EPSILON  # entries f' sees
    check = low | ~_between(a0, a, g, P0 + pen.l1 + pen.l2 * a0 - N0, b)
    if not bool(b.any(check)):
        return a, False
    bad = check & ~(_rise(MX, M, Y, bj, a0, a, beta, pen, b) <= 0)
    if not bool(b.any(bad)):
        return a, False
    alt = _move(Y, A, B, j, a, b.where(bad, _mu_point(a0, N0, P0, pen, b), a), b)
    back = bad & ~(_rise(MX, M, Y, bj, a0, alt, beta, pen, b) <= 0)
    if bool(b.any(back)):
        alt = _move(Y, A, B, j, alt, b.where(back, a0, alt), b)
    return alt, True


def beta_cd_left(X, M, A, B, beta: float, pen: BlockPenalty, inner: int, b):
    """One CD sweep over the columns of ``A`` (m × k, in place) for dense ``X`` (m × n).

    ``M`` are element weights or None, ``1 < beta < 2``. Returns ``Y = A B`` after the
    sweep (exact up to the incremental updates' round-off).

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit.backends import get_namespace
    >>> from nmfkit.solvers.mu import BlockPenalty
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((6, 5)) @ rng.random((5, 4))
    >>> A, B = rng.random((6, 2)), rng.random((2, 4))
    >>> Y = beta_cd_left(X, None, A, B, 1.5, BlockPenalty(), 1, get_namespace(X))
    >>> bool(np.allclose(Y, A @ B))
    True
    """
    MX = X if M is None else M * X
    Y = A @ B
    Q = _floor_pow(Y, beta - 2.0, b)
    for j in range(A.shape[1]):
        bj = B[j]
        a0 = b.copy(A[:, j])
        a = a0
        P0 = N0 = None
        for t in range(inner):
            P, N, h = _derivatives(MX, M, Y, Q, bj, beta, b)
            if t == 0:
                P0, N0 = P, N
            a = _move(Y, A, B, j, a, _newton(a, P + pen.l1 + pen.l2 * a - N, h + pen.l2, b), b)
            Q = _floor_pow(Y, beta - 2.0, b)
        P, N, _ = _derivatives(MX, M, Y, Q, bj, beta, b, need_h=False)
        _, changed = _guard(MX, M, Y, A, B, j, a0, a, P0, N0, P + pen.l1 + pen.l2 * a - N, beta, pen, b)
        if changed:
            Q = _floor_pow(Y, beta - 2.0, b)
    return Y


class BetaCDStep(KLCDStep):
    """One outer coordinate-descent iteration over ``blocks`` for one β-divergence term,
    1 < β < 2 (β = 1: :class:`~nmfkit.solvers.kl_cd.KLCDStep`).

    Parameters
    ----------
    terms : list of Term
        One term with 1 < β < 2 and a positive weight (plain or masked NMF).
    backend : Backend
    blocks : tuple of str
        Blocks updated, in order (``("W",)`` keeps ``H`` fixed).
    penalties : dict
        ``block -> BlockPenalty``.
    inner : int
        Newton steps per coordinate and sweep (each costs one power over ``Y``).
    kernel : {"auto", "numpy", "numba"}
        The per-row compiled kernel of :mod:`nmfkit.solvers._beta_cd_numba` (NumPy /
        SciPy inputs only; "auto" uses it when numba is installed) or the vectorised
        backend path (:func:`beta_cd_left`).

    Calling it updates the state in place and returns the objective of every restart,
    computed from ``A B`` after the last half-step. On the NumPy path a sparse ``X`` is
    densified once per orientation (the sweep is dense anyway); the compiled kernel reads
    it row by row.

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit.backends import get_namespace
    >>> from nmfkit.losses import Target, Term
    >>> rng = np.random.default_rng(0)
    >>> X = rng.poisson(rng.gamma(1, 1, (30, 2)) @ rng.gamma(1, 1, (2, 20))).astype(float)
    >>> b = get_namespace(X)
    >>> step = BetaCDStep([Term(Target(X, None, b), 1.5)], b)
    >>> state = {"W": rng.random((1, 30, 2)), "H": rng.random((1, 2, 20))}
    >>> first, later = step(state)[0], [step(state)[0] for _ in range(20)][-1]
    >>> bool(later < first)
    True
    """

    def __init__(self, terms, backend, blocks=("W", "H"), penalties=None, inner: int = 1,
                 kernel: str = "auto"):
        super().__init__(terms, backend, blocks, penalties, inner, kernel)
        self._dense = {}  # per orientation: X (densified if sparse) and M, C-contiguous for numba

    @staticmethod
    def _check_terms(terms):
        if len(terms) != 1 or not 1 < terms[0].beta < 2 or terms[0].weight <= 0:
            raise ValueError("BetaCDStep minimises one β-divergence term with 1 < beta < 2 and a "
                             "positive weight (beta=1: KLCDStep)")

    def _data(self, tgt):
        """``(X, M)`` of one orientation: dense (the compiled kernel: C-contiguous, or the
        CSR's :class:`~nmfkit.backends._sparse.SparseInfo`, read row by row)."""
        if self.kernel == "numba" and tgt.sparse:
            return tgt.info, None
        if not tgt.sparse and self.kernel == "numpy":
            return tgt.X, tgt.M
        if id(tgt) not in self._dense:
            X = tgt.X.toarray() if tgt.sparse else tgt.X
            M = None if tgt.M is None else np.ascontiguousarray(tgt.M, dtype=np.float64)
            self._dense[id(tgt)] = (np.ascontiguousarray(X, dtype=np.float64), M)
        return self._dense[id(tgt)]

    def _sweep(self, tgt, A, B, pen, want_loss):
        X, M = self._data(tgt)
        b, beta = self.b, self.term.beta
        if self.kernel == "numba":
            from ._beta_cd_numba import beta_cd_left_numba

            return beta_cd_left_numba(X, M, A, B, beta, pen.l1, pen.l2, self.inner, want_loss)
        beta_cd_left(X, M, A, B, beta, pen, self.inner, b)
        if not want_loss:
            return None
        # from A B afresh (one product): Y^(β−1) is too steep at 0 for the incremental Y
        D = elementwise_divergence(X, A @ B, beta, b)
        return float(b.item(b.sum(D if M is None else M * D)))
