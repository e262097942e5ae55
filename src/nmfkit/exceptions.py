"""Exceptions and warnings raised by nmfkit."""

from __future__ import annotations

__all__ = ["NMFInputError", "ConvergenceWarning"]


class NMFInputError(ValueError):
    """Bad input: the message names the argument, the problem and the fix.

    A subclass of :class:`ValueError`, so code that catches ``ValueError`` (as
    scikit-learn's checks do) keeps working.
    """


class ConvergenceWarning(UserWarning):
    """A solver stopped on ``max_iter`` or ``max_time`` before reaching ``tol``."""
