r"""Soft and hard clusters from any factor model's codes ``W`` (the fuzzy-clustering view of NMF).

In ``X ≈ W H`` with the rows of ``H`` on a common scale (nmfkit's gauge: each row sums to one),
``W_ij`` is how much of sample ``i`` component ``j`` explains; normalising the rows of ``W``
gives membership probabilities (Ding, He & Simon 2005: NMF as a relaxed, soft k-means; the
same holds for the ``H`` of :class:`~nmfkit.models.symmetric.SymmetricNMF`), and their
``argmax`` is a hard clustering.
"""

from __future__ import annotations

import numpy as np

from ..backends import to_numpy
from ..exceptions import NMFInputError

__all__ = ["memberships", "cluster_labels"]


def _codes(obj):
    """The codes of an NMFResult (``W``), a fitted estimator (its training codes) or ``obj``."""
    if hasattr(obj, "W") and hasattr(obj, "H") and not hasattr(obj, "fit"):  # an NMFResult
        return obj.W
    if hasattr(obj, "get_params") and hasattr(obj, "fit"):  # an estimator
        for name in ("result_", "W_"):
            value = getattr(obj, name, None)
            if value is not None:
                return value.W if name == "result_" else value
        if getattr(obj, "components_", None) is None:
            raise NMFInputError(f"W: this {type(obj).__name__} is not fitted; call .fit(X) first, "
                                "or pass the codes (fit_transform's output) or the result")
        raise NMFInputError(f"W: this {type(obj).__name__} keeps no training codes; pass "
                            "model.transform(X) (or fit_transform's output) instead")
    return obj


def _as_array(W, name="W"):
    W = _codes(W)
    index = getattr(W, "index", None) if hasattr(W, "columns") else None
    A = np.asarray(to_numpy(W.to_numpy() if index is not None else W), dtype=np.float64)
    if A.ndim != 2:
        raise NMFInputError(f"{name} must be 2-D (n_samples × n_components), got shape {A.shape}")
    if not np.isfinite(A).all() or (A < 0).any():
        hint = ("; a contrastive result stored by nmfkit.tl has NaN codes for cells in neither group: "
                "select the fitted rows first" if np.isnan(A).any() else "")
        raise NMFInputError(f"{name} must be finite and >= 0 (the codes of a non-negative factor model){hint}")
    return A, index


def memberships(W, normalize: str = "l1"):
    """Membership of each sample in each component: the rows of ``W`` normalised.

    Parameters
    ----------
    W : array (n_samples, k), DataFrame, torch tensor, NMFResult or fitted estimator
        Non-negative codes (``fit_transform``'s output, ``NMFResult.W``, ``SymmetricNMF.H_``),
        or what holds them: an :class:`~nmfkit.NMFResult` (its ``W``) or a fitted estimator
        (the codes of its training data, ``result_.W``).
    normalize : {"l1", "max"}, default="l1"
        "l1": each row divided by its sum (probabilities summing to 1; a zero row gets
        ``1/k`` everywhere: no evidence for any component); "max": divided by its largest
        entry (1 for the dominant component).

    Returns
    -------
    ndarray (n_samples, k), or a DataFrame with ``W``'s index and columns when ``W`` is one.

    Examples
    --------
    >>> import numpy as np
    >>> memberships(np.array([[3.0, 1.0], [0.0, 0.0]]))
    array([[0.75, 0.25],
           [0.5 , 0.5 ]])
    """
    W = _codes(W)
    A, index = _as_array(W)
    if normalize == "l1":
        s = A.sum(axis=1, keepdims=True)
    elif normalize == "max":
        s = A.max(axis=1, keepdims=True) if A.shape[1] else np.ones((A.shape[0], 1))
    else:
        raise NMFInputError(f"normalize={normalize!r} is not one of 'l1', 'max'")
    zero = (s == 0).ravel()
    s[zero] = 1.0
    P = A / s
    P[zero] = 1.0 / A.shape[1] if normalize == "l1" else 1.0
    if index is not None:
        import pandas as pd

        return pd.DataFrame(P, index=index, columns=W.columns)
    return P


def cluster_labels(W):
    """Hard clusters: the component with the largest code of each sample (``argmax`` of rows).

    Parameters
    ----------
    W : array (n_samples, k), DataFrame, torch tensor, NMFResult or fitted estimator
        As for :func:`memberships`.

    Returns
    -------
    ndarray of int (n_samples,): the index of the component; a Series of these ints with
    ``W``'s index when the codes are a DataFrame (the same values either way, so
    ``labels == 0`` means the same for every input; ``W.columns[labels]`` names them).

    Examples
    --------
    >>> import numpy as np
    >>> cluster_labels(np.array([[3.0, 1.0], [0.2, 0.9]])).tolist()
    [0, 1]
    """
    W = _codes(W)
    A, index = _as_array(W)
    labels = np.argmax(A, axis=1)
    if index is not None:
        import pandas as pd

        return pd.Series(labels, index=index, name="cluster")
    return labels
