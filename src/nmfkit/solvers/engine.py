"""Assemble a step from a model's declaration: terms, blocks, penalties, solver.

A model declares its terms (:class:`nmfkit.losses.Term`), the blocks it updates and
their penalties; :func:`make_step` picks the engine (one MU engine for every β, one
HALS engine for Frobenius terms with positive weights, coordinate descent for one
β-divergence term with 1 ≤ β < 2), :func:`objective_fn` sums the terms and penalties, and :func:`run_terms` runs the one loop (optionally with the one
extrapolation) over a state whose blocks carry a leading restart axis.
"""

from __future__ import annotations

import numpy as np

from ._loop import LoopOptions, run
from .accelerate import Extrapolated
from .beta_cd import BetaCDStep
from .hals import HALSStep, penalty_values
from .kl_cd import KLCDStep
from .mu import BlockPenalty, MUStep, mu_gamma

__all__ = ["make_step", "objective_fn", "run_terms", "penalties_of"]


def penalties_of(penalty) -> dict:
    """The W / H penalties of a :class:`nmfkit.losses.Penalty` as ``block -> BlockPenalty``."""
    out = {}
    if penalty.l1_W or penalty.l2_W:
        out["W"] = BlockPenalty(penalty.l1_W, penalty.l2_W)
    if penalty.l1_H or penalty.l2_H:
        out["H"] = BlockPenalty(penalty.l1_H, penalty.l2_H)
    return out


def make_step(terms, backend, *, solver: str, blocks=("W", "H"), penalties=None):
    """The engine step for ``terms``: ``"hals"``, ``"cd"`` (coordinate descent on one
    term: :class:`KLCDStep` for β = 1, :class:`BetaCDStep` for 1 < β < 2) or ``"mu"``
    (γ from the terms' β)."""
    penalties = penalties or {}
    if solver == "hals":
        return HALSStep(terms, backend, blocks, penalties)
    if solver == "cd":
        cd = BetaCDStep if len(terms) == 1 and 1 < terms[0].beta < 2 else KLCDStep
        return cd(list(terms), backend, tuple(blocks), penalties)
    betas = {t.beta for t in terms}
    gamma = mu_gamma(betas.pop()) if len(betas) == 1 else 1.0
    return MUStep(list(terms), backend, tuple(blocks), penalties, gamma)


def objective_fn(terms, backend, penalties=None):
    """``objective(state) -> Σ_t w_t D_t + penalties`` per restart (float64 vector)."""
    penalties = penalties or {}

    def objective(state):
        total = 0.0
        for t in terms:
            total = total + t.value(state)
        for name, p in penalties.items():
            total = total + penalty_values(state[name], p, backend)
        return np.asarray(total, dtype=np.float64)

    return objective


def run_terms(terms, state, backend, *, solver: str, options: LoopOptions, blocks=("W", "H"),
              penalties=None, accelerate: bool = False):
    """Run the engine on ``state``; returns ``(LoopOutcome, step)``."""
    step = make_step(terms, backend, solver=solver, blocks=blocks, penalties=penalties)
    objective = objective_fn(terms, backend, penalties)
    if accelerate:
        step = Extrapolated(step, objective, backend)
    return run(step, state, options, objective), step
