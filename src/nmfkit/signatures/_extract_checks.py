"""Validation of :func:`nmfkit.signatures.extract`'s inputs, before any fitting starts."""

from __future__ import annotations

import numbers
import os
import warnings

import numpy as np
import pandas as pd

from ..exceptions import NMFInputError
from ._catalog import SBS96_TYPES, read_catalog

__all__ = ["check_catalog", "check_ks", "check_reference", "check_options", "seed_sequence"]


def check_catalog(catalog, resample: bool) -> pd.DataFrame:
    """Samples × 96 counts, labelled; read through :func:`read_catalog` (either orientation)."""
    if isinstance(catalog, (pd.DataFrame, str, os.PathLike)):
        X = read_catalog(catalog)
    else:
        arr = np.asarray(catalog)
        if arr.ndim != 2 or arr.shape[1] != 96:
            raise NMFInputError(
                f"an array catalog must be samples x 96 SBS types in SBS96_TYPES order, got shape "
                f"{arr.shape}; for a 96 x samples table or another order pass a DataFrame with "
                "the type names (or a file): read_catalog finds the orientation")
        X = read_catalog(pd.DataFrame(arr, index=[f"sample{i + 1}" for i in range(arr.shape[0])],
                                      columns=list(SBS96_TYPES)), orientation="samples_x_types")
    v = X.to_numpy()
    empty = np.flatnonzero(v.sum(axis=1) == 0)
    if empty.size:
        raise NMFInputError(f"{empty.size} sample(s) have no mutations ({list(X.index[empty[:5]])}); "
                            "drop them before extraction")
    if resample and not np.allclose(v, np.rint(v)):
        raise NMFInputError("the catalog holds non-integer values (proportions or normalised "
                            "counts?); resampling redraws mutations, so it needs counts: pass the "
                            "raw counts, or resample=False")
    if X.shape[0] < 2:
        raise NMFInputError(f"extraction needs at least 2 samples, got {X.shape[0]}")
    return X


def check_ks(ks, n_samples: int) -> list:
    if isinstance(ks, (str, bytes)) or not np.iterable(ks):
        raise NMFInputError(f"ks={ks!r} must be an iterable of positive integers, e.g. range(1, 11)")
    out = []
    for k in ks:
        if isinstance(k, bool) or not isinstance(k, numbers.Real) or k != int(k):
            raise NMFInputError(f"ks={ks!r} must hold positive integers; {k!r} is not one")
        out.append(int(k))
    out = sorted(set(out))
    if not out or out[0] < 1 or out[-1] > n_samples:
        raise NMFInputError(f"ks must lie in 1..{n_samples} (at most the number of samples), got {out}")
    return out


def check_reference(reference):
    """``(DataFrame or None, note)`` for ``"auto"``, None, a path or a table of signatures."""
    from ._cosmic import load_cosmic

    if reference is None:
        return None, "none"
    if isinstance(reference, pd.DataFrame):
        return read_catalog(reference), "given"  # either orientation, validated, SBS96 order
    if isinstance(reference, str) and reference == "auto":
        try:
            return load_cosmic(), "COSMIC v3.4 GRCh37 (SigProfilerAssignment)"
        except FileNotFoundError as err:
            warnings.warn(f"extract: no reference signatures, so no decomposition ({err})",
                          UserWarning, stacklevel=3)
            return None, f"none: {err}"
    if isinstance(reference, (str, os.PathLike)):
        return load_cosmic(reference), os.fspath(reference)
    raise NMFInputError(f"reference={type(reference).__name__}: use 'auto', None, a file path or a "
                        "DataFrame of signatures with the SBS-96 type names")


def _unit(name, value, lo, hi, open_lo=False):
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value)
    if not ok or value > hi or value < lo or (open_lo and value == lo):
        raise NMFInputError(f"{name}={value!r} must be a number in {'(' if open_lo else '['}{lo}, {hi}]")


def check_options(*, n_replicates, rule, normalization, cv_folds, cv_fraction, stability,
                  min_stability, combined_stability, pvalue, dtype, n_cluster_starts):
    """Every scalar option of extract, with an error naming the fix."""
    for name, value, least in (("n_replicates", n_replicates, 2), ("cv_folds", cv_folds, 0),
                               ("n_cluster_starts", n_cluster_starts, 1)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < least:
            raise NMFInputError(f"{name}={value!r} must be an integer >= {least}"
                                + (" (stability needs replicates to compare)"
                                   if name == "n_replicates" else ""))
    if rule not in ("sigprofiler", "cv"):
        raise NMFInputError(f"rule={rule!r} is not known; use 'sigprofiler' or 'cv'")
    if rule == "cv" and cv_folds == 0:
        raise NMFInputError("rule='cv' needs cross-validation folds; set cv_folds >= 2")
    if normalization not in ("gmm", "none"):
        raise NMFInputError(f"normalization={normalization!r}: use 'gmm' or 'none'")
    _unit("cv_fraction", cv_fraction, 0.0, 0.5, open_lo=True)
    _unit("stability", stability, -1.0, 1.0)
    _unit("min_stability", min_stability, -1.0, 1.0)
    _unit("combined_stability", combined_stability, -2.0, 2.0)
    _unit("pvalue", pvalue, 0.0, 1.0, open_lo=True)
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise NMFInputError(f"dtype={dtype!r}: use float32 (default) or float64")
    return dt


def seed_sequence(random_state):
    """``(SeedSequence, seed)``: the run's seed, drawn when None so it can be recorded."""
    if random_state is None:
        seed = int(np.random.SeedSequence().entropy)
    elif isinstance(random_state, np.random.Generator):
        seed = int(random_state.integers(2**63))
    elif isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool) \
            and random_state >= 0:
        seed = int(random_state)
    else:
        raise NMFInputError(f"random_state={random_state!r}: use a non-negative int, a "
                            "numpy Generator or None")
    return np.random.SeedSequence(seed), seed
