r"""Multiplicative updates of orthogonal non-negative matrix tri-factorisation (ONMTF).

Ding, Li, Peng & Park (KDD 2006) co-cluster the rows and the columns of a non-negative
``X`` (n_rows × n_cols; documents × words in nmfkit's orientation) with

.. math::
    \min_{F \ge 0,\, S \ge 0,\, G \ge 0} \tfrac12 \| X - F S G^\top \|_F^2
    \quad \text{with } F^\top F = I,\; G^\top G = I \text{ encouraged},

``F`` (n_rows × k1), ``S`` (k1 × k2), ``G`` (n_cols × k2). The updates (the Lagrange
multipliers of the orthogonality constraints eliminated) are

.. math::
    F \leftarrow F \odot \sqrt{\frac{X G S^\top}{F F^\top X G S^\top}}, \qquad
    G \leftarrow G \odot \sqrt{\frac{X^\top F S}{G G^\top X^\top F S}}, \qquad
    S \leftarrow S \odot \sqrt{\frac{F^\top X G}{F^\top F\, S\, G^\top G}},

with ``F Fᵀ (X G Sᵀ)`` formed as ``F (Fᵀ (X G Sᵀ))`` (never the n_rows × n_rows matrix)
and the library's one safe floor on the denominators. Orthogonality is encouraged by
these updates, not enforced; :func:`orthogonality_gap` measures it. The updates are
derived for the constrained problem, so ``½‖X − F S Gᵀ‖²`` itself is not monotone along
them: it falls overall but can rise slightly (in the first iterations from a random point,
and later by < 1e-4 relative per iteration while ``F`` and ``G`` become more orthogonal).

One iteration touches ``X`` twice, ``X G`` and ``Xᵀ F`` (the new ``F``): ``Fᵀ X G`` for
the ``S`` update is ``(Xᵀ F)ᵀ G`` with the new ``G``, so a sparse ``X`` is never densified
nor copied transposed (``X.T`` of a CSR matrix is a CSC view). The objective comes free
from the k-sized products of the ``S`` update:
``½ (‖X‖² − 2 ⟨Fᵀ X G, S⟩ + ⟨Fᵀ F S Gᵀ G, S⟩)`` (accurate while the fit error is not
below ~1e-12 of ``‖X‖²``).
"""

from __future__ import annotations

import numpy as np

from ..backends import Backend, is_sparse
from ..losses import safe_den
from ._loop import SingleFitStep

__all__ = ["TriFactorStep", "tri_objective", "orthogonality_gap", "squared_norm"]


def squared_norm(X, b: Backend) -> float:
    """``‖X‖²_F`` in float64 (a CSR matrix from its stored values)."""
    if is_sparse(X):
        data = np.asarray(X.data, dtype=np.float64)
        return float(data @ data)
    return float(b.vdot(X, X))


def _transpose(X, b: Backend):
    return X.T if is_sparse(X) else b.mT(X)


def _value(x2: float, FtXG, FtF, S, GtG, b: Backend) -> float:
    fit = float(b.item(b.sum(FtXG * S)))
    model = float(b.item(b.sum((FtF @ S @ GtG) * S)))
    return 0.5 * max(x2 - 2.0 * fit + model, 0.0)


def tri_objective(X, F, S, G, b: Backend, x2: float | None = None) -> float:
    r"""``½ ‖X − F S Gᵀ‖²_F`` from ``Xᵀ F`` (no dense ``F S Gᵀ``)."""
    x2 = squared_norm(X, b) if x2 is None else x2
    FtXG = b.mT(_transpose(X, b) @ F) @ G
    return _value(x2, FtXG, b.mT(F) @ F, S, b.mT(G) @ G, b)


def orthogonality_gap(M, b: Backend) -> float:
    """``‖M̂ᵀ M̂ − I‖_F`` with ``M̂`` the columns of ``M`` scaled to unit norm (0 = orthogonal)."""
    norms = b.sqrt(b.sum(M * M, axis=0))
    Mn = M / safe_den(b, norms)[None, :]
    D = b.mT(Mn) @ Mn - b.eye(M.shape[1], M.dtype)
    return float(np.sqrt(b.sumsq(D)))


class TriFactorStep(SingleFitStep):
    """One ONMTF iteration on the blocks ``F``, ``S``, ``G``; see the module docstring.

    Parameters
    ----------
    X : backend array or scipy.sparse CSR matrix (n_rows, n_cols), non-negative
    backend : Backend
    """

    blocks = ("F", "S", "G")

    def __init__(self, X, backend: Backend):
        self.X, self.Xt, self.b = X, _transpose(X, backend), backend
        self.x2 = squared_norm(X, backend)

    def update(self, F, S, G):
        b, X, Xt = self.b, self.X, self.Xt
        XGSt = (X @ G) @ b.mT(S)                                  # n_rows × k1
        F = F * b.sqrt(XGSt / safe_den(b, F @ (b.mT(F) @ XGSt)))
        XtF = Xt @ F                                              # n_cols × k1
        XtFS = XtF @ S
        G = G * b.sqrt(XtFS / safe_den(b, G @ (b.mT(G) @ XtFS)))
        FtXG, FtF, GtG = b.mT(XtF) @ G, b.mT(F) @ F, b.mT(G) @ G
        S = S * b.sqrt(FtXG / safe_den(b, FtF @ S @ GtG))
        loss = _value(self.x2, FtXG, FtF, S, GtG, b)
        return {"F": b.contiguous(F), "S": b.contiguous(S), "G": b.contiguous(G)}, loss

    def value(self, F, S, G) -> float:
        return tri_objective(self.X, F, S, G, self.b, self.x2)
