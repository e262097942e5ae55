"""Cosine similarity, Hungarian matching and consistency of signature sets.

Signature sets are in nmfkit's orientation: one signature per **row** (k × 96, like
``components_``); DataFrames keep their row labels in the results.
"""

from __future__ import annotations

from itertools import combinations
from typing import NamedTuple, Sequence

import numpy as np
import pandas as pd

from .._matching import hungarian_match
from ..backends import to_numpy
from ..exceptions import NMFInputError

__all__ = ["cosine_similarity", "match_signatures", "average_consistency", "SignatureMatch",
           "Consistency"]


def _rows(A, name):
    labels = list(A.index) if isinstance(A, pd.DataFrame) else None
    arr = np.asarray(to_numpy(A), dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise NMFInputError(f"{name} must be a 2-D array with one signature per row (k x n_types), "
                            f"got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise NMFInputError(f"{name} has NaN or infinite entries")
    norms = np.linalg.norm(arr, axis=1)
    if (norms == 0).any():
        raise NMFInputError(f"{name} has {int((norms == 0).sum())} all-zero signature(s) (rows "
                            f"{np.flatnonzero(norms == 0)[:5].tolist()}); a cosine needs a non-zero "
                            "vector: drop them")
    return arr, norms, labels


def cosine_similarity(A, B=None):
    """Cosine similarity of every row of ``A`` (k1 × p) with every row of ``B`` (k2 × p).

    Returns a (k1 × k2) array, or a DataFrame labelled by the rows of ``A`` and ``B``
    when they are DataFrames. ``B=None`` compares ``A`` with itself.

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit.signatures import cosine_similarity
    >>> cosine_similarity(np.array([[1.0, 0.0], [1.0, 1.0]])).round(3).tolist()
    [[1.0, 0.707], [0.707, 1.0]]
    """
    B = A if B is None else B
    a, na, la = _rows(A, "A")
    b, nb, lb = _rows(B, "B")
    if isinstance(A, pd.DataFrame) and isinstance(B, pd.DataFrame):
        if list(A.columns) != list(B.columns):
            if set(A.columns) != set(B.columns):
                raise NMFInputError("A and B have different column labels (mutation types); pass "
                                    "signatures over the same types (read them with read_catalog)")
            b = np.asarray(B[A.columns], dtype=np.float64)
    if a.shape[1] != b.shape[1]:
        raise NMFInputError(f"A has {a.shape[1]} columns but B has {b.shape[1]}; both need one "
                            "column per mutation type")
    C = np.clip((a @ b.T) / np.outer(na, nb), -1.0, 1.0)
    if la is not None or lb is not None:
        return pd.DataFrame(C, index=la, columns=lb)
    return C


class SignatureMatch(NamedTuple):
    """One-to-one matching of two signature sets (see :func:`match_signatures`)."""

    rows: np.ndarray
    """Indices into ``A`` of the matched pairs, in order."""
    cols: np.ndarray
    """Indices into ``B`` matched to them."""
    cosine: np.ndarray
    """Cosine similarity of each matched pair."""
    names: list
    """Labels of ``B``'s matched rows (e.g. COSMIC names) when ``B`` is a DataFrame, else indices."""

    @property
    def mean(self) -> float:
        """Average matched cosine."""
        return float(np.mean(self.cosine))


def match_signatures(A, B) -> SignatureMatch:
    """Match the rows of ``A`` to rows of ``B`` one-to-one, maximising the total cosine.

    The Hungarian algorithm (``scipy.optimize.linear_sum_assignment``) on the cosine
    matrix; ``min(k1, k2)`` pairs, ordered by the rows of ``A``. With ``B`` a reference
    such as :func:`load_cosmic` (86 × 96), each de novo signature gets its best
    non-shared COSMIC partner.

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit.signatures import match_signatures
    >>> A = np.array([[1.0, 0, 0], [0, 1.0, 0]])
    >>> m = match_signatures(A, A[::-1])
    >>> m.cols.tolist(), m.mean
    ([1, 0], 1.0)
    """
    C = np.asarray(cosine_similarity(A, B), dtype=np.float64)
    rows, cols, cos = hungarian_match(C)
    labels = list(B.index) if isinstance(B, pd.DataFrame) else list(range(C.shape[1]))
    return SignatureMatch(rows, cols, cos, [labels[j] for j in cols])


class Consistency(NamedTuple):
    """Average consistency of signature sets across runs (see :func:`average_consistency`)."""

    mean: float
    """Average over all pairs of runs of the mean Hungarian-matched cosine (ACS)."""
    pairs: np.ndarray
    """The mean matched cosine of each pair of runs, in ``itertools.combinations`` order."""


def average_consistency(runs: Sequence) -> Consistency:
    """Average cosine similarity (ACS) of the signatures found by several runs.

    For every pair of runs the signatures are matched one-to-one (Hungarian, on cosine)
    and the matched cosines averaged; ``mean`` is the average over all pairs (Egendal
    et al.'s consistency measure).

    Parameters
    ----------
    runs : sequence of arrays (k × p)
        The signature sets (same number of columns), at least two.

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit.signatures import average_consistency
    >>> S = np.eye(3)
    >>> average_consistency([S, S[::-1], S]).mean
    1.0
    """
    runs = list(runs)
    if len(runs) < 2:
        raise NMFInputError(f"average_consistency needs at least 2 runs, got {len(runs)}")
    pairs = np.array([match_signatures(a, b).mean for a, b in combinations(runs, 2)])
    return Consistency(float(pairs.mean()), pairs)
