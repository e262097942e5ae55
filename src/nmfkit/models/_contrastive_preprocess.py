"""The ``preprocess`` option of :class:`nmfkit.ContrastiveNMF`: counts to log1p-CP10k.

Why it exists (issue 17, ``BENCHMARKS.md`` "Contrastive NMF on real single-cell
counts"): on real UMI counts a program carried by a few tens of weakly expressed genes
is a small share of either divergence of the raw counts, which the library-size and
highly expressed genes dominate; scaling each cell to 10,000 counts and taking
``log1p`` compresses both, and the Frobenius contrast on the result recovers the
program where KL on the raw counts did not.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..exceptions import NMFInputError

__all__ = ["PREPROCESS", "check_preprocess", "apply_preprocess"]

#: The accepted values of ``preprocess``.
PREPROCESS = (None, "log1p_cp10k")
TARGET_SUM = 1e4


def check_preprocess(value, name: str = "preprocess", spec=None):
    """``None`` or ``"log1p_cp10k"``."""
    if value is None or (isinstance(value, str) and value in PREPROCESS):
        return value
    raise NMFInputError(
        f"{name}={value!r} is not one of {list(PREPROCESS)}; use 'log1p_cp10k' for raw counts "
        "(each sample scaled to 10,000, then log1p) or None for data already transformed"
    )


def _numpy(X, name):
    if sp.issparse(X):
        X = sp.csr_matrix(X, dtype=np.float32 if X.dtype == np.float32 else np.float64, copy=True)
        if X.data.size and np.nanmin(X.data) < 0:
            raise _negative(name)
        observed = sp.csr_matrix((np.nan_to_num(X.data), X.indices, X.indptr), shape=X.shape)
        tot = np.asarray(observed.sum(axis=1)).ravel()
        f = TARGET_SUM / np.where(tot > 0, tot, 1.0)
        X.data = np.log1p(X.data * np.repeat(f, np.diff(X.indptr)).astype(X.dtype))
        return X
    X = np.asarray(X)
    X = X.astype(X.dtype if X.dtype in (np.float32, np.float64) else np.float64)
    if np.nanmin(X, initial=0.0) < 0:
        raise _negative(name)
    tot = np.nansum(X, axis=1, keepdims=True)
    return np.log1p(X * (TARGET_SUM / np.where(tot > 0, tot, 1.0)).astype(X.dtype))


def _negative(name):
    return NMFInputError(
        f"{name} has negative entries, but preprocess='log1p_cp10k' expects raw counts; pass the "
        "counts, or preprocess=None for data already transformed"
    )


def apply_preprocess(X, how, name: str = "X"):
    """``X`` transformed by ``how`` (see :data:`PREPROCESS`), in its own container type.

    ``"log1p_cp10k"``: each row (sample) scaled to total 10,000 over its observed
    entries, then ``log1p``; NaN (missing) entries stay NaN, rows of zeros stay zero,
    sparse stays sparse, DataFrames keep their labels, torch tensors their device.
    """
    if how is None:
        return X
    if hasattr(X, "iloc"):  # pandas DataFrame
        import pandas as pd

        return pd.DataFrame(_numpy(X.to_numpy(), name), index=X.index, columns=X.columns)
    if type(X).__module__.startswith("torch"):
        if X.is_sparse or bool((X < 0).any()):
            raise _negative(name) if not X.is_sparse else NMFInputError(
                f"{name}: preprocess='log1p_cp10k' takes dense torch tensors; pass X.to_dense()")
        tot = X.nansum(dim=1, keepdim=True)
        return (X * (TARGET_SUM / tot.clamp_min(1e-300).where(tot > 0, tot.new_ones(())))).log1p()
    return _numpy(X, name)
