"""SupervisedNMF (label-guided, semi-supervised NMF): estimator checks, label conventions,
inputs, the engine declaration, and the cell-type science test on PBMC 68k."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.utils.estimator_checks import parametrize_with_checks

from nmfkit._result import NMFResult
from nmfkit.exceptions import NMFInputError
from nmfkit.models.supervised import SupervisedNMF, encode_labels, supervised_nmf

pytestmark = pytest.mark.filterwarnings("ignore::nmfkit.exceptions.ConvergenceWarning")

ESTIMATORS = [
    SupervisedNMF(n_components=2, max_iter=50, random_state=0),  # Frobenius, HALS
    SupervisedNMF(n_components=2, loss="kl", label_loss="kl", max_iter=50, random_state=0),  # MU
]

# scikit-learn's classifier checks fit 2-feature blobs (shifted to be non-negative) with
# n_components=2: the model's classifier is argmax(w B) with w >= 0, B >= 0 and no intercept,
# a non-negative linear rule on 2 NMF codes, which cannot reach the check's 0.83 accuracy on
# three blobs. That is the model, not a bug (on real data see test_pbmc_cell_types).
_WEAK = ("argmax of non-negative codes times a non-negative label factor (no intercept) on "
         "2-feature blobs with k=2 is below the check's fixed accuracy bar")

# y == -1 marks an unlabelled sample (scikit-learn's semi-supervised convention,
# sklearn.semi_supervised); the check uses -1 as a class of a binary problem.
_MINUS_ONE = "y == -1 means unlabelled (sklearn.semi_supervised's convention), not a class"


def _expected_failed_checks(estimator):
    return {"check_classifiers_train": _WEAK, "check_classifiers_classes": _MINUS_ONE}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def _planted(seed=0, n_per=30, labelled=0.2):
    """Three classes, each an own sparse program, plus noise; ``labelled`` of y given."""
    rng = np.random.default_rng(seed)
    H = rng.random((3, 30)) * (rng.random((3, 30)) < 0.3) + 0.02
    y = np.repeat([0, 1, 2], n_per)
    X = np.eye(3)[y] @ H * rng.uniform(0.5, 1.5, (y.size, 1)) + 0.1 * rng.random((y.size, 30))
    y_part = np.where(rng.random(y.size) < labelled, y, -1)
    y_part[[0, n_per, 2 * n_per]] = [0, 1, 2]  # every class labelled at least once
    return X, y, y_part


@pytest.mark.parametrize("loss,label_loss", [("frobenius", "frobenius"), ("kl", "frobenius"),
                                             ("kl", "kl")])
def test_planted_classes_recovered(loss, label_loss):
    X, y, y_part = _planted()
    m = SupervisedNMF(3, loss=loss, label_loss=label_loss, random_state=0, max_iter=300)
    m.fit(X, y_part)
    assert list(m.classes_) == [0, 1, 2]
    assert m.label_components_.shape == (3, 3) and m.components_.shape == (3, 30)
    assert m.solver_ == ("hals" if loss == label_loss == "frobenius" else "mu")
    acc = m.score(X, y)
    print(f"{loss}/{label_loss}: accuracy {acc:.3f}")
    assert acc > 0.95
    P = m.predict_proba(X)
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    np.testing.assert_array_equal(m.classes_[P.argmax(axis=1)], m.predict(X))
    h = np.asarray(m.loss_history_)
    assert np.all(np.diff(h) <= 1e-9 * np.abs(h[:-1]))  # the engine's monotone descent


def test_supervision_changes_the_fit():
    """The reference's pitfall (an ssnmf revision silently ignored labels): labels must
    change the factors, and more weight must lower the label term's share."""
    X, _, y_part = _planted(1)
    r0 = supervised_nmf(X, y_part, 3, label_weight=0.0, random_state=0, tol=0)
    r1 = supervised_nmf(X, y_part, 3, label_weight=10.0, random_state=0, tol=0)
    assert not np.allclose(r0.H, r1.H)
    assert r1.info["label_divergence"] < r0.info["label_divergence"]
    assert r1.info["data_divergence"] > r0.info["data_divergence"]


def test_function_form_and_result():
    X, _, y_part = _planted()
    res = supervised_nmf(X, y_part, 3, random_state=0)
    m = SupervisedNMF(3, random_state=0).fit(X, y_part)
    assert isinstance(res, NMFResult)
    np.testing.assert_allclose(res.H, m.components_)
    np.testing.assert_allclose(res.H.sum(axis=1), 1.0)
    assert set(res.info) >= {"label_components_joint", "classes", "label_weight",
                             "data_divergence", "label_divergence"}
    assert res.loss == pytest.approx(res.info["data_divergence"]
                                     + res.info["label_weight"] * res.info["label_divergence"])
    np.testing.assert_allclose(m.fit_transform(X, y_part), m.transform(X))


def test_label_conventions():
    classes, idx = encode_labels(np.array([2.0, np.nan, 5.0, -1.0, 2.0]), 5)
    assert list(classes) == [2.0, 5.0] and list(idx) == [0, -1, 1, -1, 0]
    classes, idx = encode_labels(np.array(["b", None, "a"], dtype=object), 3)
    assert list(classes) == ["a", "b"] and list(idx) == [1, -1, 0]
    with pytest.raises(NMFInputError, match="no labelled sample"):
        encode_labels([-1, -1], 2)
    with pytest.raises(NMFInputError, match="one label per sample"):
        encode_labels([0, 1], 3)
    with pytest.raises(ValueError, match="Unknown label type"):
        encode_labels([0.5, 1.5, 2.25], 3)
    X, y, _ = _planted()
    names = np.array(["a", "b", "c"], dtype=object)[y]
    names[::2] = None
    m = SupervisedNMF(3, random_state=0).fit(X, names)
    assert list(m.classes_) == ["a", "b", "c"] and m.score(X, np.array(["a", "b", "c"])[y]) > 0.9


def test_bad_parameters():
    X, _, y_part = _planted()
    with pytest.raises(NMFInputError, match="hals"):
        SupervisedNMF(3, label_loss="kl", solver="hals").fit(X, y_part)
    with pytest.raises(NMFInputError):
        SupervisedNMF(3, loss="is").fit(X, y_part)
    with pytest.raises(NMFInputError, match="label_weight"):
        SupervisedNMF(3, label_weight=-1).fit(X, y_part)
    with pytest.raises(NMFInputError, match="needs labels"):
        SupervisedNMF(3).fit_transform(X)


def test_sparse_and_torch_inputs_agree():
    X, y, y_part = _planted()
    dense = SupervisedNMF(3, random_state=0, tol=0, max_iter=20).fit(X, y_part)
    sparse = SupervisedNMF(3, random_state=0, tol=0, max_iter=20).fit(sp.csr_matrix(X), y_part)
    np.testing.assert_allclose(sparse.components_, dense.components_, rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(sparse.predict(sp.csr_matrix(X)), dense.predict(X))
    torch = pytest.importorskip("torch")
    t = SupervisedNMF(3, random_state=0, tol=0, max_iter=20).fit(torch.from_numpy(X), y_part)
    assert isinstance(t.components_, torch.Tensor)
    np.testing.assert_allclose(t.components_.numpy(), dense.components_, rtol=1e-5, atol=1e-8)
    np.testing.assert_array_equal(t.predict(torch.from_numpy(X)), dense.predict(X))


def _pbmc():
    from nmfkit.datasets import load_pbmc68k

    d = load_pbmc68k()
    X = d.X.tocsr().astype(np.float64)
    lib = np.asarray(X.sum(axis=1)).ravel()
    Xn = sp.csr_matrix(sp.diags(1e4 / lib) @ X)  # library size 10^4, then log1p
    Xn.data = np.log1p(Xn.data)
    return Xn, np.asarray(d.obs["bulk_labels"].cat.codes)


def _pbmc_accuracies(X, y, k, label_weight, seeds=range(3)):
    """Accuracy on the 90 % unlabelled cells per seed: SupervisedNMF, its label_weight=0
    ablation, and the peer (NMF with the same k and seed + LogisticRegression)."""
    from sklearn.linear_model import LogisticRegression

    from nmfkit.models.nmf import NMF

    ours, ablation, peer = [], [], []
    for seed in seeds:
        labelled = np.zeros(y.size, dtype=bool)
        labelled[np.random.default_rng(seed).choice(y.size, round(0.1 * y.size),
                                                    replace=False)] = True
        test, y_part = ~labelled, np.where(labelled, y, -1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            W = NMF(k, random_state=seed, max_iter=1000).fit_transform(X)
            lr = LogisticRegression(max_iter=2000).fit(W[labelled], y[labelled])
        peer.append(float((lr.predict(W[test]) == y[test]).mean()))
        for weight, out in ((label_weight, ours), (0.0, ablation)):
            m = SupervisedNMF(k, label_weight=weight, random_state=seed, max_iter=1000)
            out.append(m.fit(X, y_part).score(X[test], y[test]))
    print(f"k={k}, accuracy on the other 90% (seeds {list(seeds)}):")
    for name, acc in ((f"SupervisedNMF(label_weight={label_weight})", ours),
                      ("SupervisedNMF(label_weight=0) ablation", ablation),
                      ("NMF + LogisticRegression (peer)", peer)):
        print(f"  {name:<40} {np.round(acc, 3)} mean {np.mean(acc):.3f}")
    return np.mean(ours), np.mean(ablation), np.mean(peer)


@pytest.mark.slow
def test_pbmc_cell_types():
    """PBMC 68k (700 cells, 10 cell types, log1p of library-size-normalised counts), a
    seeded 10 % of the labels given (70 cells): accuracy on the other 90 % predicted from
    the codes, SupervisedNMF (k=10, default label_weight) against unsupervised NMF (same
    k, same seed) + LogisticRegression trained on the same 10 % of codes; three seeds,
    means compared. The ablation ``label_weight=0`` (NMF, then the label factor fitted on
    its codes) is printed too: at k=10 it is as good as the supervised fit (measured
    0.734 vs 0.732), so the gain over the peer there comes from the label factor's
    read-out, not from the labels shaping the codes. At k=6 (fewer components than
    classes) the labels do shape them (label_weight=1; printed, not asserted)."""
    X, y = _pbmc()
    print("\nPBMC68k, 10% labelled")
    ours, _, peer = _pbmc_accuracies(X, y, 10, SupervisedNMF().label_weight)
    assert ours >= peer
    _pbmc_accuracies(X, y, 6, 1.0)
