"""Model selection around one factorisation: restarts (more to come: consensus, rank search)."""

from ._restarts import RestartsResult, restarts

__all__ = ["RestartsResult", "restarts"]
