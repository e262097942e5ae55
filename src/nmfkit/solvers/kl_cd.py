r"""Coordinate descent for KL (Poisson) NMF: cyclic 1-D Newton steps, safeguarded.

For a fixed ``B`` (k × n) the rows of ``A`` (m × k) in ``X ≈ A B`` are independent KL
problems, and one coordinate ``a = A_ij`` minimises the convex 1-D function

.. math::
    f(a) = s\,a - \sum_f M_{if} X_{if} \log\big(c_f + a B_{jf}\big)
           + l_1 a + \tfrac{l_2}{2} a^2,
    \qquad s = \sum_f M_{if} B_{jf},

(``c`` the other components of ``Y = A B``). The cyclic coordinate descent of Hsieh &
Dhillon (KDD 2011; also the SCD of fastTopics, Carbonetto et al. 2021) takes a few
projected Newton steps on each coordinate,

.. math::
    a \leftarrow \max\!\big(0,\; a - f'(a) / f''(a)\big),\quad
    f' = s + l_1 + l_2 a - \sum_f \frac{M X B_{jf}}{Y_f},\quad
    f'' = l_2 + \sum_f \frac{M X B_{jf}^2}{Y_f^2},

and updates ``Y`` by the rank-one change of column j (at the stored entries only for a
sparse ``X``: O(nnz) per step, O(nnz · k) per sweep). Here component j is updated for
**all rows at once** (vectorised; a row's sequence of operations is the same as in the
per-row loop of :mod:`nmfkit.solvers._kl_cd_numba`, the optional compiled kernel).

**Monotone.** ``f''' ≤ 0``, so a Newton step that moves a coordinate *up* never
overshoots and lowers ``f``; a step *down* can overshoot. After its Newton steps each
coordinate's change of ``f`` is evaluated exactly (``Σ M X log1p(−Δ B / Y)``); where it
rose, the coordinate takes the multiplicative (majorise-minimise) step from its start
instead, and if even that is not lower it keeps its start. So no half-step increases the
objective (the property tested in ``tests/test_kl_cd.py``), and a coordinate can leave 0
(which MU cannot), so extrapolation (:mod:`nmfkit.solvers.accelerate`) helps here.

The H half-step is the same computation on the transposed problem ``Xᵀ ≈ Hᵀ Wᵀ``
(the transposed CSR is built once). Blocks carry the leading restart axis (R, ·, ·);
restarts are updated one after another. Element weights (missing values) multiply both
sums. The dense path uses only backend operations (NumPy, torch, array-API); the sparse
path is NumPy/SciPy.

**Kernels.** The vectorised path above is the pure NumPy/SciPy one; it pays one
temporary per pass and is several times slower per sweep than the compiled per-row
kernel of :mod:`nmfkit.solvers._kl_cd_numba` (numba, optional: the NumPy path is the
fallback), which ``kernel="auto"`` uses for NumPy / SciPy data when numba imports.
Measured (``benchmarks/bench_kl_cd.py``, mouse10k 2,000 cells, k = 10, one W
half-step, one thread, loaded machine): NumPy 200-400 ms, numba 16 ms (before the
kernel formed ``y`` itself and the trapezoid bound of :func:`_between`, which halved
it again: see :mod:`nmfkit.solvers._kl_cd_numba`). ``solver="auto"``
picks CD for KL only with the compiled kernel (:func:`nmfkit.models._core.resolve_solver`).
"""

from __future__ import annotations

import numpy as np

from ..backends import single_threaded_blas
from ..losses import EPSILON
from .hals import penalty_values
from .mu import BlockPenalty

__all__ = ["KLCDStep", "cd_left_dense", "cd_left_sparse", "kl_from_y", "numba_available"]


def numba_available() -> bool:
    """Whether the optional compiled kernel (numba) can be used."""
    import importlib

    try:
        importlib.import_module("numba")
    except ImportError:
        return False
    return True


def _newton(a, g, h, b):
    """The projected Newton point of every coordinate (``h = 0``: the linear minimiser)."""
    safe_h = b.where(h > 0, h, 1.0)
    step = b.clamp_min(a - g / safe_h, 0.0)
    return b.where(h > 0, step, b.where(g > 0, 0.0 * a, a))


def _mu_point(a0, Nmu, s, pen, b):
    """The multiplicative (majorise-minimise) point of every coordinate, from its start."""
    den = s + pen.l1 + pen.l2 * a0
    return b.where(den > 0, a0 * Nmu / b.where(den > 0, den, 1.0), a0)


def _pen_change(a0, a1, pen):
    return pen.l1 * (a1 - a0) + 0.5 * pen.l2 * (a1 * a1 - a0 * a0)


def _between(a0, a, g, g0, b):
    """Coordinates whose objective cannot have risen: their final point lies between
    their start and their minimiser (``f'`` has the sign of the move's opposite), or
    they stepped down past the minimiser with ``f'(a) + f'(a0) >= 0``. ``f'`` is concave
    (its derivative ``f''`` decreases), so ``f(a0) - f(a) >= (a0 - a)(f'(a) + f'(a0)) / 2``
    (the trapezoid bound): it spares most overshooting coordinates the logarithms of the
    exact check (2x per sweep on mouse10k)."""
    return ((a <= a0) & (g >= 0)) | ((a >= a0) & (g <= 0)) | ((a < a0) & (g + g0 >= 0))


def cd_left_dense(X, M, A, B, pen: BlockPenalty, inner: int, b):
    """One CD sweep over the columns of ``A`` (m × k, in place) for dense ``X`` (m × n).

    ``M`` are element weights or None. Returns ``Y = A B`` after the sweep (exact up to
    the incremental updates' round-off).
    """
    MX = X if M is None else M * X
    Y = A @ B
    for j in range(A.shape[1]):
        bj = B[j]
        s = b.sum(bj) if M is None else M @ bj
        a0 = b.copy(A[:, j])
        a, Nmu = a0, None
        for t in range(inner):
            Rc = 1.0 / b.clamp_min(Y, EPSILON)
            Q = MX * Rc
            N = Q @ bj
            h = (Q * Rc) @ (bj * bj) + pen.l2
            if t == 0:
                Nmu = N
            new = _newton(a, s + pen.l1 + pen.l2 * a - N, h, b)
            Y += (new - a)[:, None] * bj[None, :]
            a = new
        g = s + pen.l1 + pen.l2 * a - (MX / b.clamp_min(Y, EPSILON)) @ bj
        A[:, j] = _dense_guard(MX, Y, bj, s, a0, a, Nmu, g, pen, b)
    return Y


def _dense_rise(MX, Y, bj, s, a0, a, pen, b):
    """``f(a) − f(a0)`` per row, with ``Y`` the product at ``a``."""
    D = a - a0
    Yc = b.clamp_min(Y, EPSILON)
    L = b.log1p(b.clamp_min(-(D[:, None] * bj[None, :]) / Yc, -1.0 + 1e-16))
    return D * s + _pen_change(a0, a, pen) + (MX * L) @ b.ones((MX.shape[1],), MX.dtype)


def _dense_guard(MX, Y, bj, s, a0, a, Nmu, g, pen, b):
    """Rows whose objective rose take the MU point, then (if still higher) their start."""
    check = ~_between(a0, a, g, s + pen.l1 + pen.l2 * a0 - Nmu, b)
    if not bool(b.any(check)):
        return a
    rise = _dense_rise(MX, Y, bj, s, a0, a, pen, b)
    bad = check & ~(rise <= 0)
    if not bool(b.any(bad)):
        return a
    alt = b.where(bad, _mu_point(a0, Nmu, s, pen, b), a)
    Y += (alt - a)[:, None] * bj[None, :]
    rise = _dense_rise(MX, Y, bj, s, a0, alt, pen, b)
    back = bad & ~(rise <= 0)
    if bool(b.any(back)):
        last = b.where(back, a0, alt)
        Y += (last - alt)[:, None] * bj[None, :]
        alt = last
    return alt


def _row_sums(rows, v, m):
    return np.bincount(rows, weights=v, minlength=m)


def cd_left_sparse(info, rows, A, B, pen: BlockPenalty, inner: int):
    """One CD sweep over the columns of ``A`` (m × k, NumPy, in place) for a CSR ``X``.

    ``info`` is the :class:`~nmfkit.backends._sparse.SparseInfo` of ``X``, ``rows`` the row
    of every stored entry. ``A B`` is evaluated and updated at the stored entries only.
    Returns ``y`` (length nnz), ``A B`` at the stored entries after the sweep.
    """
    from ..backends._sparse import sddmm

    x, cols = info.data, info.indices
    m = A.shape[0]
    with single_threaded_blas():
        y = sddmm(info, A, B)
    for j in range(A.shape[1]):
        bj = B[j]
        bg = bj[cols]
        s = float(bj.sum())
        a0 = A[:, j].copy()
        a, Nmu = a0, None
        for t in range(inner):
            r = 1.0 / np.maximum(y, EPSILON)
            q = x * r
            q *= bg
            N = _row_sums(rows, q, m)
            q *= r
            q *= bg
            h = _row_sums(rows, q, m) + pen.l2
            if t == 0:
                Nmu = N
            new = _newton(a, s + pen.l1 + pen.l2 * a - N, h, np_ops)
            y += (new - a)[rows] * bg
            a = new
        g = s + pen.l1 + pen.l2 * a - _row_sums(rows, x / np.maximum(y, EPSILON) * bg, m)
        A[:, j] = _sparse_guard(x, rows, y, bg, s, a0, a, Nmu, g, pen)
    return y


def _sparse_rise(x, rows, y, bg, s, a0, a, pen):
    D = a - a0
    L = np.log1p(np.maximum(-D[rows] * bg / np.maximum(y, EPSILON), -1.0 + 1e-16))
    return D * s + _pen_change(a0, a, pen) + _row_sums(rows, x * L, a.shape[0])


def _sparse_guard(x, rows, y, bg, s, a0, a, Nmu, g, pen):
    check = ~_between(a0, a, g, s + pen.l1 + pen.l2 * a0 - Nmu, np_ops)
    if not check.any():
        return a
    rise = _sparse_rise(x, rows, y, bg, s, a0, a, pen)
    bad = check & ~(rise <= 0)
    if not bad.any():
        return a
    alt = np.where(bad, _mu_point(a0, Nmu, s, pen, np_ops), a)
    y += (alt - a)[rows] * bg
    rise = _sparse_rise(x, rows, y, bg, s, a0, alt, pen)
    back = bad & ~(rise <= 0)
    if back.any():
        last = np.where(back, a0, alt)
        y += (last - alt)[rows] * bg
        alt = last
    return alt


class _NumpyOps:
    """The few backend operations the shared helpers need, for the sparse NumPy path."""

    where = staticmethod(np.where)

    @staticmethod
    def clamp_min(a, v):
        return np.maximum(a, v)


np_ops = _NumpyOps()


def kl_from_y(x, y, total_y: float, M=None) -> float:
    """``Σ M (x log(x/y) − x + y)`` from ``y`` at the entries of ``x`` (float).

    Sparse: ``x``, ``y`` are the stored values and ``total_y = Σ_all (A B)``; dense:
    full arrays (NumPy) and ``total_y`` is ignored.
    """
    yc = np.maximum(y, EPSILON)
    r = np.log(np.maximum(x / yc, 1e-38)) * x - x
    if total_y is None:
        r = r + y
        return float((r if M is None else M * r).sum())
    return float(r.sum()) + total_y


def _dense_kl(X, Y, M, b) -> float:
    """``Σ M (x log(x/y) − x + y)`` for dense ``X`` and ``Y`` (backend ops, as the engine's
    :func:`~nmfkit.losses.beta_divergence` computes it)."""
    R = b.log(b.clamp_min_(X / b.clamp_min(Y, EPSILON), 1e-38)) * X - X + Y
    return float(b.item(b.sum(R if M is None else M * R)))


class KLCDStep:
    """One outer coordinate-descent iteration over ``blocks`` for one KL term.

    Parameters
    ----------
    terms : list of Term
        One term with β = 1 and a positive weight (plain or masked NMF).
    backend : Backend
    blocks : tuple of str
        Blocks updated, in order (``("W",)`` keeps ``H`` fixed).
    penalties : dict
        ``block -> BlockPenalty``.
    inner : int
        Newton steps per coordinate and sweep (1: measured faster in time than 2 on the
        bundled count data, ``benchmarks/bench_kl_cd.py``).
    kernel : {"auto", "numpy", "numba"}
        The per-row compiled kernel of :mod:`nmfkit.solvers._kl_cd_numba` (NumPy inputs
        only; "auto" uses it when numba is installed) or the vectorised NumPy/backend path.

    Calling it updates the state in place and returns the objective of every restart,
    computed from the ``A B`` the last half-step maintained (no extra product).

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit.backends import get_namespace
    >>> from nmfkit.losses import Target, Term
    >>> rng = np.random.default_rng(0)
    >>> X = rng.poisson(rng.gamma(1, 1, (30, 2)) @ rng.gamma(1, 1, (2, 20))).astype(float)
    >>> b = get_namespace(X)
    >>> step = KLCDStep([Term(Target(X, None, b), 1.0)], b, kernel="numpy")
    >>> state = {"W": rng.random((1, 30, 2)), "H": rng.random((1, 2, 20))}
    >>> first, later = step(state)[0], [step(state)[0] for _ in range(20)][-1]
    >>> bool(later < first)
    True
    """

    def __init__(self, terms, backend, blocks=("W", "H"), penalties=None, inner: int = 1,
                 kernel: str = "auto"):
        self._check_terms(terms)
        self.term, self.b, self.blocks = terms[0], backend, tuple(blocks)
        self.terms = list(terms)
        self.penalties = penalties or {}
        self.inner = int(inner)
        t = self.term.target
        if t.stacked:
            raise ValueError("coordinate descent does not take stacked targets")
        numpy_data = t.sparse or isinstance(t.X, np.ndarray)
        if kernel == "auto":
            kernel = "numba" if numpy_data and numba_available() else "numpy"
        if kernel == "numba" and not numpy_data:
            raise ValueError("the numba kernel runs on NumPy / scipy.sparse inputs only")
        self.kernel = kernel
        self._rows = {}
        self._entries = {}  # the compiled kernel's entries of M ⊙ X, per orientation

    @staticmethod
    def _check_terms(terms):
        if len(terms) != 1 or terms[0].beta != 1 or terms[0].weight <= 0:
            raise ValueError("coordinate descent minimises one KL term (beta=1) with a positive weight")

    def prepare(self, state):
        for blk in self.blocks:
            state[blk] = self.b.contiguous(state[blk])
        return state

    def _sides(self, blk):
        """``(target, transposed)``: the data seen with ``blk`` as the left factor."""
        t = self.term.target
        return (t, False) if blk == self.term.left else (t.T, True)

    def _rows_of(self, info):
        key = id(info)
        if key not in self._rows:
            self._rows[key] = np.repeat(np.arange(info.shape[0], dtype=np.intp), np.diff(info.indptr))
        return self._rows[key]

    def _half(self, state, blk, want_loss=True):
        """Update ``state[blk]`` (every restart); returns per restart ``(x, y, total, M)``."""
        b = self.b
        tgt, tr = self._sides(blk)
        pen = self.penalties.get(blk, BlockPenalty())
        pen = BlockPenalty(pen.l1 / self.term.weight, pen.l2 / self.term.weight)
        other = self.term.right if blk == self.term.left else self.term.left
        out = []
        for r in range(state[blk].shape[0]):
            A = b.mT(state[blk][r]) if tr else state[blk][r]  # (m, k) view
            B = b.mT(state[other][r]) if tr else state[other][r]  # (k, n)
            if tr:
                A = b.contiguous(A)
                B = b.contiguous(B)
            y = self._sweep(tgt, A, B, pen, want_loss)
            if tr:
                state[blk][r] = b.mT(A)
            if isinstance(y, float):  # the compiled kernel gives the divergence
                out.append((tgt, None, y))
                continue
            total = float(b.item(b.sum(A, axis=0) @ b.sum(B, axis=1))) if tgt.sparse else None
            out.append((tgt, y, total))
        return out

    def _sweep(self, tgt, A, B, pen, want_loss):
        if self.kernel == "numba":
            from ._kl_cd_numba import cd_left_numba, stored_entries

            if id(tgt) not in self._entries:
                self._entries[id(tgt)] = stored_entries(tgt)
            return cd_left_numba(tgt, A, B, pen, self.inner, self._entries[id(tgt)], want_loss)
        if tgt.sparse:
            return cd_left_sparse(tgt.info, self._rows_of(tgt.info), A, B, pen, self.inner)
        return cd_left_dense(tgt.X, tgt.M, A, B, pen, self.inner, self.b)

    def __call__(self, state, idx=None, want_loss=True):
        last = None
        for i, blk in enumerate(self.blocks):
            last = self._half(state, blk, want_loss and i == len(self.blocks) - 1)
        if not want_loss:
            return None
        losses = np.empty(len(last))
        b = self.b
        for r, (tgt, y, total) in enumerate(last):
            if y is None:
                losses[r] = total
            elif tgt.sparse:
                losses[r] = kl_from_y(tgt.info.data, y, total)
            else:
                losses[r] = _dense_kl(tgt.X, y, tgt.M, b)
        losses *= self.term.weight
        for name, p in self.penalties.items():
            losses += penalty_values(state[name], p, b)
        return losses
