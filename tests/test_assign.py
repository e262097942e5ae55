"""assign() (refitting catalogs on known signatures) and decompose() (de novo -> reference).

The figures quoted in ``assign``'s docstring come from ``test_default_method_numbers``:
``PYTHONPATH=src python -m pytest -s -p no:cacheprovider tests/test_assign.py -k numbers``.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from nmfkit.exceptions import NMFInputError
from nmfkit.signatures import (AssignmentResult, assign, decompose, random_signatures,
                               refit_exposures, simulate_catalog)
from nmfkit.signatures._decompose import _Fit, _solve_subsets

REF20 = random_signatures(20, random_state=0)


def sparse_catalog(ref, n_groups=12, per_group=4, n_active=3, mutations=(1000, 20000), seed=0):
    """Samples in groups; each group uses its own known subset of ``n_active`` signatures.

    Counts come from :func:`simulate_catalog` on the subset (concentration 5: every
    active signature carries a real share). Returns the catalog and the true exposures
    over all of ``ref``'s signatures (zero outside each group's subset).
    """
    rng = np.random.default_rng(seed)
    frames, truths = [], []
    for g in range(n_groups):
        active = np.sort(rng.choice(len(ref), n_active, replace=False))
        sim = simulate_catalog(ref.iloc[active], per_group, mutations=mutations, concentration=5.0,
                               random_state=int(rng.integers(1 << 31)))
        T = np.zeros((per_group, len(ref)))
        T[:, active] = sim.exposures
        frames.append(sim.X)
        truths.append(T)
    X = pd.concat(frames, ignore_index=True)
    X.index = [f"s{i}" for i in range(len(X))]
    return X, np.vstack(truths)


def scores(result, T):
    sel, truth = result.selected.to_numpy(), T > 0
    tp = (sel & truth).sum()
    l1 = np.abs(result.exposures.to_numpy() - T).sum() / T.sum()
    return tp / sel.sum(), tp / truth.sum(), (sel & ~truth).sum() / len(T), l1


@pytest.fixture(scope="module")
def sim20():
    return sparse_catalog(REF20)


def test_subset_nnls_is_exact():
    """The batched subset solver (rank-one updates + active set) equals scipy's nnls."""
    from scipy.optimize import nnls

    S = pd.concat([random_signatures(40, random_state=0),
                   random_signatures(20, concentration=2.0, random_state=1)]).to_numpy()
    rng = np.random.default_rng(0)
    X = rng.poisson(3000 * rng.dirichlet(np.full(60, 0.1), size=30) @ S).astype(float)
    fit = _Fit(X, S)
    base = np.zeros((30, 60), dtype=bool)
    for i in range(30):
        base[i, rng.choice(60, 15, replace=False)] = True
    warm = np.zeros(base.shape)
    for i in range(30):
        cols = np.flatnonzero(base[i])
        warm[i, cols] = nnls(S[cols].T, X[i])[0]
    for grow in (True, False):
        rows, j = np.repeat(np.arange(30), 60), np.tile(np.arange(60), 30)
        keep = ~base[rows, j] if grow else base[rows, j]
        rows, j = rows[keep], j[keep]
        masks = base[rows].copy()
        masks[np.arange(rows.size), j] = grow
        H = _solve_subsets(fit, rows, masks, warm=warm[rows], changed=j, grow=grow)
        assert (H >= 0).all() and not H[~masks].any()
        exact = np.zeros(H.shape)
        for p in range(rows.size):
            cols = np.flatnonzero(masks[p])
            exact[p, cols] = nnls(S[cols].T, X[rows[p]])[0]
        obj = ((X[rows] - H @ S) ** 2).sum(axis=1)
        best = ((X[rows] - exact @ S) ** 2).sum(axis=1)
        assert np.all(obj <= best * (1 + 1e-9) + 1e-9)


def test_selective_methods_recover_the_active_set(sim20):
    """add_remove and likelihood find the true signatures; NNLS adds many false positives.

    Measured (48 samples, 3 of 20 signatures active, 1,000-20,000 mutations):
    nnls precision 0.335 (6 false positives per sample), add_remove precision 1.000 /
    recall 1.000, likelihood 0.993 / 1.000; L1 exposure error 0.032, 0.018, 0.016.
    """
    X, T = sim20
    got = {m: scores(assign(X, REF20, method=m, n_bootstrap=0), T)
           for m in ("nnls", "add_remove", "likelihood")}
    for m, (prec, rec, fp, l1) in got.items():
        print(f"{m}: precision {prec:.3f} recall {rec:.3f} false pos./sample {fp:.2f} L1 {l1:.3f}")
    assert got["nnls"][1] == 1.0 and got["nnls"][0] < 0.5 and got["nnls"][2] > 3
    assert got["add_remove"][0] >= 0.97 and got["add_remove"][1] >= 0.9
    assert got["likelihood"][0] >= 0.95 and got["likelihood"][1] >= 0.97
    # exposures: mutations misattributed, relative to all mutations
    assert got["add_remove"][3] < 0.06 and got["likelihood"][3] < 0.04


def test_bootstrap_intervals_cover_the_truth(sim20):
    """Percentile intervals cover the true exposure of most active entries.

    The multinomial bootstrap is conditional on each sample's total, so the truth is the
    expected exposure scaled to the observed total. Measured coverage (95 % intervals,
    100 resamples, 24 samples, 72 active entries): add_remove 0.917, likelihood 0.944.
    """
    X, T = sim20
    X, T = X.iloc[::2], T[::2]
    T_obs = T * (X.sum(axis=1).to_numpy() / T.sum(axis=1))[:, None]
    for method, floor in (("add_remove", 0.85), ("likelihood", 0.85)):
        res = assign(X, REF20, method=method, n_bootstrap=100, random_state=1)
        active = T > 0
        inside = (res.lower.to_numpy() <= T_obs) & (T_obs <= res.upper.to_numpy())
        coverage = inside[active].mean()
        print(f"{method}: coverage {coverage:.3f}")
        assert coverage >= floor
        assert (res.lower.to_numpy() <= res.exposures.to_numpy() + 1e-6).mean() > 0.95
        assert np.all(res.lower.to_numpy() <= res.upper.to_numpy())


def test_default_method_numbers():
    """The table of assign()'s docstring: 86 COSMIC-like signatures, 4 active per sample."""
    ref = pd.concat([random_signatures(60, random_state=0),
                     random_signatures(26, concentration=2.0, random_state=1)])
    ref.index = [f"SBS{j + 1}" for j in range(86)]
    table = {}
    for label, mutations, methods in (("high", (1500, 70000), ("nnls", "add_remove", "likelihood")),
                                      ("low", (300, 3000), ("add_remove", "likelihood"))):
        for m in methods:
            acc = np.zeros(4)
            for seed in range(5):
                X, T = sparse_catalog(ref, n_groups=7, per_group=3, n_active=4, mutations=mutations,
                                      seed=seed)
                acc += scores(assign(X, ref, method=m, n_bootstrap=0), T)
            table[label, m] = acc / 5
            print(label, m, "precision %.3f recall %.3f false pos./sample %.2f L1 %.3f" % tuple(acc / 5))
    f1 = {key: 2 * p * r / (p + r) for key, (p, r, _, _) in table.items()}
    for label in ("high", "low"):  # the reason for the default: fewer false positives, higher F1
        assert table[label, "add_remove"][2] < table[label, "likelihood"][2]
        assert f1[label, "add_remove"] > f1[label, "likelihood"]
        assert table[label, "likelihood"][1] > table[label, "add_remove"][1]
    assert table["high", "nnls"][2] > 5 * table["high", "add_remove"][2]


def test_background_and_connected_groups():
    ref = random_signatures(12, random_state=3)
    ref.index = ["SBS1", "SBS2", "SBS13", "SBS5"] + [f"SBS{j}" for j in range(30, 38)]
    w = pd.Series({"SBS2": 0.95, "SBS13": 0.05, "SBS30": 0.5, "SBS1": 0.04})
    expected = (w.to_numpy()[:, None] * ref.loc[w.index].to_numpy()).sum(axis=0) * 20000
    X = pd.DataFrame(np.random.default_rng(0).poisson(expected)[None].astype(float), columns=ref.columns)
    plain = assign(X, ref, n_bootstrap=0, background=(), connected=()).selected.iloc[0]
    full = assign(X, ref, n_bootstrap=0).selected.iloc[0]
    # alone, SBS13 (4 %) and SBS1 (3 %) lower the error by less than add_penalty
    assert plain["SBS2"] and plain["SBS30"] and not plain["SBS13"] and not plain["SBS1"]
    # with the defaults SBS13 enters with SBS2, and background SBS1 is always fitted
    assert full["SBS2"] and full["SBS13"] and full["SBS1"] and full["SBS30"]
    # background SBS5 is in every fit but may get no mutations; nothing else enters
    assert not full[[c for c in ref.index if c not in set(w.index) | {"SBS5"}]].any()


def test_decompose_recovers_a_known_mixture_and_flags_a_novel_signature():
    ref = random_signatures(30, concentration=0.3, random_state=4)
    mix = 0.6 * ref.loc["sig3"] + 0.4 * ref.loc["sig17"]
    novel = np.random.default_rng(2).dirichlet(np.ones(96))
    denovo = pd.DataFrame([mix.to_numpy(), novel], index=["A", "B"], columns=ref.columns)
    out = decompose(denovo, ref)
    a = out.loc["A"]
    assert set(a["components"]) == {"sig3", "sig17"}
    weights = dict(zip(a["components"], a["weights"]))
    assert abs(weights["sig3"] - 0.6) < 0.05 and abs(weights["sig17"] - 0.4) < 0.05
    assert abs(sum(a["weights"]) - 1) < 1e-12
    assert a["cosine_after"] > 0.99 and a["cosine_after"] >= a["cosine_before"] and not a["novel"]
    assert a["best_match"] == "sig3" and a["description"].startswith("sig3 (0.6")
    b = out.loc["B"]
    assert b["novel"] and b["cosine_after"] < 0.8
    assert list(out.columns) == ["best_match", "cosine_before", "components", "weights",
                                 "cosine_after", "novel", "description"]


def test_decompose_bad_input_is_explained():
    ref = random_signatures(5, random_state=0)
    with pytest.raises(NMFInputError, match="min_cosine"):
        decompose(ref.iloc[:1], ref, min_cosine=-1)
    with pytest.raises(NMFInputError, match="column labels"):
        decompose(ref.iloc[:1].set_axis(range(96), axis=1), ref)
    with pytest.raises(NMFInputError, match="no mutations"):
        decompose(pd.concat([ref.iloc[:1], ref.iloc[1:2] * 0]), ref)


def test_decompose_keeps_a_reference_signature_whole():
    ref = random_signatures(15, random_state=5)
    out = decompose(ref.iloc[[4]] * 7.0, ref)
    assert out.iloc[0]["components"] == ["sig5"] and out.iloc[0]["cosine_after"] > 0.999999


def test_result_shape_repr_and_arrays(sim20):
    X, _ = sim20
    res = assign(X.to_numpy()[:5], REF20.to_numpy(), n_bootstrap=10, random_state=0)
    assert isinstance(res, AssignmentResult)
    assert res.exposures.shape == res.lower.shape == res.upper.shape == (5, 20)
    assert list(res.exposures.columns) == list(range(20))
    assert res.selected.dtypes.eq(bool).all() and (res.cosine > 0.95).all()
    assert (res.relative_error < 0.3).all() and res.method == "add_remove"
    assert res.params["n_bootstrap"] == 10 and res.params["seed"] == 0
    assert "add_remove" in repr(res) and "5 samples x 20 signatures" in repr(res)
    none = assign(X.iloc[:3], REF20, method="nnls", n_bootstrap=0)
    assert none.lower is None and none.upper is None


def test_likelihood_exposures_are_the_kl_refit_on_the_selected_set(sim20):
    X, _ = sim20
    lik = assign(X.iloc[:6], REF20, method="likelihood", n_bootstrap=0)
    # the KL (Poisson) fit conserves each sample's total
    np.testing.assert_allclose(lik.exposures.sum(axis=1), X.iloc[:6].sum(axis=1), rtol=1e-6)
    S = REF20.to_numpy() / REF20.to_numpy().sum(axis=1, keepdims=True)
    for i in range(6):
        sel = lik.selected.iloc[i].to_numpy()
        kl = refit_exposures(X.iloc[[i]].to_numpy(), S[sel], loss="kl", max_iter=5000, tol=1e-12)[0]
        np.testing.assert_allclose(lik.exposures.iloc[i].to_numpy()[sel], kl, rtol=1e-4,
                                   atol=1e-5 * kl.sum())


@pytest.mark.filterwarnings("error")
def test_duplicated_signature_does_not_break_the_search(sim20):
    X, T = sim20
    ref = pd.concat([REF20, REF20.iloc[[2]].set_axis(["copy_of_sig3"])])
    for method in ("add_remove", "likelihood"):
        res = assign(X.iloc[:12], ref, method=method, n_bootstrap=5, random_state=0)
        assert np.isfinite(res.exposures.to_numpy()).all() and (res.cosine > 0.99).all()
        # the two copies share sig3's mutations, never more than it has
        both = res.exposures[["sig3", "copy_of_sig3"]].sum(axis=1).to_numpy()
        assert np.all(np.abs(both - T[:12, 2]) <= 0.1 * T[:12].sum(axis=1))


def test_reproducible_from_random_state(sim20):
    X, _ = sim20
    X = X.iloc[:6]
    a = assign(X, REF20, n_bootstrap=30, random_state=7)
    b = assign(X, REF20, n_bootstrap=30, random_state=7)
    c = assign(X, REF20, n_bootstrap=30, random_state=8)
    pd.testing.assert_frame_equal(a.lower, b.lower)
    pd.testing.assert_frame_equal(a.upper, b.upper)
    pd.testing.assert_frame_equal(a.exposures, c.exposures)
    assert not a.upper.equals(c.upper)


def test_columns_are_aligned_by_label(sim20):
    X, _ = sim20
    X = X.iloc[:4]
    shuffled = X[list(reversed(X.columns))]
    pd.testing.assert_frame_equal(assign(X, REF20, n_bootstrap=0).exposures,
                                  assign(shuffled, REF20, n_bootstrap=0).exposures)


@pytest.mark.parametrize("change, match", [
    (lambda X, S: (X.iloc[:, :95], S), "95 columns|column labels"),
    (lambda X, S: (X.to_numpy()[:, :95], S.to_numpy()), r"shape \(k, 95\)"),
    (lambda X, S: (X - 1e6, S), "negative"),
    (lambda X, S: (X.where(X > 5), S), "NaN"),
    (lambda X, S: (X.set_axis([f"t{i}" for i in range(96)], axis=1), S), "column labels"),
    (lambda X, S: (X, S.where(S > 0.01)), "finite"),
    (lambda X, S: (X, S * 0), "all zero"),
    (lambda X, S: (pd.concat([X, X.iloc[:1] * 0]), S), "no mutations"),
    (lambda X, S: (X, S.set_axis(["a"] * 20, axis=0)), "duplicated"),
    (lambda X, S: (X / 7.0, S), "non-integer"),
])
def test_bad_input_is_explained(sim20, change, match):
    X, _ = sim20
    X2, S2 = change(X.iloc[:3], REF20)
    with pytest.raises(NMFInputError, match=match):
        assign(X2, S2, n_bootstrap=2)


@pytest.mark.parametrize("kwargs, match", [
    ({"method": "sigprofiler"}, "not known"),
    ({"n_bootstrap": -1}, "n_bootstrap"),
    ({"ci": 95}, "between 0 and 1"),
    ({"add_penalty": -0.1}, "add_penalty"),
])
def test_bad_options_are_explained(sim20, kwargs, match):
    X, _ = sim20
    with pytest.raises(NMFInputError, match=match):
        assign(X.iloc[:2], REF20, **kwargs)


@pytest.mark.slow
def test_bootstrap_timing_21_samples_86_signatures():
    """21 samples x 86 signatures x 100 resamples with the default method: seconds."""
    ref = pd.concat([random_signatures(60, random_state=0),
                     random_signatures(26, concentration=2.0, random_state=1)])
    ref.index = [f"SBS{j + 1}" for j in range(86)]
    X = simulate_catalog(ref.iloc[[0, 2, 60, 61, 70]], 21, mutations=(1500, 70000), concentration=0.3,
                         random_state=0).X
    start = time.perf_counter()
    assign(X, ref, n_bootstrap=100, random_state=0)
    elapsed = time.perf_counter() - start
    print(f"21 x 86 x 100 bootstrap (add_remove): {elapsed:.1f} s")
    assert elapsed < 60
