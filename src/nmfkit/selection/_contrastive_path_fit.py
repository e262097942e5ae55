"""The fits behind :func:`nmfkit.contrastive_path`: every restart of one ``(k, α)`` at once.

:func:`fit_setting` runs the ``n_restarts`` fits of one ``(k, α)`` as one batched loop
(the restart axis of :func:`nmfkit.solvers.run`; each restart stops on its own), from
exactly the random starts that one :func:`~nmfkit.models._contrastive_fit.fit_pair`
call per seed would use, so the path measures what it measured with one fit per seed;
the targets of both datasets are built once per path (:class:`PathData`) and the
held-out targets once too. Only the time changes.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..backends import to_numpy
from ..exceptions import ConvergenceWarning


@dataclass(frozen=True)
class PathOptions:
    """Options every fit of the path shares."""

    beta: float
    max_iter: int
    tol: float
    verbose: int
    n_shared: int
    shared: Any
    basis_floor: float = 1e-10


@dataclass(frozen=True)
class PathData:
    """The fit parts' targets (built once) and the held-out parts' targets."""

    tX: Any
    tY: Any
    held_out: tuple
    dtype: Any

    @classmethod
    def build(cls, dX, dY, X_held, Y_held) -> "PathData":
        from .._validation import check_data
        from ..models._core import build_target

        held = tuple(build_target(check_data(Z, name="held-out data")) for Z in (X_held, Y_held))
        return cls(build_target(dX), build_target(dY), held, dX.values.dtype)


@dataclass(frozen=True)
class SettingFit:
    """The restarts of one ``(k, α)``: bases (NumPy, background programs dropped), the
    best valid restart's basis (backend array, all rows) and enrichments, counts."""

    bases: list
    H_best: Any
    loss_best: float
    enrichment_best: np.ndarray
    n_valid: int
    n_converged: int


def start_seeds(seeds) -> list:
    """The start seed of each restart: that of ``fit_pair(random_state=s, n_restarts=1)``."""
    return [int(np.random.default_rng(int(s)).integers(0, 2**31 - 1, size=1)[0]) for s in seeds]


def fit_setting(data: PathData, k: int, alpha: float, seeds, o: PathOptions) -> SettingFit:
    """All restarts of one ``(k, α)`` in one batched loop (convergence warnings dropped:
    the table counts the restarts that met ``tol``)."""
    from ..models._contrastive_diagnostics import KL_DEGENERATE, enrichment
    from ..models._contrastive_fit import _evaluate, _start_state
    from ..solvers import LoopOptions, run
    from ..solvers.contrastive import ContrastiveProblem, ContrastiveStep

    problem = ContrastiveProblem.build(data.tX, data.tY, alpha, o.beta, o.basis_floor,
                                       n_fixed=o.n_shared)
    H_shared = o.shared[0] if o.n_shared else None
    loop = LoopOptions(max_iter=o.max_iter, tol=o.tol, max_time=None, loss_every=10,
                       verbose=o.verbose, callback=None, warn=False,
                       desc=f"contrastive path k={k} alpha={alpha:g}", tol_mode="change",
                       tol_scale=problem.tol_scale)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        state = _start_state(problem, start_seeds(seeds), o.n_shared + k, H_shared,
                             data.dtype)
        out = run(ContrastiveStep(problem), state, loop, problem.objective)
        limit_X = 1.0 if o.beta == 2 else KL_DEGENERATE
        runs = [_evaluate(problem, out.restart(r), True, limit_X) for r in range(len(seeds))]
    for w in caught:
        if not issubclass(w.category, ConvergenceWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    valid = [i for i, r in enumerate(runs) if r[8]]
    pool = valid or range(len(runs))
    best = min(pool, key=lambda i: runs[i][4] if np.isfinite(runs[i][4]) else np.inf)
    _, W_X, W_Y, H, loss = runs[best][:5]
    b = data.tX.backend
    return SettingFit(bases=[to_numpy(r[3])[o.n_shared:] for r in runs], H_best=H,
                      loss_best=float(loss),
                      enrichment_best=enrichment(W_X, W_Y, data.tX, data.tY, b),
                      n_valid=len(valid), n_converged=sum(bool(r[0].converged) for r in runs))
