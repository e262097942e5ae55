"""docs/architecture.md's worked example (a model in one file) runs and recovers its truth."""

import re
from pathlib import Path

import numpy as np
import scipy.sparse as sp

DOC = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"


def _example_namespace():
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("## Worked example"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    ns = {}
    exec(compile(code, str(DOC), "exec"), ns)
    return ns


def _planted(seed=0):
    rng = np.random.default_rng(seed)
    H = rng.gamma(0.3, 1.0, (3, 40))
    X1 = rng.gamma(1.0, 1.0, (80, 3)) @ H
    X2 = 10.0 * rng.gamma(1.0, 1.0, (60, 3)) @ H
    return X1, X2, H


def _match(H_fit, H_true):
    U = H_fit / np.linalg.norm(H_fit, axis=1, keepdims=True)
    V = H_true / np.linalg.norm(H_true, axis=1, keepdims=True)
    return (U @ V.T).max(axis=0).min()


def test_joint_nmf_example_recovers_shared_programs():
    JointNMF = _example_namespace()["JointNMF"]
    X1, X2, H = _planted()
    for loss in ("frobenius", "kl"):
        m = JointNMF(3, weight=0.5, loss=loss, max_iter=500, tol=1e-9, random_state=0).fit(X1, X2)
        assert _match(m.components_, H) > 0.99, loss
        hist = np.asarray(m.loss_history_)
        assert np.all(np.diff(hist) <= 1e-9 * hist[0])  # the engine never raises the objective
        np.testing.assert_allclose(m.components_.sum(axis=1), 1.0)  # the one gauge
        assert m.W1_.shape == (80, 3) and m.W2_.shape == (60, 3)


def test_joint_nmf_example_takes_sparse_input():
    JointNMF = _example_namespace()["JointNMF"]
    X1, X2, _ = _planted(1)
    dense = JointNMF(3, loss="kl", max_iter=50, tol=0, random_state=0).fit(X1, X2)
    sparse = JointNMF(3, loss="kl", max_iter=50, tol=0, random_state=0).fit(
        sp.csr_matrix(X1), sp.csr_matrix(X2))
    np.testing.assert_allclose(sparse.components_, dense.components_, rtol=1e-8, atol=1e-12)
