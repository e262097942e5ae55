"""Solvers: the engines (MU, HALS), extrapolation and the one loop that drives them."""

from ._loop import LoopOptions, LoopOutcome, run
from .accelerate import Extrapolated
from .engine import make_step, objective_fn, penalties_of, run_terms
from .hals import HALSStep, hals_sweeps
from .mu import BlockPenalty, MUStep, mu_gamma, mu_update
from .nnls import nnls_bpp, nnls_codes

__all__ = ["BlockPenalty", "Extrapolated", "HALSStep", "LoopOptions", "LoopOutcome", "MUStep",
           "hals_sweeps", "make_step", "mu_gamma", "mu_update", "nnls_bpp", "nnls_codes", "objective_fn",
           "penalties_of", "run", "run_terms"]
