"""NMF on array-api-strict arrays on a non-CPU device: any NumPy leak fails on a CPU machine.

array-api-strict's ``Device("device1")`` refuses conversion to NumPy (``np.asarray``,
ufuncs, ``.numpy()``-style calls raise), has none of NumPy's extra methods
(``.sum()``, ``.copy()``, ``.astype()``) and rejects mixing with NumPy arrays, so a
solver that is not namespace-generic fails here. On top, :func:`no_host_copies`
makes the backend's own ``to_numpy`` refuse anything larger than a k × k matrix:
the data and the factors never travel to the host (only k-vectors and scalars may).
"""

import numpy as np
import pytest

import nmfkit
from nmfkit.backends import ArrayAPIBackend, get_namespace, to_numpy
from nmfkit.init import initialize
from nmfkit.solvers import nnls_bpp

xs = pytest.importorskip("array_api_strict")

DEVICE = xs.Device("device1")
K = 3


def _strict(a):
    return xs.asarray(np.asarray(a), device=DEVICE)


def _data(n=40, m=30, k=K, seed=0):
    rng = np.random.default_rng(seed)
    return rng.gamma(1.0, 1.0, (n, k)) @ rng.gamma(1.0, 1.0, (k, m)) + 0.05


@pytest.fixture
def no_host_copies(monkeypatch):
    """The backend's ``to_numpy`` refuses arrays larger than ``K × K``."""
    real = ArrayAPIBackend.to_numpy

    def guarded(self, a):
        size = int(np.prod(a.shape))
        if size > K * K:
            raise AssertionError(f"an array of shape {tuple(a.shape)} was copied to the host")
        return real(self, a)

    monkeypatch.setattr(ArrayAPIBackend, "to_numpy", guarded)


def _assert_on_device(*arrays):
    for a in arrays:
        assert isinstance(a, xs._array_object.Array) and a.device == DEVICE


# -- the backend layer ------------------------------------------------------------------


def test_strict_arrays_get_the_array_api_backend():
    b = get_namespace(_strict(np.ones((2, 2))))
    assert isinstance(b, ArrayAPIBackend) and b.name == "array_api_strict" and b.device == DEVICE
    with pytest.raises(nmfkit.NMFInputError, match="mix"):
        get_namespace(_strict(np.ones(2)), np.ones(2))


def test_backend_operations_on_strict_arrays():
    A = np.arange(12.0).reshape(3, 4)
    b = get_namespace(_strict(A))
    X = b.from_numpy(A)
    _assert_on_device(X)
    np.testing.assert_array_equal(to_numpy(b.take(X, [2, 0], axis=1)), A[:, [2, 0]])
    np.testing.assert_array_equal(to_numpy(b.take(X, np.array([1]), axis=0)), A[[1]])
    mass = b.from_numpy(np.array([1.0, 3.0, 3.0, 2.0]))
    np.testing.assert_array_equal(to_numpy(b.argsort(mass, descending=True)),
                                  np.argsort(-np.array([1.0, 3.0, 3.0, 2.0]), kind="stable"))
    Y = b.clamp_min_(b.copy(X), 4.5)
    np.testing.assert_array_equal(to_numpy(Y), np.maximum(A, 4.5))
    b.mul_(Y, 2.0)
    b.div_(Y, b.from_numpy(np.full(4, 2.0)))
    b.add_(Y, 1.0)
    b.sub_(Y, 1.0)
    np.testing.assert_array_equal(to_numpy(Y), np.maximum(A, 4.5))
    assert b.item(b.sum(X > 5)) == 6 and b.size(X) == 12
    np.testing.assert_array_equal(to_numpy(b.cumsum(b.from_numpy(np.array([True, False, True])))),
                                  [1, 1, 2])
    np.testing.assert_array_equal(to_numpy(b.flatnonzero(X[0, :] > 1)), [2, 3])
    np.testing.assert_array_equal(to_numpy(b.mT(b.stack([X, X]))).shape, (2, 4, 3))
    assert b.norm2(X) == pytest.approx((A * A).sum()) == b.vdot(X, X) == b.sumsq(X)
    np.testing.assert_allclose(to_numpy(b.xlogy(X, X)), np.where(A == 0, 0, A * np.log(np.where(A == 0, 1, A))))
    G = b.eye(3, "float64") * 2.0
    np.testing.assert_allclose(to_numpy(b.solve(G, b.ones((3, 2), X.dtype))), np.full((3, 2), 0.5))
    assert b.np_dtype(b.as_dtype(np.float32)) == np.float32
    assert b.eps(X.dtype) == np.finfo(np.float64).eps


# -- NNLS and initialisation on the device -----------------------------------------------


@pytest.mark.parametrize("k,r,seed", [(1, 5, 0), (5, 60, 1), (12, 200, 2)])
def test_nnls_bpp_on_strict_equals_numpy(k, r, seed):
    rng = np.random.default_rng(seed)
    C = rng.random((80, k))
    Y = rng.standard_normal((80, r)) + 0.3
    G, B = C.T @ C, C.T @ Y
    ref = nnls_bpp(G, B)
    out = nnls_bpp(_strict(G), _strict(B))
    _assert_on_device(out)
    np.testing.assert_allclose(to_numpy(out), ref, atol=1e-10)


@pytest.mark.parametrize("init", ["random", "nndsvd", "nndsvda", "nndsvdar"])
@pytest.mark.parametrize("masked", [False, True])
def test_initialize_on_strict_equals_numpy(init, masked, no_host_copies):
    X = _data()
    M = (np.random.default_rng(1).random(X.shape) > 0.2).astype(float) if masked else None
    ref = initialize(X, K, init, backend=get_namespace(X), dtype=np.float64, weights=M,
                     random_state=0)
    b = get_namespace(_strict(X))
    out = initialize(_strict(X), K, init, backend=b, dtype=xs.float64,
                     weights=None if M is None else _strict(M), random_state=0)
    _assert_on_device(*out)
    for o, r in zip(out, ref):
        np.testing.assert_allclose(to_numpy(o), r, atol=1e-10)


# -- the public API: any NumPy leak in solvers / models fails these --------------------------


@pytest.mark.parametrize("solver", ["mu", "hals"])
def test_nmf_on_strict_equals_numpy(solver, no_host_copies):
    X = _data()
    kw = dict(solver=solver, init="nndsvda", max_iter=40, tol=0)
    ref = nmfkit.nmf(X, K, **kw)
    res = nmfkit.nmf(_strict(X), K, **kw)
    _assert_on_device(res.W, res.H)
    assert res.loss == pytest.approx(ref.loss, rel=1e-8)
    np.testing.assert_allclose(to_numpy(res.H), ref.H, rtol=1e-6, atol=1e-9)


def test_transform_on_strict_equals_numpy(no_host_copies):
    X = _data()
    ref = nmfkit.NMF(K, random_state=0, max_iter=50).fit(X)
    model = nmfkit.NMF(K, random_state=0, max_iter=50).fit(_strict(X))
    Xnew = _data(n=25, seed=3)
    W = model.transform(_strict(Xnew))
    _assert_on_device(W, model.components_)
    np.testing.assert_allclose(to_numpy(W), ref.transform(Xnew), rtol=1e-6, atol=1e-9)


def test_restarts_on_strict_equals_numpy(no_host_copies):
    from nmfkit.selection import restarts

    X = _data()
    kw = dict(n_restarts=3, max_iter=30, tol=0, random_state=0)
    ref = restarts(X, K, **kw)
    out = restarts(_strict(X), K, **kw)
    _assert_on_device(out.best.W, out.best.H)
    assert out.best.loss == pytest.approx(ref.best.loss, rel=1e-8)


def test_out_and_row_assignment_operations():
    A = np.arange(24.0).reshape(2, 3, 4)
    for b, conv in ((get_namespace(A), np.asarray), (get_namespace(_strict(A)), _strict)):
        X = conv(A)
        Y = b.copy(X)
        Z = b.divide(X, b.clamp_min(Y, 1.0), out=Y)  # NumPy writes into Y; others return new
        np.testing.assert_allclose(to_numpy(Z), A / np.maximum(A, 1.0))
        np.testing.assert_allclose(to_numpy(b.multiply(X, X)), A * A)
        np.testing.assert_allclose(to_numpy(b.matmul(X, b.mT(X))), A @ A.swapaxes(-1, -2))
        np.testing.assert_array_equal(to_numpy(b.diag(b.matmul(X, b.mT(X)))),
                                      np.diagonal(A @ A.swapaxes(-1, -2), axis1=-2, axis2=-1))
        S = b.copy(X)
        b.put_(S, [1], b.zeros((1, 3, 4), X.dtype))
        np.testing.assert_array_equal(to_numpy(S), np.concatenate([A[:1], np.zeros((1, 3, 4))]))


def test_check_data_scans_strict_arrays_on_their_device():
    from nmfkit._validation import check_data

    X = _data()
    X[0, 0] = np.nan
    data = check_data(_strict(X))
    assert data.n_nan == 1 and data.backend.name == "array_api_strict"
    _assert_on_device(data.values)
    ints = check_data(xs.asarray([[1, 2], [3, 0]], device=DEVICE))
    assert ints.values.dtype == xs.float64
    X[0, 0] = -0.5
    with pytest.raises(nmfkit.NMFInputError, match="1 negative entries"):
        check_data(_strict(X))
    X[0, 0] = np.inf
    with pytest.raises(nmfkit.NMFInputError, match="1 infinite entries"):
        check_data(_strict(X))
    with pytest.raises(nmfkit.NMFInputError, match="no positive entry"):
        check_data(_strict(np.zeros((3, 2))))
