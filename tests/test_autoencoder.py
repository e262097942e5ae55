"""NonnegativeAutoencoder: it trains, it is convex NMF (both directions), the paper's error ordering."""

import sys
import warnings

import numpy as np
import pytest

import nmfkit
from nmfkit.exceptions import NMFInputError
from nmfkit.signatures import match_signatures, random_signatures, simulate_catalog

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


def _rel(a, b):
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)) / np.linalg.norm(np.asarray(b)))


def _small(seed=1, n=20, p=12, k=2):
    rng = np.random.default_rng(seed)
    return rng.random((n, k)) @ rng.random((k, p)) + 0.05 * rng.random((n, p))


@pytest.fixture(scope="module")
def catalog_fits():
    """Poisson catalogs from 3 known signatures, fitted once by NMF, ConvexNMF and the AE."""
    truth = random_signatures(3, concentration=0.3, random_state=0)
    sim = simulate_catalog(truth, 40, mutations=(1000, 10000), random_state=1)
    X = sim.X.to_numpy()
    fits = {}
    for name, model in {
        "nmf": nmfkit.NMF(3, max_iter=2000, tol=1e-8, random_state=0),
        "convex": nmfkit.ConvexNMF(3, solver="lbfgsb", max_iter=200, tol=1e-8, random_state=0),
        "ae": nmfkit.NonnegativeAutoencoder(3, max_iter=3000, tol=1e-7, n_iter_no_change=30,
                                            random_state=0),
    }.items():
        W = model.fit_transform(X)
        fits[name] = (model, float(((X - W @ model.components_) ** 2).mean()))
    return sim, X, fits


def test_autoencoder_trains_and_recovers_known_signatures(catalog_fits):
    sim, X, fits = catalog_fits
    ae, mse = fits["ae"]
    h = np.asarray(ae.loss_history_)
    assert ae.converged_ and h[-1] < 0.01 * h[0]
    assert (ae.encoder_ >= 0).all() and (ae.decoder_ >= 0).all()
    np.testing.assert_allclose(ae.components_.sum(axis=1), 1.0)
    assert match_signatures(ae.components_, sim.signatures).cosine.min() > 0.99
    # it reconstructs: within 15 % (in Frobenius norm) of unconstrained-basis NMF
    assert np.sqrt(mse) < 1.15 * np.sqrt(fits["nmf"][1])


def test_paper_ordering_nmf_reconstructs_best(catalog_fits):
    """Egendal et al.: NMF has the lowest reconstruction error; ConvexNMF and the AE (the same
    model) follow, and NMF recovers the known signatures at cosine >= 0.95 (Hungarian)."""
    sim, _, fits = catalog_fits
    nmf_mse, convex_mse, ae_mse = (fits[m][1] for m in ("nmf", "convex", "ae"))
    assert match_signatures(fits["nmf"][0].components_, sim.signatures).cosine.min() >= 0.95
    assert nmf_mse < convex_mse and nmf_mse < ae_mse
    assert convex_mse <= ae_mse * (1 + 1e-6)  # the better optimiser of the same model


@pytest.mark.parametrize("constraint", ["abs", "softplus"])
def test_autoencoder_started_at_convex_nmf_solution_stays_there(constraint):
    X = _small()
    cnmf = nmfkit.ConvexNMF(2, solver="lbfgsb", max_iter=300, tol=1e-12, random_state=0)
    W = cnmf.fit_transform(X)
    # the mapping: encoder = combination_ᵀ (samples × k), decoder = Wᵀ (k × samples)
    ae = nmfkit.NonnegativeAutoencoder(2, examples="features", optimizer="lbfgs", constraint=constraint,
                                       init="custom", max_iter=100, tol=1e-12, n_iter_no_change=5)
    W_ae = ae.fit_transform(X, encoder=cnmf.combination_.T, decoder=W.T)
    assert abs(ae.loss_history_[0] / cnmf.loss_ - 1) < 1e-12  # the same objective at the start
    assert abs(ae.loss_ / cnmf.loss_ - 1) < 1e-6
    assert _rel(ae.components_, cnmf.components_) < 1e-6 and _rel(W_ae, W) < 1e-6


def test_convex_nmf_started_at_trained_autoencoder_stays_there():
    X = _small()
    cnmf = nmfkit.ConvexNMF(2, solver="lbfgsb", max_iter=300, tol=1e-12, random_state=0)
    W = cnmf.fit_transform(X)
    rng = np.random.default_rng(0)
    noise = lambda M: M * np.clip(1 + 0.05 * rng.standard_normal(M.shape), 0.1, None)  # noqa: E731
    ae = nmfkit.NonnegativeAutoencoder(2, optimizer="lbfgs", constraint="softplus", init="custom",
                                       max_iter=40, tol=0)
    W_ae = ae.fit_transform(X, encoder=noise(cnmf.combination_.T), decoder=noise(W.T))
    # it trained its way back from a start 4.6x worse to the stationary point
    assert ae.loss_history_[0] > 4 * ae.loss_ and abs(ae.loss_ / cnmf.loss_ - 1) < 1e-6
    for solver, iters in (("mu", 300), ("lbfgsb", 50)):
        back = nmfkit.ConvexNMF(2, solver=solver, init="custom", max_iter=iters, tol=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", nmfkit.ConvergenceWarning)
            W_back = back.fit_transform(X, W=ae.decoder_.T, A=ae.encoder_.T)
        assert abs(back.loss_history_[0] / ae.loss_ - 1) < 1e-10
        assert abs(back.loss_ / ae.loss_ - 1) < 1e-6
        assert _rel(back.components_, ae.components_) < 1e-4 and _rel(W_back, W_ae) < 1e-4


def test_samples_orientation_is_convex_nmf_of_the_transpose():
    X = _small(seed=2, n=12, p=20)
    cnmf = nmfkit.ConvexNMF(2, solver="lbfgsb", max_iter=300, tol=1e-12, random_state=0)
    Wt = cnmf.fit_transform(X.T)  # Xᵀ ≈ Wt A Xᵀ  <=>  X ≈ X Aᵀ Wtᵀ: encoder Aᵀ, decoder Wtᵀ
    ae = nmfkit.NonnegativeAutoencoder(2, examples="samples", optimizer="lbfgs", init="custom",
                                       max_iter=50, tol=1e-12, n_iter_no_change=5)
    W = ae.fit_transform(X, encoder=cnmf.combination_.T, decoder=Wt.T)
    assert abs(ae.loss_ / cnmf.loss_ - 1) < 1e-6
    # the AE's basis is the transposed problem's codes, its codes that problem's basis
    assert match_signatures(ae.components_, Wt.T).cosine.min() > 1 - 1e-9
    assert match_signatures(W.T, cnmf.components_).cosine.min() > 1 - 1e-9
    np.testing.assert_allclose(ae.transform(X), W, rtol=1e-10)  # transform is the encoder


@pytest.mark.parametrize("kw", [
    dict(constraint="project"),
    dict(constraint="softplus", tied=True),
    dict(constraint="abs", activation="relu", output_activation="relu", batch_size=7),
    dict(constraint="abs", activation="softplus", examples="samples", batch_size=5),
    dict(constraint="project", activation="sigmoid", examples="samples", loss="kl"),
    dict(optimizer="lbfgs", constraint="softplus", activation="softplus"),
])
def test_variants_train_with_nonnegative_weights(kw):
    X = _small(seed=3, n=25, p=14, k=3)
    ae = nmfkit.NonnegativeAutoencoder(3, max_iter=40 if "lbfgs" not in kw.values() else 10,
                                       tol=0, random_state=0, **kw)
    W = ae.fit_transform(X)
    d = X.shape[1] if kw.get("examples") == "samples" else X.shape[0]
    assert ae.encoder_.shape == (d, 3) and ae.decoder_.shape == (3, d)
    assert (ae.encoder_ >= 0).all() and (ae.decoder_ >= 0).all() and (W >= 0).all()
    if kw.get("tied"):
        np.testing.assert_array_equal(ae.decoder_, ae.encoder_.T)
    assert ae.loss_history_[-1] < ae.loss_history_[0]
    assert ae.components_.shape == (3, X.shape[1]) and ae.transform(X[:4]).shape == (4, 3)
    assert ae.inverse_transform(W).shape == X.shape


def test_early_stopping_restores_best_validation_weights():
    X = simulate_catalog(random_signatures(2, random_state=0), 30, random_state=0).X.to_numpy()
    ae = nmfkit.NonnegativeAutoencoder(2, early_stopping=True, validation_fraction=0.2,
                                       n_iter_no_change=10, max_iter=3000, random_state=0)
    ae.fit(X)
    val = np.asarray(ae.validation_loss_history_)
    assert ae.stop_reason_ == "early_stopping" and ae.n_iter_ < 3000
    assert len(val) == ae.n_iter_ + 1 and val.argmin() >= len(val) - 1 - 10  # then 10 epochs' patience
    assert val.min() < 0.1 * val[0]


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_runs_on_the_device_and_dtype_of_its_input(device, dtype):
    X = torch.as_tensor(_small(), dtype=getattr(torch, dtype), device=device)
    ae = nmfkit.NonnegativeAutoencoder(2, max_iter=30, tol=0, random_state=0)
    W = ae.fit_transform(X)
    for out in (W, ae.components_, ae.encoder_, ae.transform(X)):
        assert isinstance(out, torch.Tensor) and out.device.type == device
        assert out.dtype == getattr(torch, dtype)
    ref = nmfkit.NonnegativeAutoencoder(2, max_iter=30, tol=0, random_state=0)
    W_np = ref.fit_transform(_small().astype(dtype))
    assert W_np.dtype == np.dtype(dtype)
    if dtype == "float64":
        np.testing.assert_allclose(W.cpu().numpy(), W_np, rtol=1e-8)


def test_errors_name_the_problem():
    X = _small()
    AE = nmfkit.NonnegativeAutoencoder
    with pytest.raises(NMFInputError, match="full batch"):
        AE(2, optimizer="lbfgs", batch_size=4).fit(X)
    with pytest.raises(NMFInputError, match="constraint='abs'"):
        AE(2, optimizer="lbfgs", constraint="project").fit(X)
    with pytest.raises(NMFInputError, match="activation"):
        AE(2, activation="tanh").fit(X)
    with pytest.raises(NMFInputError, match="negative"):
        AE(2, loss="kl").fit(X - 0.5)
    with pytest.raises(NMFInputError, match="shape"):
        AE(2, init="custom").fit(X, encoder=np.ones((3, 2)), decoder=np.ones((2, 20)))
    with pytest.raises(NMFInputError, match="encoder only"):
        AE(2, init="custom", tied=True).fit(X, encoder=np.ones((20, 2)), decoder=np.ones((2, 20)))
    with pytest.raises(NMFInputError, match="validation_fraction"):
        AE(2, early_stopping=True, validation_fraction=1.5).fit(X)


def test_missing_torch_says_how_to_install(monkeypatch):
    from nmfkit.solvers.autoencoder import import_torch

    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError, match=r"pip install 'nmfkit\[torch\]'"):
        import_torch()
