r"""Reading a fitted factor model: the top features of each component, as a tidy table.

On raw counts the largest entries of every row of ``H`` are the features that are large
everywhere (on text, "the, of, and" top every topic), so a second ranking by
*distinctiveness* is given beside the ranking by weight. The score is LDAvis's *relevance*
(Sievert & Shirley 2014),

.. math::  r_{jf} = \lambda \log s_{jf} + (1 - \lambda) \log \ell_{jf},
           \quad s_{jf} = H_{jf} / \textstyle\sum_g H_{jg},
           \quad \ell_{jf} = H_{jf} / \bar H_{\cdot f},

a weighted geometric mean of the feature's share of the component and its *lift* (its
weight over its mean weight across components). Lift alone is fooled by tiny features: a
word seen once, in one topic, has the largest possible lift (``k``), and ranking by lift
alone lists such one-off words (many tie at ``k``); the share term keeps them out.
``λ = 1`` is the ranking by weight, ``λ = 0`` by lift alone.

The default is ``λ = 0.2``, lower than the 0.6 Sievert & Shirley found best for LDA on a
corpus *without* stop words: a stop word beats a distinctive word when
``λ log(s_stop / s_word) > (1 − λ) log ℓ_word``; on raw counts "the" holds some 5 % of
every topic (lift ≈ 1) against ≈ 0.1 % for a topic word with lift 5–10, which needs
``(1 − λ)/λ`` above about 3. Measured on KL NMF (k = 10) of 2,000 raw-count documents of
:func:`nmfkit.datasets.load_newsgroups10`: λ = 0.6 leaves "the" in the top 10 of 8 topics,
λ = 0.3 of 1, λ = 0.2 of none, with no word shared by two topics' lists (the test
``tests/test_top_features.py`` checks this).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .backends import to_numpy
from .exceptions import NMFInputError

__all__ = ["top_features", "RELEVANCE_LAMBDA"]

#: Default λ of the relevance score (see the module's text for the choice).
RELEVANCE_LAMBDA = 0.2
_RANKINGS = ("weight", "lift")


def _basis(obj: Any):
    """``(H, component names or None, feature names or None)`` of an estimator, result or array."""
    if hasattr(obj, "get_params") and hasattr(obj, "fit"):  # an estimator
        H = getattr(obj, "components_", None)
        if H is None:
            raise NMFInputError(f"model_or_result: this {type(obj).__name__} is not fitted (no "
                                "components_); call .fit(X) first, or pass its result or H")
        names = None
        if hasattr(obj, "get_feature_names_out"):
            try:
                names = [str(c) for c in obj.get_feature_names_out()]
            except Exception:  # noqa: BLE001 - a model without the scikit-learn naming mixin
                names = None
        feats = getattr(obj, "feature_names_in_", None)
        return H, names, None if feats is None else [str(f) for f in feats]
    if hasattr(obj, "H") and hasattr(obj, "W"):  # an NMFResult (or a subclass)
        info = getattr(obj, "info", {}) or {}
        H = obj.H
        feats = info.get("col_names") if not hasattr(H, "columns") else None
        return H, info.get("component_names"), feats
    return obj, None, None


def _as_matrix(H: Any):
    """``H`` as float64 (k, n_features), with the DataFrame's labels when it is one."""
    comps = feats = None
    if hasattr(H, "columns") and hasattr(H, "index"):
        comps, feats = [str(c) for c in H.index], [str(c) for c in H.columns]
        H = H.to_numpy()
    try:
        A = np.asarray(to_numpy(H), dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise NMFInputError(f"model_or_result: expected a fitted nmfkit estimator, an NMFResult "
                            f"or an H array (k × features), got {type(H).__name__}") from err
    if A.ndim != 2 or A.shape[0] < 1 or A.shape[1] < 1:
        raise NMFInputError(f"model_or_result: H must be 2-D (k components × features), got shape "
                            f"{A.shape}")
    if not np.isfinite(A).all() or (A < 0).any():
        raise NMFInputError("model_or_result: H must be finite and >= 0 (a non-negative basis); "
                            "pass the components of a non-negative factor model")
    return A, comps, feats


def _scores(A: np.ndarray, lam: float):
    rows = A.sum(axis=1, keepdims=True)
    share = np.divide(A, rows, out=np.zeros_like(A), where=rows > 0)
    mean = A.mean(axis=0, keepdims=True)
    lift = np.divide(A, mean, out=np.zeros_like(A), where=mean > 0)
    relevance = np.full_like(A, -np.inf)  # a zero weight is never listed
    pos = A > 0
    relevance[pos] = lam * np.log(share[pos]) + (1 - lam) * np.log(lift[pos])
    return share, lift, relevance


def top_features(model_or_result: Any, n: int = 10, feature_names: Sequence | None = None, *,
                 by: str | Sequence[str] = _RANKINGS, relevance_lambda: float = RELEVANCE_LAMBDA):
    r"""The ``n`` top features of every component, ranked by weight and by distinctiveness.

    Parameters
    ----------
    model_or_result : fitted estimator, NMFResult, DataFrame or array (k, n_features)
        A fitted nmfkit estimator (its ``components_``; feature names from
        ``feature_names_in_`` when it was fitted on a DataFrame), an
        :class:`~nmfkit.NMFResult` or :class:`~nmfkit.ContrastiveResult` (its ``H``, a
        DataFrame or an array), or ``H`` itself.
    n : int, default=10
        Features per component and ranking (at most the number of features).
    feature_names : sequence of str, optional
        One name per column of ``H``; overrides the names the input carries. Default: the
        input's names, else ``feature0, feature1, ...``.
    by : {"weight", "lift"} or a sequence of them, default=("weight", "lift")
        The rankings. ``"weight"``: by ``H[j, f]``. ``"lift"``: by distinctiveness, the
        relevance score ``λ log share + (1 − λ) log lift`` (Sievert & Shirley 2014; see
        the module's text): lift alone would rank first the tiny features that occur in
        one component only.
    relevance_lambda : float in [0, 1], default=0.2
        The ``λ`` of the relevance score: 1 ranks by share (= by weight), 0 by lift alone.

    Returns
    -------
    pandas.DataFrame
        One row per (component, ranking, rank): ``component`` (nmfkit's names,
        ``nmf0, nmf1, ...``, or the estimator's / DataFrame's), ``by``, ``rank`` (1..n),
        ``feature``, ``weight`` (``H[j, f]``), ``share`` (weight / the component's sum),
        ``lift`` (weight / the feature's mean over components) and ``relevance`` (the
        distinctiveness score). Features with zero weight are never listed, so a component
        may have fewer than ``n`` rows.

    Raises
    ------
    NMFInputError
        For ``n`` not a positive integer, ``feature_names`` of the wrong length, an unknown
        ``by`` or ``relevance_lambda``, an unfitted estimator or a negative / non-finite ``H``.

    Examples
    --------
    >>> import numpy as np
    >>> H = np.array([[5.0, 4.0, 0.1, 0.0], [5.0, 0.0, 0.2, 3.0]])
    >>> t = top_features(H, n=2, feature_names=["the", "ball", "rare", "vote"])
    >>> t[t.by == "weight"].groupby("component")["feature"].apply(list).to_dict()
    {'nmf0': ['the', 'ball'], 'nmf1': ['the', 'vote']}
    >>> t[t.by == "lift"].groupby("component")["feature"].apply(list).to_dict()
    {'nmf0': ['ball', 'the'], 'nmf1': ['vote', 'the']}
    """
    import pandas as pd

    from ._result import component_names

    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise NMFInputError(f"n={n!r}: expected a positive integer (features per component), e.g. n=10")
    rankings = (by,) if isinstance(by, str) else tuple(by)
    bad = [b for b in rankings if b not in _RANKINGS]
    if bad or not rankings:
        raise NMFInputError(f"by={by!r}: expected 'weight', 'lift' or both, e.g. by=('weight', 'lift')")
    lam = float(relevance_lambda)
    if not 0.0 <= lam <= 1.0:
        raise NMFInputError(f"relevance_lambda={relevance_lambda!r}: expected a number in [0, 1] "
                            "(1: rank by weight, 0: by lift alone), e.g. 0.2")
    H, comps, feats = _basis(model_or_result)
    A, frame_comps, frame_feats = _as_matrix(H)
    k, m = A.shape
    comps = frame_comps if frame_comps is not None else comps
    comps = [str(c) for c in comps] if comps is not None and len(comps) == k else component_names("nmf", k)
    feats = frame_feats if frame_feats is not None else feats
    if feature_names is not None:
        feats = [str(f) for f in feature_names]
        if len(feats) != m:
            raise NMFInputError(f"feature_names has {len(feats)} names but H has {m} features "
                                "(columns); pass one name per feature, in H's column order")
    if feats is None or len(feats) != m:
        feats = [f"feature{j}" for j in range(m)]
    feats = np.asarray(feats, dtype=object)
    share, lift, relevance = _scores(A, lam)
    n = min(int(n), m)
    parts = []
    for name in rankings:
        key = A if name == "weight" else relevance
        for j in range(k):
            # ties (e.g. features at the same maximal lift) go to the heavier feature, then
            # the earlier column: one order, whatever the solver's exact zeros
            order = np.lexsort((np.arange(m), -A[j], -key[j]))[:n]
            order = order[A[j, order] > 0]
            parts.append(pd.DataFrame({
                "component": comps[j], "by": name, "rank": np.arange(1, len(order) + 1),
                "feature": feats[order], "weight": A[j, order], "share": share[j, order],
                "lift": lift[j, order], "relevance": relevance[j, order],
            }))
    return pd.concat(parts, ignore_index=True)
