r"""Online NMF: the engine's terms on one mini-batch of rows, with decayed statistics.

A mini-batch ``X_b`` (rows ``b`` of ``X``) is one :class:`~nmfkit.losses.Term`
``D_β(X_b | W_b H)``. Its codes ``W_b`` are solved for the current ``H`` by the engine
(an exact NNLS for Frobenius without weights, the engine's own step on block ``W``
otherwise); what the ``H`` update of the full problem sums over *all* row blocks is
then kept as running **sufficient statistics**, decayed by ``ρ`` per batch:

* Frobenius, HALS (Mairal et al. 2010): ``A ← ρ A + W_bᵀ W_b``, ``B ← ρ B + W_bᵀ X_b``
  (the products :meth:`HALSStep.products` forms for block ``H``), then Gillis–Glineur
  HALS sweeps on ``H`` for ``½ tr(H ᵀA H) − tr(Hᵀ B)`` (:func:`hals_sweeps`).
* Any β, MU (Lefèvre et al. 2011): ``P ← ρ P + P_b``, ``N ← ρ N + N_b`` with
  ``(P_b, N_b)`` the term's gradient parts for ``H`` (:meth:`Term.parts`), then
  ``H ← H ⊙ (N / P)^γ`` (:func:`mu_apply`).

With ``ρ = 1`` and one batch holding all rows this is one outer iteration of the
full-batch engine (codes solved to the end). The statistics stand for ``count``
samples (the decayed number of rows summed in), so the ``H`` penalties, defined per
sample, are scaled by it. Everything lives in the state (``H``, ``S1``, ``S2``,
``count``), as the design asks of online fits.
"""

from __future__ import annotations

import numpy as np

from ..losses import Target, Term, frobenius_values, safe_den, stacked_right
from .engine import make_step
from .hals import HALSStep, hals_sweeps, inner_budget, penalty_values
from .mu import BlockPenalty, mu_gamma
from .nnls import nnls_codes

__all__ = ["OnlineNMF"]


class OnlineNMF:
    """Mini-batch updates of ``X ≈ W H`` on the engine.

    Parameters
    ----------
    beta : float
    backend : Backend
    solver : {"hals", "mu"}
        How ``H`` is updated from the statistics (HALS: Frobenius without weights).
    penalty_W : BlockPenalty
        On the codes (per row: does not depend on the number of samples).
    penalty_H_per_sample : BlockPenalty
        On ``H``, per sample; scaled by the statistics' sample count.
    max_inner, inner_tol : int, float
        Iterative codes (β ≠ 2 or element weights): at most ``max_inner`` engine steps on
        ``W_b``, stopping when ``‖ΔW_b‖ ≤ inner_tol ‖W_b‖``.
    epoch_rows : int or None
        The rows of one pass over a finite data set: MU statistics by epoch
        (:meth:`new_epoch`); None for an open-ended stream (decayed statistics).
    """

    def __init__(self, beta: float, backend, solver: str, penalty_W=BlockPenalty(),
                 penalty_H_per_sample=BlockPenalty(), max_inner: int = 5, inner_tol: float = 1e-3,
                 epoch_rows=None):
        self.beta, self.b, self.solver = float(beta), backend, solver
        self.pW, self.pH = penalty_W, penalty_H_per_sample
        self.max_inner, self.inner_tol = int(max_inner), float(inner_tol)
        self.gamma = mu_gamma(self.beta)
        self.epoch_rows = epoch_rows

    # -- state ---------------------------------------------------------------------------
    def start(self, H0) -> dict:
        """The state of a fresh fit from ``H0`` (k, n): no statistics yet."""
        b = self.b
        H = b.contiguous(b.copy(H0)[None, ...])
        return {"H": H, "S1": None, "S2": None, "count": np.zeros(1), "P1": None, "P2": None,
                "Pcount": np.zeros(1)}

    def exact(self, target: Target) -> bool:
        """Whether the codes of ``target`` are an exact one-shot NNLS solve."""
        return self.beta == 2 and target.M is None

    # -- codes ---------------------------------------------------------------------------
    def codes(self, target: Target, H, W0=None):
        """Codes ``W_b`` (1, b, k) of the batch for ``H`` (1, k, n), and the batch's
        objective ``D_β(X_b | W_b H) + W-penalty`` at them (a float)."""
        b = self.b
        exact = self.exact(target)
        if exact or W0 is None:  # the NNLS solve: the codes, or the start of a cold batch
            XBt = stacked_right(b, target.MX, H)  # X_b Hᵀ (1, b, k): the right-hand side
            W = nnls_codes(H[0], b.contiguous(b.mT(XBt)[0]), l1=self.pW.l1, l2=self.pW.l2)[None, ...]
        if exact:
            G = H @ b.mT(H)
            loss = frobenius_values(target, XBt, W, b.mT(W) @ W, G, H)
            return W, float(loss[0] + penalty_values(W, self.pW, b)[0])
        if W0 is None:  # a strictly positive start (multiplicative steps keep zeros at 0)
            k = H.shape[1]
            floor = max(float(b.item(b.sum(W))) / max(W.shape[1] * k, 1), 1e-12) * 1e-2
            W = b.clamp_min_(W, floor)
        else:  # warm: the batch's codes from its last visit (no product with X_b needed)
            W = b.copy(W0)
        term = Term(target, self.beta, 1.0, "W", "H")
        state = {"W": W, "H": H}
        step = make_step([term], b, solver="hals" if self.beta == 2 else "mu", blocks=("W",),
                         penalties={"W": self.pW} if (self.pW.l1 or self.pW.l2) else {})
        state = step.prepare(state) if hasattr(step, "prepare") else state
        for _ in range(self.max_inner):
            before = b.copy(state["W"])
            step(state)
            before -= state["W"]
            if b.norm2(before) <= self.inner_tol**2 * b.norm2(state["W"]):
                break
        W = b.contiguous(state["W"])
        loss = term.divergences({"W": W, "H": H})
        return W, float(loss[0] + penalty_values(W, self.pW, b)[0])

    # -- statistics and the H update -----------------------------------------------------
    def accumulate(self, state: dict, target: Target, W, rho: float, W_old=None) -> None:
        """``S ← ρ S + (the batch's H statistics)``; ``count ← ρ count + rows``.

        With ``W_old`` (the batch's codes when it was last visited; HALS only) the
        batch's old contribution is replaced instead (``ρ`` is not applied): the
        statistics are then exactly the full data's at the latest codes of every batch.
        """
        b = self.b
        H = state["H"]
        term = Term(target, self.beta, 1.0, "W", "H")
        if self.solver == "hals":
            if W_old is not None:
                dW = W - W_old
                S2, _, _ = HALSStep([term], b, blocks=("H",)).products({"W": dW, "H": H}, "H")
                S1 = b.mT(W) @ W - b.mT(W_old) @ W_old
                state["S1"] = state["S1"] + S1
                state["S2"] = state["S2"] + S2
                return
            S2, S1, _ = HALSStep([term], b, blocks=("H",)).products({"W": W, "H": H}, "H")  # WᵀX, WᵀW
        else:
            # Lefèvre et al.: the numerator times H^(1/γ) (the expected statistics of the
            # majorisation), the denominator as it is; H = (S2 / S1)^γ
            S1, N = term.parts({"W": W, "H": H}, "H")
            Hg = H if self.gamma == 1 else H ** (1.0 / self.gamma)
            S2 = N * Hg
            if state["S1"] is None and state.get("P1") is None:
                self._prior(state, S1, Hg, W.shape[1])
        if state["S1"] is None:
            state["S1"], state["S2"] = b.copy(S1), b.copy(S2)
        else:
            state["S1"] = state["S1"] * rho + S1
            state["S2"] = state["S2"] * rho + S2
        state["count"] = state["count"] * rho + W.shape[1]

    def _prior(self, state, S1, Hg, rows):
        """Statistics that stand for the starting ``H`` before the first batch.

        A multiplicative update keeps a zero at zero, and a feature absent from the first
        batch would get ``S2 = 0`` and so ``H = 0`` for good (measured: 151 of the 1,000
        genes of the mouse counts). The start therefore enters as pseudo-statistics whose
        ratio is ``H0``, weighing as much as the first batch: in ``fit`` as the "previous
        pass" (weight ``1 − f``, gone at the end of the first epoch), in ``partial_fit`` as
        the first term of the decayed sum (as scikit-learn's MiniBatchNMF does). (Weighing
        it as a whole pass slowed the first epochs: 6 epochs instead of 5 to reach
        scikit-learn's 20-epoch objective on the mouse counts.)
        """
        b = self.b
        if self.epoch_rows:
            state["P1"], state["P2"], state["Pcount"] = S1, Hg * S1, np.array([float(rows)])
        else:
            state["S1"], state["S2"], state["count"] = b.copy(S1), Hg * S1, np.array([float(rows)])

    def new_epoch(self, state: dict) -> None:
        """``fit``'s MU statistics: the epoch that ended becomes the previous pass's
        (``P1``, ``P2``) and a new one starts; an update uses this epoch's statistics
        plus the share ``1 − f`` of the previous pass's not yet replaced (``f``: the
        fraction of rows visited in this epoch), so every row counts about once and no
        statistic older than one pass is kept."""
        if self.solver == "hals" or state["S1"] is None:
            return
        state["P1"], state["P2"], state["Pcount"] = state["S1"], state["S2"], state["count"]
        state["S1"] = state["S2"] = None
        state["count"] = np.zeros(1)

    def _stats(self, state, fraction):
        S1, S2, c = state["S1"], state["S2"], state["count"]
        if state.get("P1") is None or fraction is None or fraction >= 1:
            return S1, S2, c
        w = 1.0 - fraction
        return S1 + w * state["P1"], S2 + w * state["P2"], c + w * state["Pcount"]

    def update_H(self, state: dict, batch_rows: int, fraction=None) -> None:
        """One ``H`` update from the statistics (in place)."""
        b = self.b
        H = state["H"]
        S1, S2, count = self._stats(state, fraction)
        p = BlockPenalty(self.pH.l1 * float(count[0]), self.pH.l2 * float(count[0]))
        if self.solver == "hals":
            k, n = H.shape[1], H.shape[2]
            hals_sweeps(H, b.contiguous(S2), S1, b, p, inner_budget(n, batch_rows, k), 0.1)
            return
        den = S1
        if p.l1:
            den = den + p.l1
        if p.l2:
            den = den + p.l2 * H
        ratio = S2 / safe_den(b, den)
        H[...] = ratio if self.gamma == 1 else ratio**self.gamma

    def step(self, state: dict, target: Target, rho: float, W0=None, replace: bool = False,
             fraction=None):
        """One mini-batch: codes for the current ``H``, statistics, ``H`` update.

        ``W0``: the batch's codes from its last visit (a warm start; with ``replace``
        and HALS, also the contribution that is replaced). Returns ``(W_b, loss_b)``
        (the codes and the batch objective before the update).
        """
        W, loss = self.codes(target, state["H"], W0)
        old = W0 if (replace and W0 is not None and self.solver == "hals") else None
        self.accumulate(state, target, W, rho, old)
        self.update_H(state, W.shape[1], fraction)
        return W, loss
