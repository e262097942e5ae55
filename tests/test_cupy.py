"""CuPy input computes with CuPy on its GPU (``gpu``-marked: skipped without CuPy and a device)."""

import numpy as np
import pytest

import nmfkit
from nmfkit.backends import get_namespace, to_numpy
from nmfkit.init import initialize
from nmfkit.solvers import nnls_bpp

pytestmark = pytest.mark.gpu
cupy = pytest.importorskip("cupy")

try:
    _N_DEVICES = cupy.cuda.runtime.getDeviceCount()
except Exception:  # noqa: BLE001 - no driver / no device
    _N_DEVICES = 0
if not _N_DEVICES:
    pytest.skip("CuPy is installed but sees no CUDA device", allow_module_level=True)

K = 3


def _data(n=60, m=40, seed=0):
    rng = np.random.default_rng(seed)
    return rng.gamma(1.0, 1.0, (n, K)) @ rng.gamma(1.0, 1.0, (K, m)) + 0.05


def _on_gpu(*arrays):
    for a in arrays:
        assert isinstance(a, cupy.ndarray)


def test_cupy_backend_nnls_and_init_stay_on_the_gpu():
    X = _data()
    b = get_namespace(cupy.asarray(X))
    assert b.name == "cupy"
    rng = np.random.default_rng(1)
    C = rng.random((80, 6))
    Y = rng.standard_normal((80, 50)) + 0.3
    out = nnls_bpp(cupy.asarray(C.T @ C), cupy.asarray(C.T @ Y))
    _on_gpu(out)
    np.testing.assert_allclose(to_numpy(out), nnls_bpp(C.T @ C, C.T @ Y), atol=1e-10)
    ref = initialize(X, K, "nndsvda", backend=get_namespace(X), dtype=np.float64, random_state=0)
    W, H = initialize(cupy.asarray(X), K, "nndsvda", backend=b, dtype=np.float64, random_state=0)
    _on_gpu(W, H)
    np.testing.assert_allclose(to_numpy(W), ref[0], atol=1e-8)
    np.testing.assert_allclose(to_numpy(H), ref[1], atol=1e-8)


@pytest.mark.parametrize("solver", ["mu", "hals"])
def test_cupy_nmf_equals_numpy(solver):
    X = _data()
    kw = dict(solver=solver, init="nndsvda", max_iter=40, tol=0)
    ref = nmfkit.nmf(X, K, **kw)
    res = nmfkit.nmf(cupy.asarray(X), K, **kw)
    _on_gpu(res.W, res.H)
    assert res.loss == pytest.approx(ref.loss, rel=1e-6)


def test_cupy_transform_equals_numpy():
    X, Xnew = _data(), _data(n=30, seed=3)
    ref = nmfkit.NMF(K, random_state=0, max_iter=50).fit(X)
    model = nmfkit.NMF(K, random_state=0, max_iter=50).fit(cupy.asarray(X))
    W = model.transform(cupy.asarray(Xnew))
    _on_gpu(W, model.components_)
    np.testing.assert_allclose(to_numpy(W), ref.transform(Xnew), rtol=1e-5, atol=1e-8)


def test_cupy_restarts_equal_numpy():
    from nmfkit.selection import restarts

    X = _data()
    kw = dict(n_restarts=3, max_iter=30, tol=0, random_state=0)
    ref = restarts(X, K, **kw)
    out = restarts(cupy.asarray(X), K, **kw)
    _on_gpu(out.best.W, out.best.H)
    assert out.best.loss == pytest.approx(ref.best.loss, rel=1e-6)
