"""The ``preprocess`` option of :class:`nmfkit.ContrastiveNMF`.

``"log1p_cp10k"`` (counts to log1p-CP10k). Why it exists (issue 17, ``BENCHMARKS.md``
"Contrastive NMF on real single-cell counts"): on real UMI counts a program carried by a
few tens of weakly expressed genes is a small share of either divergence of the raw
counts, which the library-size and highly expressed genes dominate; scaling each cell to
10,000 counts and taking ``log1p`` compresses both, and the Frobenius contrast on the
result recovers the program where KL on the raw counts did not.

``"scale"`` (per-feature levels, each dataset on its own). Why it exists (issue 17
point 5, ``BENCHMARKS.md`` "Mice protein"): on measurements whose features have very
different levels and spreads (protein levels, intensities), the uncentred Frobenius fit
spends its components on each feature's mean level, and a target that differs from its
background by a constant shift of many features (the mice's behavioural protocol) gives
the contrast a target-only "program" that is that shift. Contrastive PCA (Abid et al.
2018) avoids both by centring each dataset on its own and standardising features. NMF
cannot centre (the data must stay non-negative), so ``"scale"`` does the non-negative
analogue: in each dataset separately, every feature is shifted so that its smallest
observed value is 0 and divided by its standard deviation. The per-dataset shift
removes the datasets' mean difference (up to the spread of the minima) and the division
gives every feature the same weight, as in cPCA.

``"auto"`` (the default; issue 17 point 5). Resolved once from target and background
together, so both always get the same transform (:func:`resolve_preprocess`):

- both datasets **integer-valued** (NaN ignored) → ``None``. Integer data are taken to
  be counts, which the loss models as they are (KL), or which the user transforms with
  ``"log1p_cp10k"`` (the single-cell recipe); scaling each feature by its standard
  deviation would discard what counts carry (their Poisson-like mean-variance relation,
  the zeros), so the behaviour for counts is that of ``None``;
- either dataset has **zeros in at least a tenth of its observed entries**
  (``ZERO_SHARE``) → ``None``. There 0 is a level that means "absent" (log-normalised
  counts, sparse matrices, proportions), and a per-dataset shift and division would give
  a feature that the background lacks a spread in the background as large as in the
  target: a target-only program would no longer be target-only (measured: a planted
  target-only program ARI 1.0 → ≈ 0, the log-normalised bcNMF simulation at β = 16
  0.964 → 0.872, and sparse log-normalised AnnData refused, since shifting its genes
  without zeros would make it dense);
- otherwise (strictly positive continuous measurements with at most a few zeros:
  protein levels, intensities, each in its own unit and offset) → ``"scale"``, the
  per-dataset standardisation that contrastive PCA's reference code applies to every
  dataset by default: it removes the datasets' offsets (a condition that differs between
  target and background as a whole) and weighs every feature alike (the mice protein
  data: genotype ARI 0.053 as given, 0.639 scaled, issue 17 point 5). One continuous
  dataset is enough: a count target against a continuous background are not on one
  scale;
- negative entries are never shifted away under ``"auto"``: the fit raises the usual
  non-negative-input error, whose fix names ``preprocess="scale"``.

The cost of the last branch is the one of the second, on data without zeros: a program
on features the background barely has is erased by the per-dataset division (the
guide's "What scale costs"); pass ``preprocess=None`` when the features share one scale
and their levels are the signal. The tenth is not tuned: integer and zero-rich data
resolve the same for any share between 1 % and 50 % on the bundled data (pbmc68k,
mouse10k, newsgroups10 and the log-normalised bcNMF simulation hold 54–99.5 % zeros, the
mice protein levels none). Integer-valued
measurements that are not counts (e.g. 16-bit image intensities) resolve to ``None``:
pass ``"scale"`` for them.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..exceptions import NMFInputError

__all__ = ["PREPROCESS", "check_preprocess", "apply_preprocess", "resolve_preprocess", "prepare_pair",
           "say_resolved"]

#: The accepted values of ``preprocess``.
PREPROCESS = ("auto", None, "log1p_cp10k", "scale")
TARGET_SUM = 1e4
#: ``"auto"``: a dataset with at least this share of zeros among its observed entries is
#: fitted as given (module docstring).
ZERO_SHARE = 0.1
_BLOCK = 1 << 20  # entries scanned at a time by resolve_preprocess (no full-size temporaries)


def check_preprocess(value, name: str = "preprocess", spec=None):
    """``"auto"``, ``None``, ``"log1p_cp10k"`` or ``"scale"``."""
    if value is None or (isinstance(value, str) and value in PREPROCESS):
        return value
    raise NMFInputError(
        f"{name}={value!r} is not one of {list(PREPROCESS)}; use 'auto' (the default: None for "
        "integer counts and data with many zeros, 'scale' otherwise), 'log1p_cp10k' for raw counts "
        "(each sample scaled to 10,000, then log1p), 'scale' for measurements such as protein "
        "levels (each feature shifted to minimum 0 and divided by its standard deviation, per "
        "dataset) or None for data already transformed"
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


def _few_rows(name, n):
    return NMFInputError(
        f"{name} has {n} sample(s), but preprocess='scale' standardises each feature over the "
        "dataset's samples and needs at least 2; pass the samples as one batch, or scale them "
        "yourself and use preprocess=None"
    )


def _divisor(sd):
    """Standard deviations with 0 / NaN (constant or unobserved features) replaced by 1."""
    return np.where(np.isfinite(sd) & (sd > 0), sd, 1.0)


def _scale_dense(X, name, stats=None):
    X = np.asarray(X)
    X = X.astype(X.dtype if X.dtype in (np.float32, np.float64) else np.float64)
    if stats is None:
        if X.shape[0] < 2:
            raise _few_rows(name, X.shape[0])
        seen = ~np.isnan(X).all(axis=0)
        lo = np.zeros(X.shape[1])
        sd = np.ones(X.shape[1])
        if seen.any():
            lo[seen] = np.nanmin(X[:, seen], axis=0)
            sd[seen] = np.nanstd(X[:, seen], axis=0)
        stats = (lo, _divisor(sd))
    lo, div = stats
    return ((X - lo.astype(X.dtype)) / div.astype(X.dtype)).astype(X.dtype), stats


def _scale_sparse(X, name, stats=None):
    X = sp.csc_matrix(X, dtype=np.float32 if X.dtype == np.float32 else np.float64, copy=True)
    n = X.shape[0]
    if stats is not None:
        lo, div = stats
        if np.any(lo != 0):
            raise NMFInputError(
                f"{name} is sparse, but the fitted preprocess='scale' shifts some features (their "
                "smallest value in the fitted target was not 0), which would make it dense: pass "
                "X.toarray()")
        X.data = X.data / np.repeat(div, np.diff(X.indptr)).astype(X.dtype)
        return X.tocsr(), stats
    if n < 2:
        raise _few_rows(name, n)
    col = np.repeat(np.arange(X.shape[1]), np.diff(X.indptr))
    zeros = (np.diff(X.indptr) < n) | (np.bincount(col, weights=X.data == 0, minlength=X.shape[1]) > 0)
    if not zeros.all() or (X.data.size and np.nanmin(X.data) < 0):
        raise NMFInputError(
            f"{name} is sparse with a feature whose smallest value is not 0 (a column without "
            "zeros, or negative entries); preprocess='scale' would shift its zeros and make the "
            "matrix dense: pass X.toarray()"
        )
    nan = np.isnan(X.data)
    vals = np.where(nan, 0.0, X.data)
    miss = np.bincount(col, weights=nan, minlength=X.shape[1])
    s1 = np.bincount(col, weights=vals, minlength=X.shape[1])
    s2 = np.bincount(col, weights=vals**2, minlength=X.shape[1])
    cnt = n - miss
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / cnt
        sd = np.sqrt(np.maximum(s2 / cnt - mean**2, 0.0))
    div = _divisor(sd)
    X.data = X.data / np.repeat(div, np.diff(X.indptr)).astype(X.dtype)
    return X.tocsr(), (np.zeros(X.shape[1]), div)


def _scale_torch(X, name, stats=None):
    import torch

    if stats is not None:
        lo, div = (torch.as_tensor(v, dtype=X.dtype, device=X.device) for v in stats)
        return (X - lo) / div, stats
    if X.shape[0] < 2:
        raise _few_rows(name, X.shape[0])
    nan = torch.isnan(X)
    lo = torch.where(nan, torch.full_like(X, float("inf")), X).amin(dim=0)
    lo = torch.where(torch.isfinite(lo), lo, torch.zeros_like(lo))
    cnt = (~nan).sum(dim=0).clamp_min(1)
    mean = X.nansum(dim=0) / cnt
    var = torch.where(nan, torch.zeros_like(X), (X - mean) ** 2).sum(dim=0) / cnt
    sd = var.sqrt()
    sd = torch.where(sd > 0, sd, torch.ones_like(sd))
    stats = (lo.detach().cpu().double().numpy(), sd.detach().cpu().double().numpy())
    return (X - lo) / sd, stats


def apply_preprocess(X, how, name: str = "X", stats=None, return_stats: bool = False):
    """``X`` transformed by ``how`` (see :data:`PREPROCESS`), in its own container type.

    ``"log1p_cp10k"``: each row (sample) scaled to total 10,000 over its observed
    entries, then ``log1p``. ``"scale"``: each column (feature) shifted by its smallest
    observed value and divided by its standard deviation (over the observed entries of
    this ``X``; constant or wholly missing features are only shifted), so every feature
    has minimum 0 and unit spread; at least 2 samples; a sparse ``X`` is only divided
    (its features' minimum must be 0, else the error says to pass a dense array). In both,
    NaN (missing) entries stay NaN, sparse stays sparse, DataFrames keep their labels,
    torch tensors their device and dtype.

    ``stats``: for "scale", the ``(shift, divisor)`` of every feature to use instead of
    ``X``'s own (what :meth:`ContrastiveNMF.transform` applies: the fitted target's, so new
    samples are put in the units of the fit; any number of samples); ``return_stats``:
    return ``(X, stats)`` (``stats`` None for the other values of ``how``).

    Examples
    --------
    >>> import numpy as np
    >>> apply_preprocess(np.array([[1.0, 5.0], [3.0, np.nan], [5.0, 7.0]]), "scale")
    array([[0.        , 0.        ],
           [1.22474487,        nan],
           [2.44948974, 2.        ]])
    """
    out, used = _apply(X, how, name, stats)
    return (out, used) if return_stats else out


def _apply(X, how, name, stats):
    if how is None:
        return X, None
    if hasattr(X, "iloc"):  # pandas DataFrame
        import pandas as pd

        arr = X.to_numpy()
        out, used = _scale_dense(arr, name, stats) if how == "scale" else (_numpy(arr, name), None)
        return pd.DataFrame(out, index=X.index, columns=X.columns), used
    if type(X).__module__.startswith("torch"):
        if X.is_sparse:
            raise NMFInputError(f"{name}: preprocess={how!r} takes dense torch tensors; pass "
                                "X.to_dense()")
        if how == "scale":
            return _scale_torch(X, name, stats)
        if bool((X < 0).any()):
            raise _negative(name)
        tot = X.nansum(dim=1, keepdim=True)
        return (X * (TARGET_SUM / tot.clamp_min(1e-300).where(tot > 0, tot.new_ones(())))).log1p(), None
    if how == "scale":
        return _scale_sparse(X, name, stats) if sp.issparse(X) else _scale_dense(X, name, stats)
    return _numpy(X, name), None


def _scan_torch(X):
    size = X.numel()
    if X.is_sparse:
        X = X.coalesce().values()
    neg = int((X < 0).sum())
    lo = float(X[X < 0].min()) if neg else 0.0
    nan = int(X.isnan().sum()) if X.is_floating_point() else 0
    zeros = int((X == 0).sum()) + size - X.numel()
    if not X.is_floating_point():
        return neg, lo, True, zeros, size - nan
    return neg, lo, not bool((X.isfinite() & (X != X.floor())).any()), zeros, size - nan


def _scan(X):
    """``(n_negative, smallest, integer_valued, n_zero, n_observed)`` over the observed
    entries (NaN ignored; a sparse matrix's entries not stored are zeros), or None when
    ``X`` is not a 2-D numeric matrix (``check_data``'s error then follows)."""
    if type(X).__module__.startswith("torch"):
        return _scan_torch(X)
    try:
        if hasattr(X, "iloc"):  # pandas DataFrame, nullable dtypes (pd.NA) included
            A = X.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            A = sp.csr_matrix(X).data[:, None] if sp.issparse(X) else np.asarray(X)
    except (TypeError, ValueError):
        return None
    if A.ndim != 2 or A.dtype.kind not in "biuf":
        return None
    unstored = (X.shape[0] * X.shape[1] - A.shape[0]) if sp.issparse(X) else 0
    neg, lo, integer, zeros, seen = 0, np.inf, True, unstored, unstored
    step = max(1, _BLOCK // max(A.shape[1], 1))
    for i in range(0, A.shape[0], step):
        b = A[i:i + step]
        below = b < 0
        if below.any():
            neg += int(np.count_nonzero(below))
            lo = min(lo, float(b[below].min()))
        zeros += int(np.count_nonzero(b == 0))
        seen += b.size - (int(np.count_nonzero(np.isnan(b))) if b.dtype.kind == "f" else 0)
        if integer and b.dtype.kind == "f":
            integer = not np.any(np.isfinite(b) & (b != np.floor(b)))
    return neg, lo, integer, zeros, seen


def _negative_input(name, n, lo, how):
    why = " (preprocess='auto' does not shift negative data by itself)" if how == "auto" else ""
    return NMFInputError(
        f"Negative values in data: {name} has {n} negative entries (min {lo:.4g}); NMF needs "
        f"{name} >= 0{why}: for measurements of any sign pass preprocess='scale' (each feature "
        "shifted to minimum 0 and divided by its standard deviation, in each dataset), or clip / "
        "shift the data yourself, or use a method for mixed-sign data (SemiNMF)"
    )


def resolve_preprocess(how, X_target, X_background):
    """The transform a fit applies: ``how`` itself, or what ``"auto"`` resolves to.

    ``"auto"`` is resolved once from both datasets (module docstring): ``None`` when
    both are integer-valued (NaN ignored: counts) or either has zeros in at least
    ``ZERO_SHARE`` of its observed entries (0 means "absent"), else ``"scale"``. With ``"auto"`` or
    ``None``, negative entries raise an :class:`~nmfkit.exceptions.NMFInputError` whose
    fix names ``preprocess="scale"`` (nothing is shifted silently).

    Examples
    --------
    >>> import numpy as np
    >>> counts = np.array([[1.0, 3.0], [2.0, np.nan]])
    >>> levels = np.array([[0.4, 1.3], [2.5, 0.9]])
    >>> resolve_preprocess("auto", counts, counts), resolve_preprocess("auto", levels, levels)
    (None, 'scale')
    >>> print(resolve_preprocess("auto", np.log1p(counts - 1), levels))  # a third of it zeros
    None
    """
    if how not in ("auto", None):
        return how
    integer, zero_rich = [], []
    for name, X in (("X_target", X_target), ("X_background", X_background)):
        scan = _scan(X)
        if scan is None:
            return None  # not a numeric matrix: the usual validation error follows
        if scan[0]:
            raise _negative_input(name, scan[0], scan[1], how)
        integer.append(scan[2])
        zero_rich.append(scan[3] >= ZERO_SHARE * max(scan[4], 1))
    return None if how is None or all(integer) or any(zero_rich) else "scale"


def prepare_pair(X_target, X_background, how):
    """``(X_target, X_background, used, stats)``: both datasets transformed by the resolved
    ``how`` (:func:`resolve_preprocess`); ``stats`` the target's ``"scale"`` statistics."""
    used = resolve_preprocess(how, X_target, X_background)
    try:
        X_target, stats = apply_preprocess(X_target, used, "X_target", return_stats=True)
        X_background = apply_preprocess(X_background, used, "X_background")
    except NMFInputError as err:
        if how != "auto":
            raise
        raise NMFInputError(f"{err} (preprocess='auto' chose {used!r} because the data are neither "
                            "integer counts nor rich in zeros; preprocess=None fits them as given)") from err
    return X_target, X_background, used, stats


def say_resolved(who: str, how, used, verbose: int) -> None:
    """With ``verbose >= 1``, tell on stderr what ``preprocess="auto"`` resolved to (called
    once the pair passed validation, so a bad input prints only its error)."""
    if verbose >= 1 and how == "auto":
        import sys

        why = "integer counts or rich in zeros" if used is None else "positive levels"
        print(f"{who}: preprocess='auto' resolved to {used!r} ({why})", file=sys.stderr, flush=True)
