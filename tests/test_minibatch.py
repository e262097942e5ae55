"""MiniBatchNMF: the full objective on real data, streaming, out-of-core files, inputs."""

from __future__ import annotations

import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import nmfkit
from nmfkit import NMF, MiniBatchNMF
from nmfkit.exceptions import ConvergenceWarning, NMFInputError

pytestmark = pytest.mark.filterwarnings("ignore::nmfkit.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def digits():
    return nmfkit.datasets.load_digits().X


@pytest.fixture(scope="module")
def mouse():
    return nmfkit.datasets.load_mouse10k().X


def test_frobenius_reaches_full_batch_objective_on_digits(digits):
    """Online HALS with replaced statistics ends within 1 % of full-batch NMF (real data)."""
    full = NMF(10, random_state=0, max_iter=500, tol=1e-6).fit(digits)
    mb = MiniBatchNMF(10, batch_size=256, max_iter=50, tol=0, random_state=0).fit(digits)
    print(f"digits Frobenius: MiniBatchNMF / full batch {mb.loss_ / full.loss_:.5f}")
    assert mb.loss_ <= 1.01 * full.loss_
    # and it is far from a fit that has not learnt: one epoch is clearly worse
    one = MiniBatchNMF(10, batch_size=256, max_iter=1, tol=0, random_state=0).fit(digits)
    assert one.loss_ > 1.05 * full.loss_
    # the epoch objectives decrease (up to the shuffling's noise, 1e-4 of the objective)
    h = np.array(mb.loss_history_)
    assert h[-1] < h[10] < h[1] < h[0]
    assert np.all(np.diff(h[:-1]) <= 1e-4 * h[-1])


@pytest.mark.slow
def test_kl_on_mouse_counts_close_to_full_batch(mouse):
    """Online MU on sparse 10x mouse counts: within 1 % of full-batch KL NMF (defaults) after
    40 epochs (measured 0.41 %), and below scikit-learn's MiniBatchNMF with the same batch
    size and epochs, in the same run (measured 1.4 % below it)."""
    from sklearn.decomposition import MiniBatchNMF as SkMiniBatchNMF

    from nmfkit.backends import NumpyBackend
    from nmfkit.losses import Target, beta_divergence

    full = NMF(10, loss="kl", random_state=0).fit(mouse)
    mb = MiniBatchNMF(10, loss="kl", batch_size=1024, max_iter=40, tol=0, random_state=0).fit(mouse)
    assert mb.loss_ <= 1.01 * full.loss_
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk = SkMiniBatchNMF(10, beta_loss="kullback-leibler", batch_size=1024, max_iter=40, tol=0,
                            max_no_improvement=None, random_state=0).fit(mouse)
    t = Target(mouse, None, NumpyBackend())
    sk_loss = beta_divergence(t, sk.transform(mouse), sk.components_, 1.0)
    print(f"mouse KL, 40 epochs: MiniBatchNMF / full batch {mb.loss_ / full.loss_:.5f}, "
          f"/ scikit-learn's MiniBatchNMF {mb.loss_ / sk_loss:.5f}")
    assert mb.loss_ < sk_loss


def test_partial_fit_over_batches_equals_fit(digits):
    """One epoch of fit (no shuffling) is the same computation as partial_fit over its batches."""
    X = digits[:600]
    for loss in ("frobenius", "kl"):
        fit = MiniBatchNMF(5, loss=loss, batch_size=100, max_iter=1, tol=0, shuffle=False,
                           random_state=0).fit(X)
        stream = MiniBatchNMF(5, loss=loss, batch_size=100, forget_factor=1.0, random_state=0)
        for s in range(0, 600, 100):
            stream.partial_fit(X[s:s + 100], n_samples=600)
        H_fit = fit._state_["H"][0]
        np.testing.assert_allclose(stream.components_, H_fit, rtol=1e-10, atol=1e-12)
        assert stream.n_steps_ == fit.n_steps_ == 6


def test_partial_fit_learns_a_stream(digits):
    """Streaming new samples improves the components on held-out rows."""
    rng = np.random.default_rng(0)
    idx = rng.permutation(digits.shape[0])
    train, test = digits[idx[:1500]], digits[idx[1500:]]
    model = MiniBatchNMF(10, batch_size=100, random_state=0)
    scores = []
    for s in range(0, 1500, 100):
        model.partial_fit(train[s:s + 100])
        scores.append(model.score(test))
    assert scores[-1] > scores[0]
    assert model.components_.shape == (10, 64)


def test_sparse_dense_and_float32_agree(mouse):
    X = mouse[:2000]
    a = MiniBatchNMF(6, loss="kl", batch_size=500, max_iter=3, tol=0, random_state=1).fit(X)
    b = MiniBatchNMF(6, loss="kl", batch_size=500, max_iter=3, tol=0, random_state=1).fit(X.toarray())
    np.testing.assert_allclose(a.components_, b.components_, rtol=1e-6, atol=1e-9)
    c = MiniBatchNMF(6, batch_size=500, max_iter=3, random_state=1).fit(X.astype(np.float32))
    assert c.components_.dtype == np.float32


def test_missing_entries_are_left_out(digits):
    X = digits[:800].copy()
    rng = np.random.default_rng(0)
    holes = rng.random(X.shape) < 0.1
    Xn = X.copy()
    Xn[holes] = np.nan
    model = MiniBatchNMF(8, batch_size=200, max_iter=20, random_state=0).fit(Xn)
    assert model._solver_ == "mu"  # HALS' replaced statistics need complete rows
    W = model.transform(Xn)
    R = W @ model.components_
    # the held-out entries are predicted better than by the column means
    err = np.abs(R[holes] - X[holes]).mean()
    base = np.abs(np.nanmean(Xn, axis=0)[np.nonzero(holes)[1]] - X[holes]).mean()
    assert err < 0.8 * base
    with pytest.raises(NMFInputError, match="solver='mu'"):
        MiniBatchNMF(8, solver="hals").fit(Xn)


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)])
def test_torch_input_stays_on_torch(digits, device):
    torch = pytest.importorskip("torch")
    X = torch.tensor(digits[:500], device=device)
    model = MiniBatchNMF(5, batch_size=100, max_iter=5, random_state=0).fit(X)
    assert isinstance(model.components_, torch.Tensor) and model.components_.device.type == device
    ref = MiniBatchNMF(5, batch_size=100, max_iter=5, random_state=0).fit(digits[:500])
    np.testing.assert_allclose(model.components_.cpu().numpy(), ref.components_, rtol=1e-6, atol=1e-9)
    kl = MiniBatchNMF(5, loss="kl", batch_size=100, max_iter=3, random_state=0).fit(X)
    ref_kl = MiniBatchNMF(5, loss="kl", batch_size=100, max_iter=3, random_state=0).fit(digits[:500])
    assert kl.components_.device.type == device
    assert kl.loss_ == pytest.approx(ref_kl.loss_, rel=1e-6)


def test_same_seed_same_fit_and_max_time(digits):
    a = MiniBatchNMF(5, batch_size=200, max_iter=5, random_state=3).fit(digits)
    b = MiniBatchNMF(5, batch_size=200, max_iter=5, random_state=3).fit(digits)
    np.testing.assert_array_equal(a.components_, b.components_)
    c = MiniBatchNMF(5, batch_size=200, max_iter=50, max_time=0.0, random_state=3).fit(digits)
    assert c.stop_reason_ == "max_time" and c.n_steps_ == 1
    assert np.isfinite(c.loss_) and c.components_.min() >= 0


def test_interrupt_keeps_the_factors(digits):
    """Ctrl-C (KeyboardInterrupt) inside a batch ends the fit with valid factors."""
    import nmfkit.solvers.online as online

    calls = {"n": 0}
    real = online.OnlineNMF.update_H

    def boom(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 7:
            raise KeyboardInterrupt
        return real(self, *a, **k)

    online.OnlineNMF.update_H = boom
    try:
        model = MiniBatchNMF(5, batch_size=200, max_iter=10, random_state=0).fit(digits)
    finally:
        online.OnlineNMF.update_H = real
    assert model.stop_reason_ == "interrupted" and model.n_steps_ == 6
    assert np.isfinite(model.loss_) and model.components_.min() >= 0


def test_interrupt_in_the_final_pass_keeps_the_fit(digits):
    import nmfkit.solvers.online as online

    real = online.OnlineNMF.codes
    calls = {"n": 0}

    def codes(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 2 * 9 + 3:  # two epochs of 9 batches, then the third final-pass batch
            raise KeyboardInterrupt
        return real(self, *a, **k)

    online.OnlineNMF.codes = codes
    try:
        model = MiniBatchNMF(5, loss="kl", batch_size=200, max_iter=2, tol=0, random_state=0).fit(digits)
    finally:
        online.OnlineNMF.codes = real
    assert model.stop_reason_ == "interrupted" and np.isfinite(model.loss_)
    assert model.components_.shape == (5, 64) and model.result_.W.shape == (1797, 5)


def test_bad_parameters_name_the_fix(digits):
    with pytest.raises(NMFInputError, match="forget_factor"):
        MiniBatchNMF(2, forget_factor=0).fit(digits)
    with pytest.raises(NMFInputError, match="batch_size"):
        MiniBatchNMF(2, batch_size=0).fit(digits)
    with pytest.raises(NMFInputError, match="init='custom'"):
        MiniBatchNMF(2).fit(digits, H=np.ones((2, 64)))


# -- out-of-core ---------------------------------------------------------------------------
def test_fit_from_files_equals_fit_in_memory(tmp_path, mouse):
    anndata = pytest.importorskip("anndata")
    X = mouse[:3000]
    path = tmp_path / "counts.h5ad"
    anndata.AnnData(X=X).write_h5ad(path)
    npy = tmp_path / "dense.npy"
    np.save(npy, X.toarray())
    mem = MiniBatchNMF(5, loss="kl", batch_size=512, max_iter=3, tol=0, random_state=0).fit(X)
    for source in (str(path), npy, nmfkit.io.open_rows(path)):
        f = MiniBatchNMF(5, loss="kl", batch_size=512, max_iter=3, tol=0, random_state=0).fit(source)
        np.testing.assert_allclose(f.components_, mem.components_, rtol=1e-7, atol=1e-10)
    W = MiniBatchNMF(5, batch_size=512, max_iter=2, random_state=0).fit(path).transform(path)
    assert W.shape == (3000, 5)


@pytest.mark.slow
def test_fit_from_a_file_larger_than_the_memory_bound(tmp_path):
    """Peak traced memory of a fit from an .h5ad file stays O(batch x features + (n + m) k),
    for online HALS and online MU, on a file whose matrix is over 4x that bound."""
    anndata = pytest.importorskip("anndata")
    rng = np.random.default_rng(0)
    n, m, k, batch = 100_000, 2_000, 2, 250
    X = sp.random(n, m, density=0.06, format="csr", dtype=np.float32, random_state=rng,
                  data_rvs=lambda s: rng.poisson(3.0, s) + 1.0)
    path = tmp_path / "big.h5ad"
    anndata.AnnData(X=X).write_h5ad(path)
    in_memory = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    del X
    bound = 3 * batch * m * 8 + 3 * (n + m) * k * 8 + 4 * 2**20
    assert in_memory > 4 * bound  # the matrix could not be loaded within the bound
    small = tmp_path / "small.npy"  # imports and first-use caches happen outside the measure
    np.save(small, np.ones((20, 5)))
    MiniBatchNMF(2, loss="kl", max_iter=1).fit(small)
    for loss in ("frobenius", "kl"):
        tracemalloc.start()
        try:
            model = MiniBatchNMF(k, loss=loss, batch_size=batch, max_iter=1, random_state=0).fit(path)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        print(f"{loss}: traced peak {peak / 2**20:.1f} MiB, bound {bound / 2**20:.1f} MiB, "
              f"CSR in memory {in_memory / 2**20:.1f} MiB")
        assert peak < bound, (loss, peak, bound, in_memory)
        assert np.isfinite(model.loss_) and model.components_.shape == (k, m)


def test_one_pass_stream_needs_partial_fit(digits):
    blocks = (digits[s:s + 100] for s in range(0, 500, 100))
    with pytest.raises(NMFInputError, match="partial_fit"):
        MiniBatchNMF(3).fit(nmfkit.io.open_rows(blocks))
    model = MiniBatchNMF(3, batch_size=100, random_state=0)
    for _, block in nmfkit.io.open_rows(digits[s:s + 100] for s in range(0, 500, 100)).blocks(100):
        model.partial_fit(block)
    assert model.n_steps_ == 5


def test_warning_when_max_iter_is_hit(digits):
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        MiniBatchNMF(3, batch_size=500, max_iter=1, tol=1e-12, random_state=0).fit(digits)


def test_fit_from_a_callable_stream_equals_fit_in_memory(digits):
    """A callable returning a fresh iterator of row blocks is fitted epoch by epoch, in order."""
    X = digits[:900]

    def blocks():
        return (X[s:s + 150] for s in range(0, 900, 150))

    ref = MiniBatchNMF(4, loss="kl", batch_size=300, max_iter=3, tol=0, shuffle=False,
                       random_state=0).fit(X)
    got = MiniBatchNMF(4, loss="kl", batch_size=300, max_iter=3, tol=0, random_state=0).fit(
        nmfkit.io.open_rows(blocks))
    np.testing.assert_allclose(got.components_, ref.components_, rtol=1e-9, atol=1e-12)
    assert got.transform(nmfkit.io.open_rows(blocks)).shape == (900, 4)


def test_partial_fit_continues_a_fit(digits):
    for loss in ("frobenius", "kl"):
        model = MiniBatchNMF(5, loss=loss, batch_size=200, max_iter=3, random_state=0).fit(digits[:1000])
        before = model.score(digits[1000:])
        for s in range(1000, 1797, 200):
            model.partial_fit(digits[s:s + 200])
        assert np.isfinite(model.components_).all() and model.n_steps_ > 15
        assert model.score(digits[1000:]) > before


def test_dask_array_is_streamed_not_loaded(digits):
    da = pytest.importorskip("dask.array")
    X = da.from_array(digits, chunks=(300, 64))
    a = MiniBatchNMF(5, batch_size=300, max_iter=3, tol=0, random_state=0).fit(X)
    b = MiniBatchNMF(5, batch_size=300, max_iter=3, tol=0, random_state=0).fit(digits)
    np.testing.assert_allclose(a.components_, b.components_, rtol=1e-10)
    with pytest.raises(NMFInputError, match="nmfkit.distributed"):
        NMF(5).fit(X)  # in-memory estimators refuse to load a dask array silently
