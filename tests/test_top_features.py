"""top_features: weight and distinctiveness rankings; stop words on raw newsgroup counts."""

from collections import Counter

import numpy as np
import pandas as pd
import pytest

import nmfkit
from nmfkit._inspect import top_features
from nmfkit.exceptions import NMFInputError

COLUMNS = ["component", "by", "rank", "feature", "weight", "share", "lift", "relevance"]


def _lists(table, by):
    part = table[table["by"] == by].sort_values(["component", "rank"])
    return part.groupby("component", sort=False)["feature"].apply(list).to_dict()


def test_table_values_and_tiny_features():
    # "the" is large everywhere; "rare" is tiny but only in nmf0 (the largest possible lift, k)
    H = np.array([[50.0, 8.0, 0.0, 1e-6, 1.0],
                  [50.0, 0.5, 9.0, 0.0, 1.0]])
    names = ["the", "ball", "vote", "rare", "misc"]
    t = top_features(H, n=3, feature_names=names)
    assert list(t.columns) == COLUMNS
    assert _lists(t, "weight") == {"nmf0": ["the", "ball", "misc"], "nmf1": ["the", "vote", "misc"]}
    assert _lists(t, "lift")["nmf0"][0] == "ball" and _lists(t, "lift")["nmf1"][0] == "vote"
    assert "rare" not in set(t["feature"])  # lift alone (2.0, the maximum) would rank it first
    row = t[(t.by == "weight") & (t.component == "nmf0") & (t.feature == "ball")].iloc[0]
    assert row["weight"] == 8.0 and row["share"] == pytest.approx(8.0 / (59.0 + 1e-6), rel=1e-12)
    assert row["lift"] == pytest.approx(8.0 / 4.25, rel=1e-12)
    assert row["relevance"] == pytest.approx(0.2 * np.log(row["share"]) + 0.8 * np.log(row["lift"]))
    # λ = 1 is the ranking by weight
    t1 = top_features(H, n=3, feature_names=names, by="lift", relevance_lambda=1.0)
    assert _lists(t1, "lift") == _lists(t, "weight")


def test_inputs_estimator_result_frame_and_saved_result(tmp_path):
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.random((30, 6)), columns=list("abcdef"))
    model = nmfkit.NMF(2, max_iter=50, random_state=0).fit(X)
    from_model = top_features(model, n=3)
    assert set(from_model["feature"]) <= set("abcdef")
    assert set(from_model["component"]) == {"nmf0", "nmf1"}
    res = nmfkit.nmf(X, 2, max_iter=50, random_state=0)
    pd.testing.assert_frame_equal(top_features(res, n=3), from_model)
    pd.testing.assert_frame_equal(top_features(res.H, n=3), from_model)
    pd.testing.assert_frame_equal(top_features(np.asarray(res.H), n=3, feature_names=list("abcdef")),
                                  from_model)
    # a result saved with arrays and names (what `nmfkit fit` writes)
    plain = nmfkit.nmf(X.to_numpy(), 2, max_iter=50, random_state=0)
    nmfkit.io.save_result(plain, tmp_path / "r.npz", col_names=list("abcdef"))
    pd.testing.assert_frame_equal(top_features(nmfkit.io.load_result(tmp_path / "r.npz"), n=3),
                                  from_model)


def test_bad_input_names_the_fix():
    H = np.ones((2, 4))
    with pytest.raises(NMFInputError, match="n=0.*positive integer"):
        top_features(H, n=0)
    with pytest.raises(NMFInputError, match="feature_names has 3 names but H has 4 features"):
        top_features(H, feature_names=["a", "b", "c"])
    with pytest.raises(NMFInputError, match="not fitted.*fit"):
        top_features(nmfkit.NMF(2))
    with pytest.raises(NMFInputError, match="by="):
        top_features(H, by="size")
    with pytest.raises(NMFInputError, match=">= 0"):
        top_features(-H)
    with pytest.raises(NMFInputError, match="relevance_lambda"):
        top_features(H, relevance_lambda=2)


def test_newsgroups_stop_words_top_by_weight_not_by_distinctiveness():
    """KL NMF on raw counts: 'the, of, and' top every topic by weight, none by relevance."""
    from scipy.optimize import linear_sum_assignment

    from nmfkit.datasets import load_newsgroups10

    data = load_newsgroups10()
    rng = np.random.default_rng(0)
    docs = np.sort(rng.choice(data.X.shape[0], 2000, replace=False))
    X = data.X[docs]
    keep = np.asarray((X > 0).sum(axis=0)).ravel() >= 5  # words in >= 5 of the documents
    X, terms = X[:, keep], np.asarray(data.var.index)[keep]
    groups = data.obs["group"].to_numpy()[docs]
    res = nmfkit.nmf(X, 10, loss="kl", max_iter=150, tol=1e-5, random_state=0)
    table = top_features(res, n=10, feature_names=terms)
    by_weight, by_lift = _lists(table, "weight"), _lists(table, "lift")
    pd.set_option("display.width", 200)
    for name, lists in (("weight", by_weight), ("distinctiveness", by_lift)):
        print(f"\ntop 10 words by {name}:\n{pd.DataFrame(lists).to_string()}")

    common = ("the", "to", "of", "and", "in")
    n_weight = sum(any(w in L for w in common) for L in by_weight.values())
    n_lift = sum(any(w in L for w in common) for L in by_lift.values())
    with_the = sum("the" in L for L in by_weight.values()), sum("the" in L for L in by_lift.values())
    print(f"topics with one of {common} in their top 10: by weight {n_weight}/10, by "
          f"distinctiveness {n_lift}/10; with 'the': {with_the[0]} vs {with_the[1]}")
    assert n_weight >= 9 and with_the[0] >= 8
    assert n_lift <= 1 and with_the[1] == 0

    # each topic matched to a newsgroup: its distinctive words are its own
    labels = np.asarray(nmfkit.cluster_labels(res))
    table_tg = pd.crosstab(labels, groups)
    rows, cols = linear_sum_assignment(-table_tg.to_numpy())
    agreement = table_tg.to_numpy()[rows, cols].sum() / len(docs)
    shared = Counter(w for L in by_lift.values() for w in L)
    per_topic = {f"nmf{r}→{table_tg.columns[c]}": sum(shared[w] > 1 for w in by_lift[f"nmf{r}"])
                 for r, c in zip(rows, cols)}
    shared_w = Counter(w for L in by_weight.values() for w in L)
    mean_w = np.mean([sum(shared_w[w] > 1 for w in L) for L in by_weight.values()])
    print(f"documents in their topic's matched group: {agreement:.3f}")
    print(f"words of each top-10 shared with another topic's (distinctiveness): {per_topic}; "
          f"by weight, mean {mean_w:.1f}")
    assert agreement > 0.4
    assert max(per_topic.values()) <= 2 and mean_w >= 5
