"""Scale-safe numerics (issue 18, point 5).

Data far from unit scale is rescaled by a power of two inside NMF / SparseNMF (exact, so the
factors are the unit-scale fit's times the scale) or refused with a clear error elsewhere; no
result is silently zero or non-finite and no objective is negative.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import nmfkit
from nmfkit._validation import COMFORT_RANGE, check_data, data_scale
from nmfkit.exceptions import NMFInputError

RNG = np.random.default_rng(1)
X0 = RNG.random((20, 3)) @ RNG.random((3, 12)) + 0.01
X0 /= 2.0 ** np.ceil(np.log2(X0.max()))  # largest entry in [0.5, 1): already at unit scale


def _rel(X, W, H):
    return np.linalg.norm(X - W @ H) / np.linalg.norm(X)


# the cases: (scale, dtype, loss)
CASES = [
    (1e-8, np.float64, "kl"),        # was: W = H = 0, loss < 0, stop_reason "tol"
    (1e-300, np.float64, "frobenius"),  # was: W = H = 0
    (1e-30, np.float32, "frobenius"),   # was: W = H = 0
    (1e300, np.float64, "frobenius"),   # was: all-NaN factors
    (1e300, np.float64, "kl"),          # was: 1e301 garbage
    (1e19, np.float32, "frobenius"),    # was: all-NaN
    (1e-12, np.float64, "is"),
]


@pytest.mark.parametrize("scale,dtype,loss", CASES)
def test_nmf_far_from_unit_scale_fits_like_unit_scale(scale, dtype, loss):
    X = (X0 * scale).astype(dtype)
    if loss == "is":
        X = X + X.max() * 1e-3  # IS needs X > 0
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no overflow / invalid value on the way
        res = nmfkit.nmf(X, 3, loss=loss, random_state=0, max_iter=300)
    W, H = np.asarray(res.W, float), np.asarray(res.H, float)
    assert W.dtype == np.float64 and np.isfinite(W).all() and np.isfinite(H).all()
    assert W.max() > 0 and res.loss >= 0 and np.isfinite(res.loss)
    # relative error measured at unit scale (W / scale: X * 1e300 squared overflows)
    assert _rel(X.astype(float) / scale, W / scale, H) < 0.05
    assert res.info["data_scale"] != 1.0
    assert res.stop_reason in ("tol", "max_iter")


@pytest.mark.parametrize("e", [-600, -40, 50, 600])
def test_rescaling_is_exact(e):
    """Powers of two scale without rounding: factors equal the unit-scale fit's times 2**e,
    objectives times 2**(beta e) (kept in X / scale units where that overflows)."""
    s = 2.0 ** e
    for loss, beta in (("frobenius", 2), ("kl", 1)):
        ref = nmfkit.nmf(X0, 3, loss=loss, random_state=0, tol=0, max_iter=25)
        res = nmfkit.nmf(X0 * s, 3, loss=loss, random_state=0, tol=0, max_iter=25)
        np.testing.assert_allclose(res.W / s, ref.W, rtol=1e-12, atol=0)
        np.testing.assert_allclose(res.H, ref.H, rtol=1e-12)
        f = s ** beta if abs(e * beta) < 1000 else 1.0
        units = "X" if abs(e * beta) < 1000 else "X / data_scale"
        assert res.info["loss_units"] == units
        np.testing.assert_allclose(res.loss, ref.loss * f, rtol=1e-12)
        np.testing.assert_allclose(res.loss_history, np.array(ref.loss_history) * f, rtol=1e-12)


def test_estimator_attributes_transform_and_score_are_in_data_units():
    s = 2.0 ** 700
    ref = nmfkit.NMF(3, random_state=0, tol=0, max_iter=30).fit(X0)
    model = nmfkit.NMF(3, random_state=0, tol=0, max_iter=30).fit(X0 * s)
    np.testing.assert_allclose(model.components_, ref.components_, rtol=1e-12)
    np.testing.assert_allclose(model.transform(X0 * s) / s, ref.transform(X0), rtol=1e-10)
    np.testing.assert_allclose(model.inverse_transform(model.transform(X0 * s)) / s,
                               ref.inverse_transform(ref.transform(X0)), rtol=1e-10)
    assert model.reconstruction_err_ > 0 and np.isfinite(model.reconstruction_err_)
    s2 = 2.0 ** 40 * 8  # here the objective in X's units is representable
    m2 = nmfkit.NMF(3, random_state=0, tol=0, max_iter=30).fit(X0 * s2)
    np.testing.assert_allclose(m2.score(X0 * s2), ref.score(X0) * s2 ** 2, rtol=1e-9)
    np.testing.assert_allclose(m2.loss_, ref.loss_ * s2 ** 2, rtol=1e-12)
    np.testing.assert_allclose(m2.reconstruction_err_, ref.reconstruction_err_ * s2, rtol=1e-12)


def test_sparse_dataframe_and_torch_inputs_are_rescaled_too():
    s = 2.0 ** -500
    ref = nmfkit.nmf(X0, 3, random_state=0, tol=0, max_iter=20)
    res = nmfkit.nmf(sp.csr_matrix(X0 * s), 3, random_state=0, tol=0, max_iter=20)
    np.testing.assert_allclose(res.W / s, ref.W, rtol=1e-10)
    pd = pytest.importorskip("pandas")
    res = nmfkit.nmf(pd.DataFrame(X0 * s), 3, random_state=0, tol=0, max_iter=20)
    np.testing.assert_allclose(res.W.to_numpy() / s, ref.W, rtol=1e-12)
    torch = pytest.importorskip("torch")
    res = nmfkit.nmf(torch.tensor(X0 * 2.0 ** 300), 3, random_state=0, tol=0, max_iter=20)
    assert torch.isfinite(res.W).all() and res.W.max() > 0


def test_sparse_nmf_rescales():
    res = nmfkit.sparse_nmf(X0 * 1e-200, 3, sparseness_H=0.5, random_state=0, max_iter=200)
    assert np.isfinite(res.W).all() and res.W.max() > 0 and res.loss >= 0
    assert _rel(X0, res.W / 1e-200, res.H) < 0.1


@pytest.mark.parametrize("make", [
    lambda X: nmfkit.NonnegativeAutoencoder(3, max_iter=5).fit(X),
    lambda X: nmfkit.SemiNMF(3, max_iter=5).fit(X),
    lambda X: nmfkit.ConvexNMF(3, max_iter=5).fit(X),
    lambda X: nmfkit.ArchetypalAnalysis(3, max_iter=5).fit(X),
    lambda X: nmfkit.DeepNMF((3,), max_iter=5).fit(X),
    lambda X: nmfkit.TriNMF(2, 2, max_iter=5).fit(X),
    lambda X: nmfkit.MiniBatchNMF(3, max_iter=5).fit(X),
    lambda X: nmfkit.contrastive_nmf(X, X, 2, max_iter=5, n_restarts=1),
    lambda X: nmfkit.selection.restarts(X, 3, 2, max_iter=5),
])
@pytest.mark.parametrize("scale", [1e200, 1e-200])
def test_models_that_do_not_rescale_refuse_with_the_fix(make, scale):
    with pytest.raises(NMFInputError, match=r"far from unit scale.*pass (\w+) / \1\.max\(\)"):
        make(X0 * scale)


def test_float32_limits_are_tighter():
    with pytest.raises(NMFInputError, match="float32"):
        check_data((X0 * 1e18).astype(np.float32))
    check_data(X0 * 1e18)  # fine in float64


def test_data_scale_is_one_in_the_comfort_range():
    lo, hi = COMFORT_RANGE
    assert data_scale(lo) == data_scale(hi) == data_scale(1.0) == 1.0
    for m in (1e-300, 1e-8, 1e13, 1e300):
        s = data_scale(m)
        assert 0.5 <= m / s < 1 and np.log2(s) == int(np.log2(s))


def test_negative_binomial_is_refused_on_rescaled_data():
    with pytest.raises(NMFInputError, match="counts"):
        nmfkit.nmf(X0 * 1e-9, 3, loss="nb")


def test_requires_grad_costs_what_a_plain_tensor_costs():
    """The autograd graph is not kept: same factors, no grad_fn (memory and time as plain)."""
    torch = pytest.importorskip("torch")
    Xt = torch.tensor(X0, requires_grad=True)
    a = nmfkit.nmf(Xt, 3, random_state=0, tol=0, max_iter=30)
    b = nmfkit.nmf(torch.tensor(X0), 3, random_state=0, tol=0, max_iter=30)
    assert a.W.grad_fn is None and not a.W.requires_grad and Xt.grad is None
    torch.testing.assert_close(a.W, b.W, rtol=0, atol=0)


def test_a_diverging_fit_raises_instead_of_returning_nan():
    """A custom start at 1e200 overflows W H: the fit raises rather than hand back NaN factors."""
    W0, H0 = np.full((20, 3), 1e200), np.full((3, 12), 1e200)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(FloatingPointError, match=r"NMF: the fit diverged.*custom start"):
            nmfkit.nmf(X0, 3, init="custom", W=W0, H=H0)
        with pytest.raises(FloatingPointError, match="diverged"):
            nmfkit.NMF(3, init="custom").fit(X0, W=W0, H=H0)
