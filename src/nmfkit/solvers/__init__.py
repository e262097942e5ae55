"""Solvers: the engines (MU, HALS, coordinate descent for KL and 1 < β < 2), extrapolation and the one loop that drives them."""

from ._interrupt import raise_interrupts
from ._loop import LoopOptions, LoopOutcome, run
from .accelerate import Extrapolated
from .engine import make_step, objective_fn, penalties_of, run_terms
from .hals import HALSStep, hals_sweep, hals_sweeps, inner_budget, inner_stop, sweep_scales
from .beta_cd import BetaCDStep
from .kl_cd import KLCDStep
from .mu import BlockPenalty, MUStep, mu_apply, mu_gamma, mu_update, summed_parts
from .nnls import nnls_bpp, nnls_codes

__all__ = ["BetaCDStep", "BlockPenalty", "Extrapolated", "HALSStep", "KLCDStep", "LoopOptions", "LoopOutcome", "MUStep",
           "raise_interrupts",
           "hals_sweep", "hals_sweeps", "inner_budget", "inner_stop", "make_step", "mu_apply", "mu_gamma",
           "mu_update", "nnls_bpp", "nnls_codes", "objective_fn", "penalties_of", "run", "run_terms",
           "summed_parts", "sweep_scales"]
