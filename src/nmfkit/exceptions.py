"""Exceptions and warnings raised by nmfkit."""

from __future__ import annotations

__all__ = ["NMFInputError", "NMFInputTypeError", "ConvergenceWarning"]


class NMFInputError(ValueError):
    """Bad input: the message names the argument, the problem and the fix.

    A subclass of :class:`ValueError`, so code that catches ``ValueError`` (as
    scikit-learn's checks do) keeps working.
    """


class NMFInputTypeError(NMFInputError, TypeError):
    """Entries of the wrong type (text, objects): an :class:`NMFInputError` that is also a TypeError.

    NumPy raises ``TypeError`` when an object cannot be converted to a number; this
    keeps that contract for callers that catch ``TypeError`` while staying an
    ``NMFInputError`` (a ``ValueError``) like every other input error.
    """


class ConvergenceWarning(UserWarning):
    """A solver stopped on ``max_iter`` or ``max_time`` before reaching ``tol``."""
