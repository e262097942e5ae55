"""memberships / cluster_labels take codes in every form the library hands out, labels kept."""

import numpy as np
import pandas as pd
import pytest

import nmfkit
from nmfkit.exceptions import NMFInputError
from nmfkit.models._membership import cluster_labels, memberships


def _blocks(seed=0):
    """Three planted groups of 20 samples, each using its own block of 10 features."""
    rng = np.random.default_rng(seed)
    H = np.kron(np.eye(3), np.ones((1, 10))) + 0.01
    y = np.repeat(np.arange(3), 20)
    W = np.eye(3)[y] * rng.uniform(1, 2, (60, 1)) + 0.02 * rng.random((60, 3))
    return W @ H, y


def _ari(a, b):
    from sklearn.metrics import adjusted_rand_score

    return adjusted_rand_score(a, b)


def test_result_estimator_array_and_frame_agree_and_recover_groups():
    X, y = _blocks()
    df = pd.DataFrame(X, index=[f"s{i}" for i in range(60)], columns=[f"f{j}" for j in range(30)])
    model = nmfkit.NMF(3, max_iter=300, random_state=0).fit(df)  # keeps array codes (result_.W)
    res = nmfkit.nmf(df, 3, max_iter=300, random_state=0)  # DataFrames in, DataFrames out
    assert isinstance(res.W, pd.DataFrame)
    from_array = cluster_labels(np.asarray(res.W))
    assert _ari(y, from_array) == 1.0  # planted groups recovered exactly
    np.testing.assert_array_equal(np.asarray(memberships(res)), memberships(np.asarray(res.W)))
    labels = cluster_labels(res)  # a DataFrame W: sample names kept, the same int labels
    assert isinstance(labels, pd.Series) and list(labels.index) == list(df.index)
    np.testing.assert_array_equal(labels.to_numpy(), from_array)
    assert _ari(y, labels.to_numpy()) == 1.0
    P = memberships(res)
    assert isinstance(P, pd.DataFrame) and list(P.columns) == ["nmf0", "nmf1", "nmf2"]
    assert list(P.index) == list(df.index)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert _ari(y, cluster_labels(model)) == 1.0
    np.testing.assert_allclose(memberships(model), memberships(P.to_numpy()), rtol=1e-6)


def test_unfitted_estimator_is_refused_with_the_fix():
    with pytest.raises(NMFInputError, match=r"not fitted.*fit\(X\)"):
        memberships(nmfkit.NMF(3))
    with pytest.raises(NMFInputError, match="not fitted"):
        cluster_labels(nmfkit.NMF(3))
