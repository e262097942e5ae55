r"""Integrative NMF (LIGER's iNMF): block-coordinate HALS on shared and specific programs.

For data sets ``X_d`` (n_d × m, the same m features) with codes ``H_d`` (n_d × k),
shared programs ``W`` (k × m) and data-set-specific programs ``V_d`` (k × m):

.. math::
    L = \tfrac12 \sum_d \|X_d - H_d (W + V_d)\|_F^2 + \tfrac{\lambda}{2} \sum_d \|H_d V_d\|_F^2 .

Why a module of its own: an engine :class:`~nmfkit.losses.Term` is ``D(X | A B)``, one
product of two blocks. Here each data set's approximation is a *sum* of two products
sharing their left factor, ``H_d W + H_d V_d``; the gradients of the sum couple ``W`` and
``V_d`` inside one residual, which no sum of two-block terms expresses (``[H_d, H_d]
[W; V_d]`` ties two copies of ``H_d``). The λ term alone is a term ``D(0 | H_d V_d)``,
but the first one is not. Every block sub-problem is, however, exactly the quadratic
that the HALS engine minimises, ``½ tr(A G Aᵀ) − tr(R Aᵀ)``; this module only forms
each block's ``(R, G)`` and hands them to :func:`nmfkit.solvers.hals.hals_sweeps` (the
engine's Gillis–Glineur sweeps, per-restart inner stopping):

- ``W``:   ``G = Σ_d H_dᵀH_d``,  ``R = Σ_d (H_dᵀX_d − H_dᵀH_d V_d)``;
- ``V_d``: ``G = (1+λ) H_dᵀH_d``,  ``R = H_dᵀX_d − H_dᵀH_d W``;
- ``H_d``: ``G = U_d U_dᵀ + λ V_d V_dᵀ``,  ``R = U_d X_dᵀ`` with ``U_d = W + V_d``
  (the stacked system ``‖[X_d, 0] − H_d [U_d, √λ V_d]‖²`` of LIGER's ANLS).

Each block is minimised (approximately, by the inner sweeps) with the others fixed, so
the objective never increases; after the ``H_d`` blocks it comes free from their products
(``‖X_d‖² − 2⟨X_d U_dᵀ, H_d⟩ + ⟨H_dᵀH_d, G_d⟩``). The state is the loop's: named blocks
``W``, ``V0..``, ``H0..`` with a leading restart axis, so restarts are batched and stop
one by one in the one loop (:func:`nmfkit.solvers.run`).
"""

from __future__ import annotations

import numpy as np

from ..backends import single_threaded_blas
from ..losses import Target, stacked_left, stacked_right
from .hals import hals_sweeps, inner_budget

__all__ = ["INMFStep", "inmf_names"]


def inmf_names(n_sets: int):
    """The state's block names: ``("W", ("V0", ...), ("H0", ...))``."""
    return "W", tuple(f"V{d}" for d in range(n_sets)), tuple(f"H{d}" for d in range(n_sets))


class INMFStep:
    """One outer iteration (``W``, every ``V_d``, every ``H_d``) of iNMF by HALS.

    Parameters
    ----------
    Xs : list of arrays
        The data sets (n_d × m each), dense backend arrays or CSR matrices.
    lam : float
        λ >= 0, the weight of the data-set-specific penalty.
    backend : Backend
    inner_alpha, inner_tol, max_inner : float, float, int
        The HALS inner-sweep budget and stopping rule (:mod:`nmfkit.solvers.hals`).

    Calling it updates the state in place and returns the objective of every restart.
    """

    def __init__(self, Xs, lam: float, backend, inner_alpha: float = 0.5,
                 inner_tol: float = 0.1, max_inner: int = 20):
        self.targets = [Target(X, None, backend) for X in Xs]
        self.lam, self.b = float(lam), backend
        self.names = inmf_names(len(Xs))
        self._inner = (inner_alpha, inner_tol, max_inner)

    # --- products -------------------------------------------------------------------
    def _htx(self, t, H):
        """``H_rᵀ X`` (R, k, m) for every restart."""
        b = self.b
        if t.sparse:
            return b.mT(stacked_right(b, t.T.X, b.mT(H)))
        return stacked_left(b, t.X, H)

    def _sweeps(self, At, Rm, G, r, c):
        alpha, tol, max_inner = self._inner
        budget = inner_budget(r, c, At.shape[1], alpha, max_inner)
        with single_threaded_blas():
            hals_sweeps(At, self.b.contiguous(Rm), G, self.b, max_sweeps=budget, inner_tol=tol)

    # --- one iteration ----------------------------------------------------------------
    def prepare(self, state):
        """Codes laid out as the transpose view of a C-contiguous (R, k, n_d) stack."""
        b = self.b
        _, Vn, Hn = self.names
        for name in Hn:
            state[name] = b.mT(b.contiguous(b.mT(state[name])))
        for name in ("W",) + Vn:
            state[name] = b.contiguous(state[name])
        return state

    def __call__(self, state, idx=None, want_loss=True):
        b, lam = self.b, self.lam
        Wn, Vn, Hn = self.names
        m = self.targets[0].shape[1]
        grams = [b.mT(state[h]) @ state[h] for h in Hn]  # H_dᵀH_d (R, k, k)
        htx = [self._htx(t, state[h]) for t, h in zip(self.targets, Hn)]
        # shared programs W
        W = state[Wn]
        G = sum(grams)
        Rm = sum(hx - g @ state[v] for hx, g, v in zip(htx, grams, Vn))
        self._sweeps(W, Rm, G, m, sum(t.shape[0] for t in self.targets))
        # specific programs V_d
        for t, hx, g, v in zip(self.targets, htx, grams, Vn):
            self._sweeps(state[v], hx - g @ W, (1.0 + lam) * g, m, t.shape[0])
        # codes H_d, and the objective from their products
        total = np.zeros(W.shape[0])
        for t, v, h in zip(self.targets, Vn, Hn):
            V = state[v]
            U = W + V
            Gd = U @ b.mT(U) + lam * (V @ b.mT(V))
            XUt = stacked_right(b, t.X, U)  # (R, n_d, k)
            Ht = b.mT(state[h])  # (R, k, n_d), a view: updated in place
            self._sweeps(Ht, b.mT(XUt), Gd, t.shape[0], m)
            total += self._value(t, XUt, state[h], Gd)
        return total

    def _value(self, t, XUt, H, Gd):
        """``½(‖X‖² − 2⟨X Uᵀ, H⟩ + ⟨HᵀH, U Uᵀ + λ V Vᵀ⟩)`` per restart (float64)."""
        b = self.b
        cross = b.to_numpy(b.sum(XUt * H, axis=(1, 2))).astype(np.float64)
        quad = b.to_numpy(b.sum((b.mT(H) @ H) * Gd, axis=(1, 2))).astype(np.float64)
        return 0.5 * np.maximum(t.norm2 - 2.0 * cross + quad, 0.0)

    def objective(self, state) -> np.ndarray:
        """The objective of every restart of a (sub-)state (module docstring)."""
        b, lam = self.b, self.lam
        Wn, Vn, Hn = self.names
        W = state[Wn]
        total = np.zeros(W.shape[0])
        for t, v, h in zip(self.targets, Vn, Hn):
            V, H = state[v], state[h]
            U = W + V
            Gd = U @ b.mT(U) + lam * (V @ b.mT(V))
            total += self._value(t, stacked_right(b, t.X, U), H, Gd)
        return total
