"""Issue 17 point 5: ContrastiveNMF on the bundled mice protein data, ``preprocess="scale"``
and the default ``preprocess="auto"`` (None for integer counts, "scale" otherwise).

Target: Saline S/C mice (Control + Ts65Dn, 270 rows = 18 mice × 15 replicates); background:
Saline C/S Controls (135 rows); label: genotype; score: ARI of KMeans(2) on the target codes.
``benchmarks/bench_contrastive_mice.py`` prints the same check beside PCA, cPCA and the
supervised leave-one-mouse-out ceiling (0.737).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

import nmfkit
from nmfkit.datasets import load_mice_protein
from nmfkit.exceptions import NMFInputError
from nmfkit.models._contrastive_preprocess import apply_preprocess, resolve_preprocess


def _mice():
    d = load_mice_protein()
    obs = d.obs
    t = (obs.Treatment == "Saline") & (obs.Behavior == "S/C")
    b = (obs.Treatment == "Saline") & (obs.Behavior == "C/S") & (obs.Genotype == "Control")
    return d.X[t], d.X[b], (obs.Genotype[t] == "Ts65Dn").to_numpy().astype(int)


def _ari(labels, codes):
    codes = codes.to_numpy() if hasattr(codes, "to_numpy") else np.asarray(codes)
    return adjusted_rand_score(labels, KMeans(2, n_init=10, random_state=0).fit_predict(codes))


def test_scale_is_per_feature_min_zero_unit_std_and_keeps_nan():
    X, _, _ = _mice()
    Z = apply_preprocess(X, "scale", "X_target")
    assert isinstance(Z, pd.DataFrame) and Z.index.equals(X.index) and Z.columns.equals(X.columns)
    np.testing.assert_array_equal(Z.isna().to_numpy(), X.isna().to_numpy())  # masked, not filled
    assert int(Z.isna().to_numpy().sum()) > 0
    np.testing.assert_allclose(np.nanmin(Z.to_numpy(), axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(np.nanstd(Z.to_numpy(), axis=0), 1.0, rtol=1e-12)
    # per-protein scaling by hand changes nothing: shift and scale invariant to 1e-12
    rng = np.random.default_rng(0)
    hand = X * rng.uniform(0.1, 10, X.shape[1]) + rng.uniform(0, 5, X.shape[1])
    np.testing.assert_allclose(apply_preprocess(hand, "scale").to_numpy(), Z.to_numpy(),
                               atol=1e-12, equal_nan=True)


def test_scale_containers_agree_and_errors_name_the_fix():
    import torch

    rng = np.random.default_rng(1)
    A = rng.gamma(2.0, 1.0, (40, 6))
    A[A < 1.0] = 0.0  # sparse-like, every feature has zeros
    A[3, 2] = np.nan
    dense = apply_preprocess(A, "scale")
    np.testing.assert_allclose(apply_preprocess(sp.csr_matrix(A), "scale").toarray(), dense,
                               rtol=1e-12, equal_nan=True)
    t = apply_preprocess(torch.tensor(A), "scale")
    assert t.dtype == torch.float64
    np.testing.assert_allclose(t.numpy(), dense, rtol=1e-12, equal_nan=True)
    assert apply_preprocess(A.astype(np.float32), "scale").dtype == np.float32
    with pytest.raises(NMFInputError, match=r"X\.toarray\(\)"):
        apply_preprocess(sp.csr_matrix(A + 1.0), "scale")
    with pytest.raises(NMFInputError, match="at least 2"):
        apply_preprocess(A[:1], "scale")
    with pytest.raises(NMFInputError, match="'scale'"):
        nmfkit.ContrastiveNMF(1, preprocess="standard").fit(A, A)


@pytest.mark.filterwarnings("ignore::nmfkit.exceptions.ConvergenceWarning")  # 40 iterations
def test_estimator_scale_equals_fit_on_prescaled_data():
    X, Y, _ = _mice()
    kw = dict(n_restarts=1, max_iter=40, random_state=0)
    a = nmfkit.ContrastiveNMF(2, preprocess="scale", **kw).fit(X, Y)
    b = nmfkit.ContrastiveNMF(2, **kw).fit(apply_preprocess(X, "scale"), apply_preprocess(Y, "scale"))
    np.testing.assert_allclose(np.asarray(a.components_), np.asarray(b.components_), atol=1e-12)
    np.testing.assert_allclose(np.asarray(a.target_codes_), np.asarray(b.target_codes_), atol=1e-12)


@pytest.mark.filterwarnings("ignore::nmfkit.exceptions.ConvergenceWarning")  # 40 iterations
def test_scale_transform_uses_the_fitted_statistics():
    """transform puts new samples in the units of the fit (the fitted target's shift and
    divisor): a sample's codes do not depend on its batch, one sample works, and the codes
    equal those of the target scaled by hand on the same basis."""
    X, Y, _ = _mice()
    model = nmfkit.ContrastiveNMF(2, preprocess="scale", n_restarts=1, max_iter=40,
                                  random_state=0).fit(X, Y)
    full = np.asarray(model.transform(X))
    np.testing.assert_allclose(np.asarray(model.transform(X.iloc[:10])), full[:10], rtol=1e-9,
                               atol=1e-12)
    np.testing.assert_allclose(np.asarray(model.transform(X.iloc[[5]])), full[[5]], rtol=1e-9,
                               atol=1e-12)
    ref = nmfkit.ContrastiveNMF(2, n_restarts=1, max_iter=40, random_state=0)
    ref.fit(apply_preprocess(X, "scale"), apply_preprocess(Y, "scale"))
    np.testing.assert_allclose(full, np.asarray(ref.transform(apply_preprocess(X, "scale"))),
                               rtol=1e-8, atol=1e-10)


def _counts_and_levels(seed=0):
    """Integer counts without zeros (float dtype, a NaN) and continuous levels, 60 x 12
    each (no zeros: the zero-share branch of "auto" has its own test)."""
    rng = np.random.default_rng(seed)
    counts = 1.0 + rng.poisson(rng.gamma(2.0, 2.0, (1, 12)), (60, 12)).astype(float)
    counts[4, 3] = np.nan
    levels = rng.gamma(3.0, 1.0, (60, 12)) + np.linspace(1, 12, 12)
    return counts, levels


def test_auto_rule_counts_none_continuous_scale_nan_ignored():
    """Both integer-valued (NaN ignored, any container) -> None; any continuous dataset,
    target or background -> "scale" for both."""
    import torch

    counts, levels = _counts_and_levels()
    assert resolve_preprocess("auto", counts, counts[::-1]) is None  # NaN does not count
    assert resolve_preprocess("auto", sp.csr_matrix(np.nan_to_num(counts)), counts) is None
    assert resolve_preprocess("auto", np.nan_to_num(counts).astype(np.int64), counts) is None
    assert resolve_preprocess("auto", pd.DataFrame(levels), pd.DataFrame(levels)) == "scale"
    nullable = pd.DataFrame(counts).astype("Float64")  # pd.NA where counts had NaN
    assert resolve_preprocess("auto", nullable, counts) is None
    assert resolve_preprocess("auto", nullable / 3, counts) == "scale"
    assert resolve_preprocess("auto", torch.tensor(levels), torch.tensor(counts)) == "scale"
    assert resolve_preprocess("auto", counts, levels) == "scale"  # mixed: both scaled
    assert resolve_preprocess("auto", levels, counts) == "scale"
    assert resolve_preprocess("auto", counts + 1e-9, counts) == "scale"  # no tolerance
    for explicit in (None, "scale", "log1p_cp10k"):
        assert resolve_preprocess(explicit, levels, levels) == explicit


def test_auto_rule_data_rich_in_zeros_are_fitted_as_given():
    """A tenth or more zeros among the observed entries of either dataset (log-normalised
    expression, sparse matrices) -> None; a few zeros in positive levels -> "scale"."""
    import torch

    from nmfkit.models._contrastive_preprocess import ZERO_SHARE

    rng = np.random.default_rng(3)
    logged = np.log1p(rng.poisson(0.5, (60, 12)).astype(float))  # ~60 % zeros, not integer
    _, levels = _counts_and_levels()
    assert (logged == 0).mean() > ZERO_SHARE
    assert resolve_preprocess("auto", logged, logged) is None
    assert resolve_preprocess("auto", sp.csr_matrix(logged), sp.csr_matrix(logged)) is None
    assert resolve_preprocess("auto", torch.tensor(logged), torch.tensor(levels)) is None
    assert resolve_preprocess("auto", levels, logged) is None  # either dataset
    few = levels.copy()
    few.flat[:50] = 0.0  # 7 % of the entries
    assert resolve_preprocess("auto", few, levels) == "scale"
    few.flat[:72] = 0.0  # exactly a tenth
    assert resolve_preprocess("auto", few, levels) is None
    masked = few.copy()
    masked[few > 0] = np.nan  # NaN are not observed: every observed entry is 0
    assert resolve_preprocess("auto", masked, levels) is None


@pytest.mark.filterwarnings("ignore::nmfkit.exceptions.ConvergenceWarning")  # 30 iterations
def test_auto_fits_equal_the_explicit_choice_and_are_recorded(capsys):
    """Counts: the default fit is the preprocess=None fit (1e-12, behaviour unchanged);
    mixed counts + levels: the preprocess="scale" fit of both (1e-12). preprocess_ and
    result_.info record the choice, the param stays "auto", verbose prints it."""
    counts, levels = _counts_and_levels()
    kw = dict(n_restarts=1, max_iter=30, random_state=0)
    for X, Y, used in ((counts, counts[::-1], None), (counts, levels, "scale")):
        auto = nmfkit.ContrastiveNMF(2, verbose=1, **kw).fit(X, Y)
        ref = nmfkit.ContrastiveNMF(2, preprocess=used, **kw).fit(X, Y)
        assert auto.preprocess == "auto" and auto.get_params()["preprocess"] == "auto"
        assert auto.preprocess_ == used and auto.result_.info["preprocess_used"] == used
        assert f"preprocess='auto' resolved to {used!r}" in capsys.readouterr().err
        np.testing.assert_allclose(auto.components_, ref.components_, rtol=0, atol=1e-12)
        np.testing.assert_allclose(auto.target_codes_, ref.target_codes_, rtol=0, atol=1e-12)
        np.testing.assert_allclose(auto.transform(Y[:7]), ref.transform(Y[:7]), rtol=0, atol=1e-12)
    res = nmfkit.contrastive_nmf(pd.DataFrame(counts), pd.DataFrame(levels), 2, **kw)
    assert res.info["preprocess_used"] == "scale"


@pytest.mark.filterwarnings("ignore::nmfkit.exceptions.ConvergenceWarning")  # 30 iterations
def test_preprocess_none_is_the_old_default_fit():
    """preprocess=None fits the data as given: the same basis and codes (1e-12) as the
    driver on the unchanged data, which is what the default did before "auto"."""
    from nmfkit.models._contrastive_fit import PairOptions, check_pair, fit_pair
    from nmfkit.models._contrastive_result import _pack

    _, levels = _counts_and_levels()
    Y = _counts_and_levels(1)[1]
    model = nmfkit.ContrastiveNMF(2, preprocess=None, n_restarts=1, max_iter=30,
                                  random_state=0).fit(levels, Y)
    fit = fit_pair(*check_pair(levels, Y), 2, PairOptions(alpha=2.0, beta=2.0, n_restarts=1,
                                                         max_iter=30, random_state=0))
    res = _pack(fit, 2.0)
    assert model.preprocess_ is None
    np.testing.assert_allclose(model.components_, res.H, rtol=0, atol=1e-12)
    np.testing.assert_allclose(model.target_codes_, res.W, rtol=0, atol=1e-12)


@pytest.mark.filterwarnings("ignore::nmfkit.exceptions.ConvergenceWarning")  # 5 iterations
def test_negative_input_is_not_shifted_and_the_error_names_scale():
    counts, levels = _counts_and_levels()
    neg = levels - 5.0
    for how in ("auto", None):
        with pytest.raises(NMFInputError, match=r"X_target has \d+ negative.*preprocess='scale'"):
            nmfkit.ContrastiveNMF(1, preprocess=how).fit(neg, levels)
        with pytest.raises(NMFInputError, match=r"X_background has \d+ negative.*preprocess='scale'"):
            nmfkit.contrastive_path(levels, neg, preprocess=how)
    with pytest.raises(NMFInputError, match="does not shift negative data"):
        nmfkit.ContrastiveNMF(1).fit(counts, -counts)
    # what the error proposes works: "scale" takes any sign
    assert nmfkit.ContrastiveNMF(1, preprocess="scale", n_restarts=1, max_iter=5).fit(
        neg, levels).preprocess_ == "scale"


@pytest.mark.filterwarnings("ignore::nmfkit.exceptions.ConvergenceWarning")  # 40 iterations
def test_auto_on_mice_is_scale_and_transform_uses_it():
    X, Y, _ = _mice()
    kw = dict(n_restarts=1, max_iter=40, random_state=0)
    auto = nmfkit.ContrastiveNMF(2, **kw).fit(X, Y)
    ref = nmfkit.ContrastiveNMF(2, preprocess="scale", **kw).fit(X, Y)
    assert auto.preprocess_ == "scale"
    np.testing.assert_allclose(np.asarray(auto.components_), np.asarray(ref.components_), atol=1e-12)
    np.testing.assert_allclose(np.asarray(auto.transform(X.iloc[[5, 9]])),
                               np.asarray(ref.transform(X.iloc[[5, 9]])), rtol=0, atol=1e-12)
    path = nmfkit.contrastive_path(X, Y, alphas=[2.0], n_components=1, n_restarts=2,
                                   max_iter=20, n_splits=2, random_state=0)
    assert path.preprocess == "scale"


def _target_only_program(seed=0):
    """Target: 2 shared programs + a target-only program on genes 20-29 in half the cells;
    background: the shared programs only (genes 20-29 near 0 there). Continuous levels."""
    rng = np.random.default_rng(seed)
    H = np.zeros((3, 30))
    for j in range(3):
        H[j, 10 * j: 10 * j + 10] = rng.uniform(0.5, 1.5, 10)
    H += 0.01
    X = np.c_[rng.gamma(2.0, 1.0, (40, 2)), np.repeat([0.0, 3.0], 20)] @ H
    Y = rng.gamma(2.0, 1.0, (30, 2)) @ H[:2]
    return X, Y, np.repeat([0, 1], 20)


def test_target_only_program_is_found_as_given():
    X, Y, labels = _target_only_program()
    model = nmfkit.ContrastiveNMF(1, preprocess=None, random_state=0).fit(X, Y)
    assert _ari(labels, model.target_codes_) == 1.0


@pytest.mark.xfail(strict=True, reason=(
    "known cost of preprocess='auto' -> 'scale' (issue 17 point 5): dividing each feature by "
    "its spread in each dataset blows the background's near-empty target-only genes up to unit "
    "spread, so the program is no longer target-only; ARI -0.02 (1.0 with preprocess=None)"))
def test_auto_scale_loses_target_only_features():
    X, Y, labels = _target_only_program()
    model = nmfkit.ContrastiveNMF(1, random_state=0).fit(X, Y)
    assert model.preprocess_ == "scale"
    assert _ari(labels, model.target_codes_) >= 0.9


@pytest.mark.slow
def test_point5_defaults_and_label_free_choice_find_genotype():
    """ContrastiveNMF's defaults (preprocess="auto" -> "scale" on these continuous protein
    levels, Frobenius, no background programs) and (k, α) from the label-free
    ``contrastive_path(...).choose()``, no preprocess passed anywhere: median genotype ARI
    >= 0.6 over seeds 0-4 (measured with "scale" passed by hand before "auto": 0.639 /
    0.014 / 0.639 / 0.829 / 0.789, median 0.639; supervised leave-one-mouse-out ceiling
    0.737). No α reaches the contrast line here, so the rule's fallback applies: α stays
    at the default 2 (uncapped it takes α = 3, where a component isolates 3 outlier
    replicates: ARI 0.025). With preprocess=None the same path gives ~0.05."""
    X, Y, labels = _mice()
    picks, aris = [], []
    for seed in range(5):
        with pytest.warns(UserWarning, match="no decisive"):
            path = nmfkit.contrastive_path(X, Y, alphas=(0.5, 1, 2, 3, 5),
                                           n_components=(1, 2, 3, 4, 5), random_state=seed)
            k, alpha = path.choose()
            uncapped = path.choose(max_fallback_alpha=np.inf)
        assert path.preprocess == "scale"
        assert alpha == 2.0 and uncapped[1] > 2.0
        model = nmfkit.ContrastiveNMF(k, alpha=alpha, random_state=seed).fit(X, Y)
        assert model.preprocess_ == "scale"
        picks.append((k, alpha))
        aris.append(_ari(labels, model.target_codes_))
    assert np.median(aris) >= 0.6, (picks, aris)
