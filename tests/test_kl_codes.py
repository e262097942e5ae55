"""The exact KL codes (``solvers.kl_codes``): KKT conditions, objective, sparse, masks, dtypes.

(It is the KL ``transform`` (``models._core.project``); tests/test_kl_transform.py checks
that path.)

For fixed ``H`` the codes minimise ``Σ M ⊙ [WH − X log WH]`` over ``W >= 0``. At the
optimum the gradient ``G = (M ⊙ (1 − X / WH)) Hᵀ`` satisfies ``G >= 0`` and
``G ⊙ W = 0``. Both are checked relative to ``C = M Hᵀ`` (the gradient's positive part,
so ``G / C`` is dimensionless): ``G / C >= −TOL`` and ``|G / C| ⊙ W <= TOL · max_j W``
per row, with ``TOL = 1e-8`` in float64 (the solver stops at 1e-10) and ``1e-4`` for
float32 codes (rounding W to float32 moves ``G / C`` by ~1e-7 times the conditioning).
"""

import numpy as np
import pytest
import scipy.sparse as sp

from nmfkit import NMF
from nmfkit.backends import get_namespace
from nmfkit.datasets import load_pbmc68k
from nmfkit.exceptions import NMFInputError
from nmfkit.losses import Penalty, Target, beta_divergence
from nmfkit.models._core import project, run_nmf
from nmfkit.solvers import LoopOptions
from nmfkit.solvers.kl_codes import kl_codes

TOL = 1e-8
pytestmark = pytest.mark.filterwarnings("ignore::nmfkit.exceptions.ConvergenceWarning")


def _planted(seed=0, m=200, n=60, k=5, scale=40.0):
    rng = np.random.default_rng(seed)
    W = rng.gamma(0.5, 1.0, (m, k))
    H = rng.gamma(0.3, 1.0, (k, n))
    H /= H.sum(axis=1, keepdims=True)
    X = rng.poisson(scale * W @ H).astype(np.float64)
    return X, H


def _pbmc_basis(k=8):
    X = load_pbmc68k().X.astype(np.float64)
    H = NMF(k, loss="kl", max_iter=60, random_state=0).fit(X).components_
    return X, H


def _kkt(X, W, H, M=None, tol=TOL):
    Xd = X.toarray() if sp.issparse(X) else np.asarray(X, dtype=np.float64)
    W, H = W.astype(np.float64), H.astype(np.float64)
    Mm = np.ones_like(Xd) if M is None else M
    Y = W @ H
    pos = Mm * Xd > 0
    assert (Y[pos] > 0).all()
    ratio = np.divide(Mm * Xd, Y, out=np.zeros_like(Xd), where=pos)
    C = Mm @ H.T
    G = C - ratio @ H.T
    Gs = G / np.maximum(C, 1e-300)
    assert (W >= 0).all()
    assert Gs.min() >= -tol
    scale = np.maximum(W.max(axis=1, keepdims=True), 1e-300)
    assert (np.abs(Gs) * W).max() <= tol * scale.max()
    assert (np.abs(Gs) * W / scale).max() <= tol


def _objective(X, W, H, M=None):
    target = Target(X, M, get_namespace(X))
    return float(beta_divergence(target, W, H, 1.0))


def _old_project(X, H, M=None):
    """The iterative KL projection ``transform`` ran before (MU from the clamped NNLS start)."""
    target = Target(X, M, get_namespace(X))
    W = project(target, H, beta=2.0, penalty=Penalty())
    W = np.maximum(W, max(float(W.sum()) / W.size, 1e-12) * 1e-2)
    opts = LoopOptions(max_iter=500, tol=1e-6, loss_every=10, warn=False, desc="transform")
    loop, _ = run_nmf(target, [W], [H], beta=1.0, solver="mu", penalty=Penalty(), options=opts,
                      update_H=False)
    return loop.state["W"][0]


def test_kkt_planted_poisson_and_beats_iterative():
    X, H = _planted()
    W = kl_codes(X, H)
    _kkt(X, W, H)
    assert _objective(X, W, H) <= _objective(X, _old_project(X, H), H)


def test_kkt_pbmc_sparse_equals_dense():
    X, H = _pbmc_basis()
    W = kl_codes(X, H)
    _kkt(X, W, H)
    Wd = kl_codes(X.toarray(), H)
    np.testing.assert_allclose(Wd, W, rtol=1e-6, atol=1e-8 * W.max())
    assert _objective(X, W, H) <= _objective(X, _old_project(X, H), H)


def test_masked_rows_nan_and_weights():
    X, H = _planted(seed=1)
    Xn = X.copy()
    rng = np.random.default_rng(3)
    Xn[rng.random(X.shape) < 0.2] = np.nan
    Xn[5] = np.nan  # a fully missing row: codes 0
    model = NMF(5, loss="kl", random_state=0, max_iter=100).fit(Xn)
    M = (~np.isnan(Xn)).astype(float)
    W = kl_codes(np.nan_to_num(Xn), model.components_, M=M)
    _kkt(np.nan_to_num(Xn), W, model.components_, M=M)
    assert np.all(W[5] == 0)
    # the estimator's transform (the same exact codes from the NNLS start): equal to round-off
    Wt = model.transform(Xn)
    Xz = np.nan_to_num(Xn)
    obj, obj_t = _objective(Xz, W, model.components_, M), _objective(Xz, Wt, model.components_, M)
    assert abs(obj - obj_t) <= 1e-12 * obj
    assert obj <= _objective(Xz, _old_project(Xz, model.components_, M), model.components_, M)


def test_float32_and_penalties():
    X, H = _planted(seed=2)
    W32 = kl_codes(X.astype(np.float32), H.astype(np.float32))
    assert W32.dtype == np.float32
    _kkt(X, W32, H, tol=1e-4)
    Wp = kl_codes(X, H, l1=0.5, l2=0.1)
    W = kl_codes(X, H)
    assert Wp.sum() < W.sum()  # shrinkage
    # KKT with penalties: G + l1 + l2 W
    Y = Wp @ H
    G = H.sum(axis=1) - np.divide(X, Y, out=np.zeros_like(X), where=X > 0) @ H.T + 0.5 + 0.1 * Wp
    assert G.min() >= -TOL and (np.abs(G) * Wp).max() <= TOL * Wp.max()


def test_zero_rows_and_single_entries():
    X, H = _planted(seed=4, m=30)
    X[0] = 0.0
    X[1] = 0.0
    X[1, 3] = 7.0  # one count: all mass on the best component for feature 3
    W = kl_codes(sp.csr_matrix(X), H)
    assert np.all(W[0] == 0)
    _kkt(X, W, H)
    assert np.isclose((W[1] @ H[:, 3]) / (W[1] @ H.sum(axis=1)) * 7.0, W[1] @ H[:, 3], rtol=1e-6)


def test_errors_name_the_argument():
    X, H = _planted()
    with pytest.raises(NMFInputError, match="H has shape"):
        kl_codes(X, H[:, :-1])
    with pytest.raises(NMFInputError, match="W0 has shape"):
        kl_codes(X, H, W0=np.ones((3, 5)))
    with pytest.raises(NMFInputError, match="negative"):
        kl_codes(X, -H)
    with pytest.raises(NMFInputError, match="X has negative"):
        kl_codes(-X, H)
    Xn = X.copy()
    Xn[0, 0] = np.nan
    M = np.ones_like(X)
    M[0, 0] = 0.0
    np.testing.assert_array_equal(kl_codes(Xn, H, M=M), kl_codes(np.nan_to_num(Xn), H, M=M))


def test_curvatures_hundreds_of_decades_apart():
    # rows with one or two counts on a feature where all but one component is ~0 (modelled on
    # a mouse10k row that once stalled): the Newton system is rank one and badly scaled
    X, H = _planted(seed=6, m=40, k=10)
    col = [3.4e-33, 1.4e-24, 0.42, 1.2e-44, 7.0e-38, 1.3e-29, 2.5e-50, 1.2e-16, 4.4e-25, 2.9e-11]
    H[:, 0] = col
    H[:, 1:] *= (1.0 - H[:, :1]) / H[:, 1:].sum(axis=1, keepdims=True)
    X[:10] = 0.0
    X[:10, 0] = 1.0
    X[5:10, 1] = 1.0
    W = kl_codes(sp.csr_matrix(X), H)
    _kkt(X, W, H)
    for i in range(10):  # one row at a time too (its own block)
        _kkt(X[i:i + 1], kl_codes(X[i:i + 1], H), H)
