"""The same solver code on NumPy and on torch tensors (CPU in CI, CUDA when present)."""

import warnings

import numpy as np
import pytest

import nmfkit
from nmfkit.backends import get_namespace, is_sparse, is_torch, to_numpy

torch = pytest.importorskip("torch")

CASES = [("frobenius", "hals"), ("frobenius", "mu"), ("kl", "mu"), ("is", "mu"), (1.5, "mu"),
         ("kl", "cd"), (1.5, "cd"), (1.2, "cd")]  # cd: the vectorised coordinate descent on torch


def _data():
    rng = np.random.default_rng(0)
    X = rng.gamma(1.0, 1.0, (70, 4)) @ rng.gamma(1.0, 1.0, (4, 45)) + 0.05
    return X, rng.random((70, 4)) + 0.1, rng.random((4, 45)) + 0.1


def _devices():
    devs = ["cpu"]
    if torch.cuda.is_available():
        devs.append(pytest.param("cuda", marks=pytest.mark.gpu))
    return devs


@pytest.mark.parametrize("device", _devices())
@pytest.mark.parametrize("loss,solver", CASES)
@pytest.mark.parametrize("missing", [False, True])
def test_torch_matches_numpy_float64(loss, solver, missing, device):
    X, W0, H0 = _data()
    if missing:
        X = X.copy()
        X[np.random.default_rng(2).random(X.shape) < 0.2] = np.nan
    kw = dict(loss=loss, solver=solver, init="custom", max_iter=60, tol=0)
    ref = nmfkit.nmf(X, 4, W=W0, H=H0, **kw)
    T = lambda a: torch.as_tensor(a, device=device)  # noqa: E731
    res = nmfkit.nmf(T(X), 4, W=T(W0), H=T(H0), **kw)
    assert is_torch(res.W) and res.W.device.type == device and res.W.dtype == torch.float64
    assert res.loss == pytest.approx(ref.loss, rel=1e-6)
    if solver == "hals" and not missing:
        # extrapolation accepts or rejects a step by comparing losses, which near a
        # minimum can differ in the last digits between backends: compare losses only
        return
    if solver == "cd":
        # on NumPy the compiled per-row kernel runs, on torch the vectorised path: the same
        # decisions in a different order of sums (and extrapolation decided by losses)
        np.testing.assert_allclose(to_numpy(res.W), ref.W, rtol=1e-4, atol=1e-7)
        np.testing.assert_allclose(to_numpy(res.H), ref.H, rtol=1e-4, atol=1e-7)
        return
    np.testing.assert_allclose(to_numpy(res.W), ref.W, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(to_numpy(res.H), ref.H, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("device", _devices())
def test_torch_matches_numpy_plain_hals_exactly(device):
    X, W0, H0 = _data()
    kw = dict(solver="hals", init="custom", max_iter=60, tol=0, accelerate=False)
    ref = nmfkit.nmf(X, 4, W=W0, H=H0, **kw)
    T = lambda a: torch.as_tensor(a, device=device)  # noqa: E731
    res = nmfkit.nmf(T(X), 4, W=T(W0), H=T(H0), **kw)
    np.testing.assert_allclose(to_numpy(res.W), ref.W, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(to_numpy(res.H), ref.H, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("loss", ["frobenius", "kl"])
def test_torch_estimator_and_transform(loss):
    X, _, _ = _data()
    Xt = torch.as_tensor(X)
    # the same algorithm on both backends: for KL, solver="auto" is coordinate descent on
    # NumPy (with numba) and MU on torch, so name the solver
    solver = "mu" if loss == "kl" else "auto"
    model = nmfkit.NMF(4, loss=loss, solver=solver, random_state=0, max_iter=200)
    W = model.fit_transform(Xt)
    ref = nmfkit.NMF(4, loss=loss, solver=solver, random_state=0, max_iter=200)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        W_ref = ref.fit_transform(X)
    assert is_torch(W) and is_torch(model.components_)
    np.testing.assert_allclose(to_numpy(W), W_ref, rtol=1e-6, atol=1e-9)
    Wp = model.transform(Xt)
    np.testing.assert_allclose(to_numpy(Wp), ref.transform(X), rtol=1e-5, atol=1e-8)
    assert is_torch(model.inverse_transform(Wp))


def test_float32_torch():
    X, _, _ = _data()
    res = nmfkit.nmf(torch.as_tensor(X, dtype=torch.float32), 4, random_state=0, max_iter=100)
    ref = nmfkit.nmf(X.astype(np.float32), 4, random_state=0, max_iter=100)
    assert res.W.dtype == torch.float32
    assert res.loss == pytest.approx(ref.loss, rel=1e-3)


def test_namespace_rules():
    assert get_namespace(np.zeros(2)).name == "numpy"
    assert get_namespace(torch.zeros(2)).name == "torch"
    import scipy.sparse as sp

    assert is_sparse(sp.eye(3)) and not is_sparse(np.eye(3))
    with pytest.raises(nmfkit.NMFInputError, match="mix torch tensors"):
        get_namespace(torch.zeros(2), np.zeros(2))


@pytest.mark.parametrize("device", _devices())
def test_torch_nnls_and_init_run_on_the_device(device, monkeypatch):
    from nmfkit.backends import TorchBackend
    from nmfkit.init import initialize
    from nmfkit.solvers import nnls_bpp

    X, _, _ = _data()
    rng = np.random.default_rng(1)
    C = rng.random((80, 6))
    Y = rng.standard_normal((80, 50)) + 0.3
    real = TorchBackend.to_numpy

    def guarded(self, a):  # k-vectors may travel to the host; data and factors may not
        assert a.numel() <= 16, f"a tensor of shape {tuple(a.shape)} was copied to the host"
        return real(self, a)

    monkeypatch.setattr(TorchBackend, "to_numpy", guarded)
    T = lambda a: torch.as_tensor(a, device=device)  # noqa: E731
    out = nnls_bpp(T(C.T @ C), T(C.T @ Y))
    assert is_torch(out) and out.device.type == device
    np.testing.assert_allclose(out.cpu().numpy(), nnls_bpp(C.T @ C, C.T @ Y), atol=1e-10)
    for init in ("random", "nndsvd", "nndsvda", "nndsvdar"):
        ref = initialize(X, 4, init, backend=get_namespace(X), dtype=np.float64, random_state=0)
        W, H = initialize(T(X), 4, init, backend=get_namespace(T(X)), dtype=torch.float64,
                          random_state=0)
        assert W.device.type == device
        np.testing.assert_allclose(W.cpu().numpy(), ref[0], atol=1e-10)
        np.testing.assert_allclose(H.cpu().numpy(), ref[1], atol=1e-10)
    model = nmfkit.NMF(4, random_state=0, max_iter=50).fit(T(X))
    W = model.transform(T(X[:20]))  # fit and transform never copy X to the host
    assert is_torch(W) and W.device.type == device
