"""The result type every solver returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["NMFResult"]


@dataclass(frozen=True)
class NMFResult:
    """Outcome of one factorisation ``X ≈ W H``.

    Attributes
    ----------
    W : array or DataFrame, shape (n_samples, n_components)
        Coefficients (codes) of each sample. A DataFrame when ``X`` was one
        (index = ``X.index``); otherwise the array type of ``X`` (NumPy, or a torch
        tensor on ``X``'s device).
    H : array or DataFrame, shape (n_components, n_features)
        The basis (components); a DataFrame (columns = ``X.columns``) when ``X``
        was one.
    loss : float
        Final objective: the divergence ``D_beta(X | W H)`` over observed entries
        plus penalties (see :func:`nmfkit.nmf` for the exact form).
    loss_history : tuple of float
        Objective after initialisation (entry 0) and at each evaluated iteration.
    n_iter : int
        Outer iterations run.
    converged : bool
        True when the relative decrease fell below ``tol``.
    stop_reason : str
        ``"tol"``, ``"max_iter"``, ``"max_time"`` or ``"callback"``.
    elapsed : float
        Wall-clock seconds spent in the iteration loop.
    beta : float
        The beta of the divergence (2 Frobenius, 1 KL, 0 Itakura-Saito).
    solver : str
        The solver that ran (``"mu"`` or ``"hals"``).
    info : dict
        Extra, solver-specific details (e.g. the iterations at which the loss was
        evaluated).
    """

    W: Any
    H: Any
    loss: float
    loss_history: tuple
    n_iter: int
    converged: bool
    stop_reason: str
    elapsed: float
    beta: float = 2.0
    solver: str = ""
    info: dict = field(default_factory=dict)

    @property
    def n_components(self) -> int:
        return int(self.H.shape[0])

    @property
    def reconstruction_err(self) -> float:
        """``sqrt(2 * D_beta)`` without penalties, as scikit-learn reports it."""
        return float(self.info.get("reconstruction_err", float("nan")))
