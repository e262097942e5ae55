"""scikit-learn style estimators: own the parameters, validate, declare terms, call solvers."""

from .nmf import NMF, nmf

__all__ = ["NMF", "nmf"]
