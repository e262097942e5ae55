"""The result type of :func:`nmfkit.selection.rank_search`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from ..exceptions import NMFInputError
from ._cv import CVResult

__all__ = ["RankSearchResult"]


@dataclass(frozen=True)
class RankSearchResult:
    """Outcome of :func:`rank_search`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per k (see :func:`rank_search`, Returns).
    best_k : int or None
        The rank chosen by ``rule`` (None when ``cv=None``).
    rule : str
        The rule, in words.
    restarts : dict
        ``k -> RestartsResult`` with every restart kept.
    consensus : dict
        ``k -> Consensus`` (empty when the consensus was skipped).
    stability : dict
        ``k -> ComponentStability``.
    cv, bicv : CVResult or None
        The speckled and bi-cross-validation errors (per-entry values included).
    params : dict
    elapsed : float
        Seconds for the whole search.
    """

    table: object
    best_k: Optional[int]
    rule: str
    restarts: dict = field(repr=False)
    consensus: dict = field(repr=False)
    stability: dict = field(repr=False)
    cv: Optional[CVResult] = field(repr=False, default=None)
    bicv: Optional[CVResult] = field(repr=False, default=None)
    params: dict = field(default_factory=dict, repr=False)
    elapsed: float = 0.0

    @property
    def best(self):
        """The best restart (an NMFResult) at ``best_k``."""
        if self.best_k is None:
            raise NMFInputError("no best_k was chosen (cv=None); pick a k from the table: "
                                "result.restarts[k].best")
        return self.restarts[self.best_k].best
