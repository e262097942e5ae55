r"""The two rank rules of :func:`nmfkit.signatures.extract`.

**SigProfiler's rule** (SigProfilerExtractor's ``stabVsRError``, as described in
Islam et al., Cell Genomics 2022 and its documentation): a rank is a *candidate* when
its average stability is at least ``stability`` (0.8), its minimum stability at least
``min_stability`` (0.2) and their sum at least ``combined_stability`` (1.0). Starting
from the largest candidate, the smaller candidates at least as stable as it (all of
them with ``allow_stability_drop``) are walked down; at each, the
per-sample relative errors are compared with those of the largest candidate by a
Wilcoxon rank-sum test (two-sided, as SigProfilerExtractor 1.4 computes it); the walk
stops at the first rank that fits significantly worse (p < ``pvalue`` and a higher
median error) and the rank just above it is returned (the smallest candidate when none
is worse). As in SigProfilerExtractor, reaching the smallest rank tried ends the walk at
the rank above it (with ks from 1, the walk never returns 1). Without any candidate the
smallest rank is returned.

Departure: SigProfilerExtractor takes the per-sample errors from its own sparse refit of
the exposures; here they come from the NNLS exposures of each rank's consensus, so on a
borderline pair of ranks the two can differ (on the 21 breast cancers SigProfilerExtractor
1.4.1 suggests k = 3 and this rule k = 4, at the same stabilities: BENCHMARKS.md).

**The cross-validation rule**: entries of the catalog are held out at random (a
speckled mask per fold), the replicates are refitted on the rest and scored by the
loss's divergence on the held-out entries. The rank is the smallest whose mean
held-out error is within one standard error of the lowest (the "one-standard-error"
rule of Breiman et al. / Hastie et al.: among ranks the data cannot tell apart, the
simplest).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["sigprofiler_rank", "cv_rank"]


def sigprofiler_rank(table: pd.DataFrame, sample_errors: dict, *, stability=0.8,
                     min_stability=0.2, combined_stability=1.0, pvalue=0.05,
                     allow_stability_drop=False):
    """``(k, candidate mask, walk-down DataFrame)`` of SigProfiler's rule (module doc).

    ``table`` is indexed by k with ``avg_stability`` and ``min_stability``;
    ``sample_errors[k]`` holds the per-sample relative errors of rank k.
    """
    from scipy.stats import ranksums

    avg, mn = table["avg_stability"], table["min_stability"]
    cand = (avg >= stability) & (mn >= min_stability) & (avg + mn >= combined_stability)
    ks = [int(k) for k in table.index[cand.to_numpy()]]
    rows = []
    if not ks:
        return int(table.index.min()), cand, pd.DataFrame(rows, columns=_WALK)
    top = ks[-1]
    walk = ks[:-1] if allow_stability_drop else [k for k in ks[:-1] if avg[k] >= avg[top]]
    e_top = np.asarray(sample_errors[top])
    smallest = int(table.index.min())
    chosen = top
    for k in reversed(walk):
        e = np.asarray(sample_errors[k])
        p = float(ranksums(e, e_top).pvalue)
        worse = p < pvalue and np.median(e) > np.median(e_top)
        rows.append((k, top, p, float(np.median(e)), float(np.median(e_top)), worse))
        if worse or k == smallest:
            break
        chosen = k
    return chosen, cand, pd.DataFrame(rows, columns=_WALK)


_WALK = ["k", "against_k", "p_value", "median_error", "median_error_against", "worse"]


def cv_rank(table: pd.DataFrame):
    """The smallest k whose ``cv_error`` is within one ``cv_se`` of the lowest (module doc)."""
    cv = table["cv_error"].astype(float)
    if cv.isna().all():
        return None
    best = cv.idxmin()
    limit = cv[best] + float(np.nan_to_num(table.loc[best, "cv_se"]))
    return int(min(k for k in cv.index if cv[k] <= limit))
