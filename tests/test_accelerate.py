"""The accelerated core (issue 3): extrapolated HALS, row-blocked sparse KL, fast NNLS.

Every accelerated path must reach the same or a lower objective than the plain
solver for the same work, or compute exactly what the plain path computes.
"""

import numpy as np
import pytest
import scipy.sparse as sp

import nmfkit
import nmfkit.backends._sparse as sparse_mod
import nmfkit.solvers.nnls as nnls_mod
from nmfkit.backends import NumpyBackend
from nmfkit.losses import Target, Term, beta_divergence
from nmfkit.solvers import MUStep


def _datasets():
    digits = nmfkit.datasets.load_digits().X
    planted = nmfkit.datasets.make_low_rank(400, 120, 6, noise=0.1, random_state=1).X
    counts = nmfkit.datasets.make_low_rank(300, 200, 8, kind="poisson", random_state=2).X
    return {"digits": (np.asarray(digits, dtype=float), 10), "planted": (planted, 6),
            "poisson": (counts, 8)}


DATA = _datasets()


@pytest.mark.parametrize("name", sorted(DATA))
@pytest.mark.parametrize("init", ["nndsvda", "random"])
def test_extrapolated_hals_beats_plain_at_equal_work(name, init):
    X, k = DATA[name]
    acc = nmfkit.nmf(X, k, init=init, random_state=0, max_iter=40, tol=0, accelerate=True)
    steps = acc.info["n_steps"]  # steps run, rejected extrapolations included
    assert steps == 40 and acc.info["n_failed_extrapolations"] > 0
    plain = nmfkit.nmf(X, k, init=init, random_state=0, max_iter=steps, tol=0, accelerate=False)
    assert acc.loss <= plain.loss * (1 + 1e-9), (acc.loss, plain.loss)
    # the safeguard keeps the objective monotone
    assert np.all(np.diff(acc.loss_history) <= 1e-9 * acc.loss_history[0])


def test_extrapolation_is_default_for_hals_only():
    X, k = DATA["planted"]
    hals = nmfkit.nmf(X, k, random_state=0, max_iter=30, tol=0)
    assert hals.info["n_failed_extrapolations"] > 0  # extrapolated (and sometimes rejected)
    assert len(hals.loss_history) < 31  # rejected iterations record no loss
    mu = nmfkit.nmf(X, k, loss="kl", solver="mu", random_state=0, max_iter=30, tol=0)
    assert mu.info["n_steps"] == 30 and mu.info["n_failed_extrapolations"] == 0
    with pytest.raises(nmfkit.NMFInputError, match="accelerate"):
        nmfkit.nmf(X, k, accelerate="yes")


def test_extrapolated_hals_converges_to_same_minimum_faster():
    X, k = DATA["planted"]
    acc = nmfkit.nmf(X, k, init="nndsvda", max_iter=2000, tol=1e-10, accelerate=True)
    plain = nmfkit.nmf(X, k, init="nndsvda", max_iter=2000, tol=1e-10, accelerate=False)
    assert acc.loss <= plain.loss * (1 + 1e-8)
    assert acc.info["n_steps"] < plain.info["n_steps"]


@pytest.mark.parametrize("density", [0.0, 2.0])  # every block dense / every block gathered
def test_sparse_kl_step_equals_generic_mu(monkeypatch, density):
    """The blocked sparse KL path of the MU engine computes the dense MU iterates."""
    monkeypatch.setattr(sparse_mod, "DENSE_BLOCK_DENSITY", density)
    monkeypatch.setattr(sparse_mod, "BLOCK_ELEMENTS", 1 << 12)  # many small blocks
    X = sp.random(500, 300, density=0.05, random_state=0, format="csr",
                  data_rvs=lambda n: np.random.default_rng(0).poisson(3.0, n) + 1.0)
    rng = np.random.default_rng(0)
    W0, H0 = rng.random((500, 6)) + 0.1, rng.random((6, 300)) + 0.1
    b = NumpyBackend()
    t = Target(X, None, b)
    assert all(blk.dense == (density == 0.0) for blk in t.info.blocks) and len(t.info.blocks) > 5
    fast = MUStep([Term(t, 1.0)], b)
    ref = MUStep([Term(Target(X.toarray(), None, b), 1.0)], b)
    sf = {"W": W0.copy()[None], "H": H0.copy()[None]}
    sr = {"W": W0.copy()[None], "H": H0.copy()[None]}
    losses = []
    for _ in range(15):
        fast(sf)
        ref(sr)
        losses.append(beta_divergence(t, sf["W"][0], sf["H"][0], 1.0))
    np.testing.assert_allclose(sf["W"], sr["W"], rtol=1e-10)
    np.testing.assert_allclose(sf["H"], sr["H"], rtol=1e-10)
    assert np.all(np.diff(losses) <= 1e-9 * losses[0])  # MU never increases KL
    # the blocked KL value equals the dense formula
    Wf, Hf = sf["W"][0], sf["H"][0]
    Y = Wf @ Hf
    Xd = X.toarray()
    dense = np.sum(np.where(Xd > 0, Xd * np.log(np.where(Xd > 0, Xd, 1) / Y), 0) - Xd + Y)
    assert beta_divergence(t, Wf, Hf, 1.0) == pytest.approx(dense, rel=1e-10)


def test_sparse_kl_fit_matches_dense_fit():
    X = nmfkit.datasets.load_pbmc68k().X
    rng = np.random.default_rng(0)  # one start: randomized SVD differs between sparse and dense
    W0, H0 = rng.random((X.shape[0], 8)) + 0.1, rng.random((8, X.shape[1])) + 0.1
    kw = dict(loss="kl", init="custom", W=W0, H=H0, max_iter=50, tol=0)
    a = nmfkit.nmf(X, 8, **kw)
    b = nmfkit.nmf(X.toarray(), 8, **kw)
    assert a.loss == pytest.approx(b.loss, rel=1e-9)
    np.testing.assert_allclose(a.H, b.H, rtol=1e-6, atol=1e-12)


def test_nnls_inverse_path_equals_pivoting_path(monkeypatch):
    rng = np.random.default_rng(3)
    C = rng.random((200, 15))
    Y = rng.standard_normal((200, 400)) + 0.2
    G, B = C.T @ C, C.T @ Y
    fast = nnls_mod.nnls_bpp(G, B)
    monkeypatch.setattr(nnls_mod, "_MAX_COND", 0.0)  # force the k x k solves
    slow = nnls_mod.nnls_bpp(G, B)
    np.testing.assert_allclose(fast, slow, atol=1e-10)
    assert (fast == 0).mean() > 0.1  # the constraints were active


def test_float32_end_to_end_matches_float64():
    X, k = DATA["poisson"]
    r64 = nmfkit.nmf(X, k, random_state=0, max_iter=100, tol=0)
    r32 = nmfkit.nmf(X.astype(np.float32), k, random_state=0, max_iter=100, tol=0)
    assert r32.W.dtype == np.float32 and r32.H.dtype == np.float32
    assert r32.loss == pytest.approx(r64.loss, rel=1e-3)
    # the reported float32 objective is accurate to float32 products (sums in float64)
    exact = 0.5 * np.sum((X - r32.W.astype(float) @ r32.H.astype(float)) ** 2)
    assert r32.loss == pytest.approx(exact, rel=1e-4)
    model = nmfkit.NMF(k, random_state=0).fit(X.astype(np.float32))
    assert model.transform(X.astype(np.float32)).dtype == np.float32
    Xs = sp.csr_matrix(X.astype(np.float32))
    k32 = nmfkit.nmf(Xs, k, loss="kl", random_state=0, max_iter=60, tol=0)
    k64 = nmfkit.nmf(sp.csr_matrix(X), k, loss="kl", random_state=0, max_iter=60, tol=0)
    assert k32.W.dtype == np.float32
    assert k32.loss == pytest.approx(k64.loss, rel=1e-3)


def test_transform_checks_x_while_projecting():
    X, k = DATA["planted"]
    model = nmfkit.NMF(k, random_state=0).fit(X)
    fast = model.transform(X)  # one read of X: validation fused with H Xᵀ
    from nmfkit.models._core import project
    from nmfkit.losses import Penalty
    t = Target(X, None, NumpyBackend())
    np.testing.assert_allclose(fast, project(t, model.components_, beta=2.0, penalty=Penalty()),
                               rtol=1e-12, atol=1e-12)
    bad = X.copy()
    bad[7, 3] = -0.5
    with pytest.raises(nmfkit.NMFInputError, match="negative"):
        model.transform(bad)
    bad[7, 3] = np.inf
    with pytest.raises(nmfkit.NMFInputError, match="infinite"):
        model.transform(bad)
    missing = X.copy()
    missing[7, 3] = np.nan  # falls back to the masked projection
    W = model.transform(missing)
    ref = model.transform(X, mask=~np.isnan(missing))
    np.testing.assert_allclose(W, ref, rtol=1e-6, atol=1e-9)
    assert abs(W[7] - fast[7]).max() > 0  # row 7 really lost an entry
