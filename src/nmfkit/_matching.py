r"""Hungarian matching of factor rows on cosine similarity: the one implementation.

Used by :func:`nmfkit.selection.match_components` (and the matched clustering of
:func:`~nmfkit.selection.component_stability`), by the stability column of
:func:`nmfkit.contrastive_path` and by :func:`nmfkit.signatures.match_signatures`.

With unit-norm rows :math:`\hat a_j = a_j / \|a_j\|_2` (an all-zero row stays zero)
the cosine matrix is :math:`S_{jl} = \langle \hat a_j, \hat b_l \rangle`, and the
one-to-one assignment maximising :math:`\sum_j S_{j\pi(j)}` is found by the Hungarian
algorithm (:func:`scipy.optimize.linear_sum_assignment`). Inputs are host NumPy
arrays; callers convert (and validate) at their boundary.
"""

from __future__ import annotations

import numpy as np

__all__ = ["unit_rows", "cosine_matrix", "hungarian_match", "match_cosine"]


def unit_rows(A: np.ndarray) -> np.ndarray:
    """``A`` with every row (last axis) scaled to unit Euclidean norm; zero rows stay zero.

    >>> unit_rows(np.array([[3.0, 4.0], [0.0, 0.0]])).tolist()
    [[0.6, 0.8], [0.0, 0.0]]
    """
    norm = np.linalg.norm(A, axis=-1, keepdims=True)
    return A / np.where(norm > 0, norm, 1.0)


def cosine_matrix(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Cosine similarity of every row of ``A`` (k1 × p) with every row of ``B`` (k2 × p)."""
    return unit_rows(np.asarray(A, dtype=np.float64)) @ unit_rows(np.asarray(B, dtype=np.float64)).T


def hungarian_match(S: np.ndarray):
    """One-to-one matching of rows to columns of a similarity matrix, maximising the total.

    Returns ``(rows, cols, similarity)``: ``min(k1, k2)`` pairs with ``rows`` increasing,
    and ``similarity = S[rows, cols]``.

    >>> rows, cols, s = hungarian_match(np.array([[0.1, 0.9], [0.8, 0.2]]))
    >>> cols.tolist(), s.tolist()
    ([1, 0], [0.9, 0.8])
    """
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(S, maximize=True)
    return rows, cols, S[rows, cols]


def match_cosine(A: np.ndarray, B: np.ndarray):
    """Hungarian matching of the rows of ``A`` to those of ``B`` on cosine similarity.

    Returns ``(rows, cols, cosine)`` as :func:`hungarian_match` does, for the
    :func:`cosine_matrix` of ``A`` and ``B``.

    >>> A = np.eye(3)
    >>> rows, cols, cos = match_cosine(A, 2 * A[[2, 0, 1]])
    >>> cols.tolist(), cos.tolist()
    ([1, 2, 0], [1.0, 1.0, 1.0])
    """
    return hungarian_match(cosine_matrix(A, B))
