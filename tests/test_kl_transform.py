"""``NMF.transform`` under the KL loss is the exact KL codes (``solvers.kl_codes``).

For fixed ``H`` the codes minimise ``Σ M ⊙ [WH − X log WH]`` over ``W >= 0``. At the
optimum the gradient ``G = C − (M ⊙ X / WH) Hᵀ`` (``C = M Hᵀ``) satisfies the KKT
conditions ``G >= 0`` where ``W = 0`` and ``G = 0`` where ``W > 0``. They are checked
scaled by ``C`` (``Ĝ = G / C`` is dimensionless): ``Ĝ >= −TOL`` everywhere and
``|Ĝ| ⊙ W <= TOL · max_j W`` per row, with ``TOL = 1e-8`` in float64 (the solver stops
at 1e-10) and ``1e-4`` for float32 codes (rounding W to float32 moves ``Ĝ`` by ~1e-7
times the conditioning). Features with an all-zero column of ``H`` are left out of the
objective (their term is infinite for every code), so they are left out of the check.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.decomposition import non_negative_factorization

from nmfkit import NMF, nmf
from nmfkit.backends import get_namespace
from nmfkit.datasets import load_pbmc68k
from nmfkit.losses import LossSpec, Target, beta_divergence
from nmfkit.models._core import has_exact_projection
from nmfkit.solvers.kl_codes import kl_codes

TOL = 1e-8
pytestmark = pytest.mark.filterwarnings("ignore::nmfkit.exceptions.ConvergenceWarning")


def _planted(seed=0, m=200, n=60, k=5, scale=40.0):
    rng = np.random.default_rng(seed)
    W = rng.gamma(0.5, 1.0, (m, k))
    H = rng.gamma(0.3, 1.0, (k, n))
    H /= H.sum(axis=1, keepdims=True)
    return rng.poisson(scale * W @ H).astype(np.float64)


def kkt_residual(X, W, H, M=None):
    """``(min Ĝ, max |Ĝ| ⊙ W / max_j W)``: the two KKT violations, scaled."""
    Xd = X.toarray() if sp.issparse(X) else np.asarray(X, dtype=np.float64)
    W, H = np.asarray(W, dtype=np.float64), np.asarray(H, dtype=np.float64)
    Mm = np.ones_like(Xd) if M is None else np.asarray(M, dtype=np.float64)
    Mm = Mm * (H > 0).any(axis=0)  # unreachable features are out of the objective
    Xd = np.where(Mm > 0, Xd, 0.0)
    Y = W @ H
    pos = Mm * Xd > 0
    assert (Y[pos] > 0).all()
    ratio = np.divide(Mm * Xd, Y, out=np.zeros_like(Xd), where=pos)
    C = Mm @ H.T
    Gs = (C - ratio @ H.T) / np.maximum(C, 1e-300)
    scale = np.maximum(W.max(axis=1, keepdims=True), 1e-300)
    return float(Gs.min()), float((np.abs(Gs) * W / scale).max())


def assert_kkt(X, W, H, M=None, tol=TOL):
    assert (np.asarray(W) >= 0).all()
    low, comp = kkt_residual(X, W, H, M)
    assert low >= -tol and comp <= tol, (low, comp)


def _objective(X, W, H, M=None):
    return float(beta_divergence(Target(X, M, get_namespace(X)), W, H, 1.0))


def _sklearn_codes(X, H):
    """scikit-learn's KL transform: multiplicative updates with H fixed (its defaults)."""
    W, _, _ = non_negative_factorization(X, H=H, n_components=H.shape[0], init="custom",
                                         update_H=False, solver="mu",
                                         beta_loss="kullback-leibler", max_iter=200)
    return W


def test_transform_kkt_dense_sparse_float32_and_beats_multiplicative():
    X = _planted()
    model = NMF(5, loss="kl", max_iter=100, random_state=0).fit(X)
    H = model.components_
    W = model.transform(X)
    assert_kkt(X, W, H)
    Ws = model.transform(sp.csr_matrix(X))
    assert_kkt(X, Ws, H)
    np.testing.assert_allclose(Ws, W, rtol=1e-6, atol=1e-8 * W.max())
    W32 = model.transform(X.astype(np.float32))
    assert W32.dtype == np.float32
    assert_kkt(X, W32, H, tol=1e-4)
    # exact codes reach a lower objective than scikit-learn's multiplicative transform
    assert _objective(X, W, H) <= _objective(X, _sklearn_codes(X, H), H)


def test_transform_kkt_with_missing_entries_and_mask():
    X = _planted(seed=1)
    rng = np.random.default_rng(3)
    Xn = X.copy()
    Xn[rng.random(X.shape) < 0.2] = np.nan
    Xn[5] = np.nan  # a fully missing row: codes 0
    model = NMF(5, loss="kl", random_state=0, max_iter=100).fit(Xn)
    H = model.components_
    M = (~np.isnan(Xn)).astype(float)
    W = model.transform(Xn)
    assert_kkt(np.nan_to_num(Xn), W, H, M=M)
    assert np.all(W[5] == 0)
    # the same weights given as mask= on complete data
    Wm = model.transform(X, mask=M)
    np.testing.assert_allclose(Wm, W, rtol=1e-6, atol=1e-8 * W.max())


def test_pbmc68k_counts_kkt_and_beats_sklearn():
    X = load_pbmc68k().X.astype(np.float64)  # 700 cells x 765 genes, CSR
    model = NMF(8, loss="kl", max_iter=60, random_state=0).fit(X)
    H = model.components_
    W = model.transform(X)
    assert_kkt(X, W, H)
    Wsk = _sklearn_codes(X, H)
    low, comp = kkt_residual(X, Wsk, H)
    assert low < -1e-3  # scikit-learn's codes are not stationary (measured -0.07): ours are
    assert _objective(X, W, H) < _objective(X, Wsk, H)


def test_fit_transform_equals_transform_and_refine_only_decreases():
    X = _planted(seed=5)
    model = NMF(5, loss="kl", random_state=0, max_iter=80)
    W = model.fit_transform(X)
    np.testing.assert_allclose(model.transform(X), W, rtol=1e-7, atol=1e-9 * W.max())
    info = model.result_.info
    assert info["W_refined"]
    assert model.loss_history_[-1] <= info["loss_before_refine"]
    assert_kkt(X, W, model.components_)
    # the functional form with refine_W=True gives the estimator's codes; without, the loop's
    res = nmf(X, 5, loss="kl", random_state=0, max_iter=80, refine_W=True)
    np.testing.assert_allclose(res.W, W, rtol=1e-7, atol=1e-9 * W.max())
    raw = nmf(X, 5, loss="kl", random_state=0, max_iter=80)
    assert not raw.info["W_refined"] and raw.loss >= res.loss


def test_features_no_component_reaches():
    X = _planted(seed=7)
    X[:, 3] = 0.0  # a feature never seen in training: every H[:, 3] is exactly 0 under MU
    model = NMF(5, loss="kl", max_iter=100, random_state=0).fit(X)
    H = model.components_
    assert np.all(H[:, 3] == 0)
    Xnew = _planted(seed=8)  # new data with counts on it
    assert (Xnew[:, 3] > 0).sum() > 10
    with pytest.warns(RuntimeWarning, match=r"1 feature\(s\) have an all-zero column in H"):
        W = model.transform(Xnew)
    assert np.isfinite(W).all()
    # exactly the codes of the data without that feature
    keep = np.arange(X.shape[1]) != 3
    W_drop = kl_codes(Xnew[:, keep], H[:, keep])
    np.testing.assert_allclose(W, W_drop, rtol=1e-6, atol=1e-9 * W.max())
    assert_kkt(Xnew, W, H)
    # zeros in only some components of a column change nothing: no warning, still exact
    H2 = H.copy()
    H2[:, 3] = 0.05
    H2[:2, 3] = 0.0
    with np.testing.assert_no_warnings():
        W2 = kl_codes(Xnew, H2)
    assert_kkt(Xnew, W2, H2)


def test_torch_input_codes_come_back_as_tensors():
    torch = pytest.importorskip("torch")
    X = _planted(seed=9, m=80)
    for dtype, tol in ((torch.float64, TOL), (torch.float32, 1e-4)):
        Xt = torch.tensor(X, dtype=dtype)
        model = NMF(4, loss="kl", max_iter=20, random_state=0).fit(Xt)
        W = model.transform(Xt)  # solved on the host, copied back
        assert isinstance(W, torch.Tensor) and W.dtype == dtype and W.device == Xt.device
        H = model.components_
        H = H.numpy() if isinstance(H, torch.Tensor) else H
        assert_kkt(X, W.numpy(), H, tol=tol)
        Wf = model.fit_transform(Xt)
        np.testing.assert_allclose(Wf.numpy(), W.numpy(), rtol=1e-5, atol=1e-6 * float(W.max()))


def test_exact_projection_covers_kl_not_nb():
    X = _planted(seed=10, m=20)
    t = Target(X, None, get_namespace(X))
    tm = Target(X, np.ones_like(X), get_namespace(X))
    assert has_exact_projection(t, 1.0) and has_exact_projection(tm, 1.0)
    assert has_exact_projection(t, 2.0) and not has_exact_projection(tm, 2.0)
    assert not has_exact_projection(t, LossSpec(1.0, 5.0))  # the negative binomial: MU
    assert not has_exact_projection(t, 1.5)


def test_compiled_row_hessians_equal_the_sparse_product_and_give_the_same_codes(monkeypatch):
    """With numba the row Hessians come from the compiled kernel (no n x k² matrix); they
    equal the vectorised sparse product to round-off, and the codes equal those of the
    path without numba (both meet the KKT conditions: the same convex minimiser)."""
    pytest.importorskip("numba")
    import nmfkit.solvers.kl_cd as kl_cd
    from nmfkit.solvers import kl_codes as kc

    rng = np.random.default_rng(4)
    m, n, k = 120, 900, 7
    X = sp.csr_matrix(rng.poisson(rng.gamma(0.5, 1.0, (m, 5)) @ rng.gamma(0.3, 1.0, (5, n))).astype(float))
    H = rng.gamma(1.0, 1.0, (k, n))
    C = np.broadcast_to(H.sum(axis=1), (m, k)).copy()
    compiled = kc._Rows(X, C, H, 0.0, 0.0)
    assert compiled.HH is None
    HH = np.ascontiguousarray((H[:, None, :] * H[None, :, :]).reshape(k * k, -1).T)
    y = compiled.y(rng.random((m, k)) + 0.1)
    a, b = compiled.hessian(y), kc._Rows(X, C, H, 0.0, 0.0, HH=HH).hessian(y)
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12 * np.abs(b).max())
    W_compiled = kl_codes(X, H)
    monkeypatch.setattr(kl_cd, "numba_available", lambda: False)
    assert kc._Rows(X, C, H, 0.0, 0.0).HH is not None
    W_numpy = kl_codes(X, H)
    np.testing.assert_allclose(W_compiled, W_numpy, rtol=1e-7, atol=1e-9 * W_numpy.max())
