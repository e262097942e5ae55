"""Solvers: one module per algorithm, all driven by the loop in ``_loop``."""

from ._loop import LoopOptions, LoopOutcome, run
from .hals import HALSStep, hals_sweeps
from .mu import MUStep, mu_gamma
from .nnls import nnls_bpp

__all__ = ["HALSStep", "LoopOptions", "LoopOutcome", "MUStep", "hals_sweeps", "mu_gamma", "nnls_bpp", "run"]
