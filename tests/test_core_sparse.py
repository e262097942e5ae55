"""Sparse input stays sparse: KL / β work at the non-zeros, never on a dense m × n matrix."""

import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import nmfkit
from nmfkit.backends import get_namespace
from nmfkit.backends._sparse import SparseInfo, sddmm
from nmfkit.datasets import load_pbmc68k


def test_sddmm_equals_dense_product_at_nonzeros():
    rng = np.random.default_rng(0)
    X = sp.random(50, 40, density=0.2, random_state=0, format="csr")
    A, B = rng.random((50, 3)), rng.random((3, 40))
    info = SparseInfo(X)
    rows, cols = X.nonzero()
    order = np.lexsort((cols, rows))
    np.testing.assert_allclose(sddmm(info, A, B), (A @ B)[rows[order], cols[order]])


@pytest.mark.parametrize("loss", ["kl", "frobenius"])
def test_sparse_fit_memory_is_far_below_a_dense_matrix(loss):
    m, n, k = 10_000, 4_000, 10
    X = sp.random(m, n, density=0.005, random_state=0, format="csr", dtype=np.float64)
    X.data = np.ceil(X.data * 5)
    dense_bytes = m * n * 8  # 320 MB
    tracemalloc.start()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = nmfkit.nmf(X, k, loss=loss, solver="mu", random_state=0, max_iter=3, tol=0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert np.isfinite(res.loss)
    assert peak < dense_bytes / 10, f"peak {peak / 1e6:.0f} MB"


def test_kl_on_sparse_counts_decreases_and_keeps_sparsity():
    X = load_pbmc68k().X
    assert sp.issparse(X)
    res = nmfkit.nmf(X, 8, loss="kl", random_state=0, max_iter=60, tol=0)
    hist = np.array(res.loss_history)
    assert np.all(np.diff(hist) <= 1e-9 * hist[:-1])
    assert hist[-1] < 0.8 * hist[0]
    # the sparse-path loss equals the dense definition at the same factors
    from nmfkit.losses import Target, beta_divergence

    dense = beta_divergence(Target(X.toarray(), None, get_namespace()), res.W, res.H, 1.0)
    assert res.info["divergence"] == pytest.approx(dense, rel=1e-9)
