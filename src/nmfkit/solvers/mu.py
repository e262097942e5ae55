r"""Multiplicative updates for any β-divergence (Lee & Seung; Févotte & Idier 2011).

Each half-step is ``A ← A ⊙ (N / P)^γ`` with the gradient parts ``(P, N)`` of
:func:`nmfkit.losses.grad_parts` (penalties added to ``P``) and the
majorisation-minimisation exponent

.. math::
    \gamma(\beta) = \begin{cases} 1/(2-\beta) & \beta < 1 \\ 1 & 1 \le \beta \le 2 \\
    1/(\beta-1) & \beta > 2 \end{cases}

which makes every half-step non-increasing in the objective. Divisions are safe:
a zero denominator becomes :data:`~nmfkit.losses.EPSILON`.
"""

from __future__ import annotations

from ..losses import EPSILON, Penalty, Target, grad_parts

__all__ = ["mu_gamma", "MUStep", "mu_update_left"]


def mu_gamma(beta: float) -> float:
    """The Févotte-Idier exponent γ(β)."""
    if beta < 1:
        return 1.0 / (2.0 - beta)
    if beta > 2:
        return 1.0 / (beta - 1.0)
    return 1.0


def mu_update_left(t: Target, A, B, beta: float, l1: float = 0.0, l2: float = 0.0):
    """One multiplicative update of the left factor ``A`` in ``X ≈ A B`` (in place)."""
    b = t.backend
    P, N = grad_parts(t, A, B, beta)
    if l1:
        P = P + l1
    if l2:
        P = P + l2 * A
    P = b.where(P == 0, EPSILON, P)
    ratio = N / P
    gamma = mu_gamma(beta)
    if gamma != 1:
        ratio = ratio**gamma
    A *= ratio
    return A


class MUStep:
    """One outer MU iteration: W then (unless frozen) H.

    Parameters
    ----------
    target : Target
    beta : float
    penalty : Penalty
    update_H : bool
        ``False`` keeps H fixed (used by ``transform``).
    """

    def __init__(self, target: Target, beta: float, penalty: Penalty = Penalty(), update_H=True):
        self.t = target
        self.beta = beta
        self.penalty = penalty
        self.update_H = update_H

    def __call__(self, W, H):
        p = self.penalty
        W = mu_update_left(self.t, W, H, self.beta, p.l1_W, p.l2_W)
        if self.update_H:
            Ht = mu_update_left(self.t.T, H.T, W.T, self.beta, p.l1_H, p.l2_H)
            H = Ht.T
        return W, H, None
