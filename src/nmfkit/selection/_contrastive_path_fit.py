"""The fits behind :func:`nmfkit.contrastive_path`: every restart of one ``(k, α)`` at once.

:func:`fit_setting` runs the ``n_restarts`` fits of one ``(k, α)`` as one batched loop
(the restart axis of :func:`nmfkit.solvers.run`; each restart stops on its own), from
exactly the random starts that one :func:`~nmfkit.models._contrastive_fit.fit_pair`
call per seed would use, so the path measures what it measured with one fit per seed;
the targets of both datasets are built once per path (:class:`PathData`) and the
held-out targets once too. Only the time changes. :func:`score_row` scores a setting on
the held-out samples (the columns of the table).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from itertools import combinations
from typing import Any, Sequence

import numpy as np

from ..backends import get_namespace, to_numpy
from .._matching import match_cosine
from ..exceptions import ConvergenceWarning, NMFInputError
from ..losses import Penalty, beta_divergence


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
    from ..models._contrastive_fit import evaluate_run, start_state
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
        state = start_state(problem, start_seeds(seeds), o.n_shared + k, H_shared,
                             data.dtype)
        out = run(ContrastiveStep(problem), state, loop, problem.objective)
        limit_X = 1.0 if o.beta == 2 else KL_DEGENERATE
        runs = [evaluate_run(problem, out.restart(r), True, limit_X) for r in range(len(seeds))]
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


def basis_stability(bases: Sequence[np.ndarray]) -> float:
    """Mean Hungarian-matched cosine similarity of the rows of every pair of bases."""
    if len(bases) < 2:
        return float("nan")
    return float(np.mean([float(match_cosine(A, B)[2].mean()) for A, B in combinations(bases, 2)]))


def explained(t, H, beta: float, n_shared: int = 0) -> float:
    """Share of the held-out divergence (target ``t``) that ``H`` explains (beyond its
    first ``n_shared`` rows)."""
    from ..models._contrastive_diagnostics import trivial_divergence
    from ..models._core import project

    b = t.backend

    def divergence(B):
        if b.name == "numpy":
            B = np.asarray(B, dtype=t.X.dtype)
        else:
            B = b.from_numpy(np.asarray(B)).to(device=t.X.device, dtype=t.X.dtype)
        W = project(t, B, beta=beta, penalty=Penalty())
        return float(beta_divergence(t, W, B, beta))

    ref = divergence(H[:n_shared]) if n_shared else trivial_divergence(t, beta)
    return 1.0 - divergence(H) / ref


def score_row(fit, data, o, row: dict) -> dict:
    """The table row of one ``(k, α)``: the best valid fit scored on the held-out samples."""
    ns = o.n_shared
    H = to_numpy(fit.H_best)
    te, be = (explained(t, H, o.beta, ns) for t in data.held_out)
    enr = fit.enrichment_best[ns:]
    return {
        **row, "target_explained": te, "background_explained": be,
        "contrast": float(np.log2(max(te, 1e-6) / max(be, 1e-6))),
        "stability": basis_stability(fit.bases), "objective": fit.loss_best,
        "min_enrichment": float(np.min(enr)), "max_enrichment": float(np.max(enr)),
        "n_valid": fit.n_valid, "n_converged": fit.n_converged,
    }


def folds(n: int, test_size: float, n_splits: int, rng: np.random.Generator, name: str):
    """``n_splits`` (fit, held-out) index pairs with disjoint held-out parts of one
    permutation (the first is the single split of ``n_splits=1``)."""
    perm = rng.permutation(n)
    n_test = min(max(int(round(n * test_size)), 1), n - 1)
    if n_splits * n_test > n:
        raise NMFInputError(
            f"n_splits={n_splits} held-out parts of {n_test} samples (test_size={test_size:g}) "
            f"do not fit in the {n} samples of {name}; lower n_splits or test_size")
    return [(np.sort(np.r_[perm[:s * n_test], perm[(s + 1) * n_test:]]),
             np.sort(perm[s * n_test:(s + 1) * n_test])) for s in range(n_splits)]


def pool(rows: list) -> dict:
    """One table row from the rows of every split: explained shares, stability, objective
    and enrichments averaged (``contrast`` from the averaged shares), counts summed."""
    if len(rows) == 1:
        return rows[0]
    out = dict(rows[0])
    for key in ("target_explained", "background_explained", "stability", "objective",
                "min_enrichment", "max_enrichment"):
        out[key] = float(np.mean([r[key] for r in rows]))
    for key in ("n_valid", "n_converged"):
        out[key] = int(sum(r[key] for r in rows))
    te, be = out["target_explained"], out["background_explained"]
    out["contrast"] = float(np.log2(max(te, 1e-6) / max(be, 1e-6)))
    return out


def rows_of(X, idx):
    if hasattr(X, "iloc"):
        return X.iloc[idx]
    return get_namespace(X).take(X, idx, axis=0)
