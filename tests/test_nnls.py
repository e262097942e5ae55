"""Exact NNLS by block principal pivoting against SciPy's Lawson-Hanson solver."""

import numpy as np
import pytest
import scipy.optimize

from nmfkit.solvers import nnls_bpp


@pytest.mark.parametrize("k,r,seed", [(1, 5, 0), (5, 60, 1), (20, 300, 2), (40, 100, 3)])
def test_bpp_equals_lawson_hanson(k, r, seed):
    rng = np.random.default_rng(seed)
    C = rng.random((120, k))
    Y = rng.standard_normal((120, r)) + 0.3
    X = nnls_bpp(C.T @ C, C.T @ Y)
    ref = np.stack([scipy.optimize.nnls(C, Y[:, i])[0] for i in range(r)], axis=1)
    np.testing.assert_allclose(X, ref, atol=1e-9)
    assert (X >= 0).all()


def test_bpp_kkt_on_ill_conditioned_gram():
    rng = np.random.default_rng(0)
    C = rng.random((50, 8))
    C[:, 7] = C[:, 6] + 1e-7 * rng.random(50)  # nearly collinear columns
    Y = rng.random((50, 40))
    G, B = C.T @ C, C.T @ Y
    X = nnls_bpp(G, B)
    grad = G @ X - B
    scale = np.abs(B).max()
    assert (X >= 0).all()
    assert (grad > -1e-6 * scale).all()  # dual feasibility
    assert np.abs(grad[X > 0]).max() < 1e-6 * scale  # complementarity
