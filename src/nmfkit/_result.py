"""The one result type: every solver and every functional form returns an ``NMFResult``.

Models with more outputs return a subclass that adds fields (e.g.
:class:`ContrastiveResult`), so code written for ``NMFResult`` (plotting, ``io``) works
on all of them. Components are named by :func:`component_names`, the one naming scheme
of the library and the command line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["NMFResult", "ContrastiveResult", "component_names"]


def component_names(prefix: str, k: int) -> list:
    """The names of ``k`` components: ``prefix0, prefix1, ...``.

    The one scheme, scikit-learn's ``get_feature_names_out`` (the lowercased
    estimator name and a 0-based index): ``nmf0`` for :class:`~nmfkit.NMF` and
    :func:`~nmfkit.nmf`, ``contrastivenmf0`` for the contrastive components and
    ``contrastivenmf_bg0`` for its background programs, and so on. Every DataFrame
    the library labels and every table the command line writes uses it.
    """
    return [f"{prefix}{j}" for j in range(int(k))]


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
        ``"tol"``, ``"max_iter"``, ``"max_time"``, ``"callback"``, ``"nonfinite"`` (the
        objective became NaN/inf) or ``"interrupted"`` (Ctrl-C: the factors are the last
        iterate, the loop's one KeyboardInterrupt handler keeps them).
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


@dataclass(frozen=True)
class ContrastiveResult(NMFResult):
    """Outcome of :func:`nmfkit.contrastive_nmf`: an :class:`NMFResult` with the background.

    ``W`` is the target's codes (also ``W_target``), ``H`` the contrastive basis;
    ``loss`` / ``loss_history`` the contrastive objective ``L = D_X/E_X − α D_Y/E_Y``.
    DataFrames where the inputs were.

    Attributes
    ----------
    H : array (k, n_features)
        Shared basis; rows sum to one; ordered by ``enrichment`` (largest first).
    W_target, W_background : arrays (n_target, k), (n_background, k)
        Codes of the two datasets (``W`` is ``W_target``).
    enrichment : ndarray (k,)
        ``log2`` of (mean usage in the target) / (mean usage in the background);
        a sample's usage of component j is ``W_ij / Σ_f x_if``, the share of its own
        total that the component reconstructs.
    target_loss, background_loss : float
        ``D_X/E_X`` and ``D_Y/E_Y`` (for Frobenius: 1 − share of energy explained).
    alpha : float
        The contrast strength.
    restart_losses : ndarray
        Final ``L`` of each restart; ``restart_valid`` says which were not
        degenerate, ``info["restart"]`` which was kept.
    H_shared : array (n_background_components, n_features)
        The background programs (learned on the background alone, then held fixed);
        0 rows without ``n_background_components``.
    W_target_shared, W_background_shared : arrays (n_target, ·), (n_background, ·)
        Both datasets' codes on the background programs.
    """

    W_background: Any = None
    enrichment: Any = None
    target_loss: float = float("nan")
    background_loss: float = float("nan")
    alpha: float = float("nan")
    restart_losses: Any = None
    H_shared: Any = None
    W_target_shared: Any = None
    W_background_shared: Any = None

    @property
    def W_target(self):
        """The target's codes (``W``)."""
        return self.W

    @property
    def restart_valid(self):
        """Which restarts were not degenerate (``info["restart_valid"]``)."""
        return self.info.get("restart_valid")

    @property
    def shared_loss(self):
        """``D_Y/E_Y`` of the background-only NMF (None without background programs)."""
        return self.info.get("shared_loss")
