"""Background-contrastive NMF (nmfkit.ContrastiveNMF, contrastive_nmf, contrastive_path)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

import nmfkit
from nmfkit import ContrastiveNMF, contrastive_nmf, contrastive_path
from nmfkit.datasets import load_mice_protein, make_contrastive_counts
from nmfkit.exceptions import ConvergenceWarning, NMFInputError

F32 = np.finfo(np.float32)


def _ari(labels, codes):
    codes = codes.to_numpy() if hasattr(codes, "to_numpy") else np.asarray(codes)
    return adjusted_rand_score(labels, KMeans(2, n_init=10, random_state=0).fit_predict(codes))


#: The planted-basis tests below check the objective's math on the data as given, so they
#: pass preprocess=None: the default "auto" would scale these zero-free continuous data
#: ("scale": each feature divided by its std in each dataset), which changes the units the
#: planted basis is in and amplifies the background's near-empty target-only features to
#: unit spread, so the planted programs are no longer target-only (ARI 1.0 -> -0.007, issue
#: 17 point 5; tests/test_contrastive_mice.py::test_auto_scale_loses_target_only_features,
#: xfail).
AS_GIVEN = dict(preprocess=None)


@pytest.fixture(scope="module")
def planted():
    """Background = 3 shared programs; target = the same plus one of 2 target-only programs."""
    rng = np.random.default_rng(0)
    m = 50
    H = np.zeros((5, m))
    for j in range(5):
        H[j, 10 * j: 10 * j + 10] = rng.uniform(0.5, 1.5, 10)
    H += 0.01
    labels = np.repeat([0, 1], 50)
    WX = np.c_[rng.gamma(2.0, 1.0, (100, 3)), 3.0 * np.eye(2)[labels]]
    X = WX @ H + rng.uniform(0, 0.05, (100, m))
    Y = rng.gamma(2.0, 1.0, (80, 3)) @ H[:3] + rng.uniform(0, 0.05, (80, m))
    return X, Y, H[3:], labels


@pytest.fixture(scope="module")
def sim():
    cache = {}

    def get(beta):
        if beta not in cache:
            d = make_contrastive_counts(beta, random_state=0)
            X, Y = d.log_normalized()
            cache[beta] = (X.astype(np.float32), Y.astype(np.float32), d.labels)
        return cache[beta]

    return get


def mice_pair():
    """Target: Saline S/C mice (Control + Ts65Dn); background: Saline C/S Controls.

    Proteins are divided by their mean over the background (no centering); NaN kept.
    """
    d = load_mice_protein()
    obs = d.obs
    t = (obs.Treatment == "Saline") & (obs.Behavior == "S/C")
    b = (obs.Treatment == "Saline") & (obs.Behavior == "C/S") & (obs.Genotype == "Control")
    scale = d.X[b].mean()
    X, Y = d.X[t] / scale, d.X[b] / scale
    return X, Y, (obs.Genotype[t] == "Ts65Dn").to_numpy().astype(int)


# -- API ---------------------------------------------------------------------------------------
def test_estimator_api_gauge_and_transform(planted):
    X, Y, H_target, labels = planted
    model = ContrastiveNMF(2, alpha=2.0, n_restarts=2, random_state=0, **AS_GIVEN)
    codes = model.fit_transform(X, Y)
    assert codes is model.target_codes_
    assert model.components_.shape == (2, 50)
    assert model.target_codes_.shape == (100, 2) and model.background_codes_.shape == (80, 2)
    np.testing.assert_allclose(model.components_.sum(axis=1), 1.0, rtol=1e-10)
    assert np.all(np.diff(model.enrichment_) <= 0)  # ordered: most target-specific first
    assert model.enrichment_.min() > 1  # both > 2x the background's usage
    unit = lambda A: A / np.linalg.norm(A, axis=1, keepdims=True)  # noqa: E731
    cos = unit(model.components_) @ unit(H_target).T
    assert cos.max(axis=1).min() > 0.95 and set(cos.argmax(axis=1)) == {0, 1}
    assert _ari(labels, model.target_codes_) == 1.0
    # Frobenius without NaN: the final codes are the exact projection transform computes
    np.testing.assert_allclose(model.transform(X), model.target_codes_, atol=1e-8)
    assert model.loss_ == model.loss_history_[-1]
    assert -2.0 <= model.loss_ <= 1.0  # the bound: -alpha <= L <= 1
    assert model.loss_ == pytest.approx(model.target_loss_ - 2.0 * model.background_loss_)
    assert model.get_feature_names_out().tolist() == [f"contrastivenmf{j}" for j in range(2)]
    np.testing.assert_allclose(model.inverse_transform(codes), codes @ model.components_)


def test_functional_keeps_labels_and_matches_estimator(planted):
    X, Y, _, _ = planted
    Xf = pd.DataFrame(X, index=[f"t{i}" for i in range(100)], columns=[f"g{j}" for j in range(50)])
    Yf = pd.DataFrame(Y, columns=Xf.columns)
    res = contrastive_nmf(Xf, Yf, 2, n_restarts=2, random_state=0)
    model = ContrastiveNMF(2, n_restarts=2, random_state=0).fit(X, Y)
    assert list(res.H.columns) == list(Xf.columns) and list(res.W_target.index) == list(Xf.index)
    np.testing.assert_allclose(res.H.to_numpy(), model.components_)
    assert res.restart_losses.shape == (2,) and res.info["restart_valid"].all()
    assert res.loss == res.restart_losses[res.info["restart"]] == min(res.restart_losses)


def test_input_errors(planted):
    X, Y, _, _ = planted
    with pytest.raises(NMFInputError, match="X_target has 50 features but X_background has 49"):
        contrastive_nmf(X, Y[:, :49])
    cols = [f"g{j}" for j in range(50)]
    Xf, Yf = pd.DataFrame(X, columns=cols), pd.DataFrame(Y, columns=cols[::-1])
    with pytest.raises(NMFInputError, match=r"reorder the background"):
        contrastive_nmf(Xf, Yf)
    with pytest.raises(NMFInputError, match="different column labels"):
        contrastive_nmf(Xf, pd.DataFrame(Y, columns=[f"h{j}" for j in range(50)]))
    with pytest.raises(NMFInputError, match="X_background has 1 negative"):
        Yn = Y.copy()
        Yn[0, 0] = -1
        contrastive_nmf(X, Yn)
    with pytest.raises(NMFInputError, match="alpha"):
        contrastive_nmf(X, Y, alpha=-1)
    with pytest.raises(NMFInputError, match="'frobenius' or 'kl'"):
        contrastive_nmf(X, Y, loss="is")
    with pytest.raises(NMFInputError, match="batch_size"):
        contrastive_nmf(X, Y, batch_size=0)
    with pytest.raises(NMFInputError, match="needs a background"):
        ContrastiveNMF().fit(X)
    model = ContrastiveNMF(2, n_restarts=1, max_iter=20, tol=0).fit(Xf, Yf[cols])
    with pytest.raises(NMFInputError, match="features"):
        model.transform(X[:, :30])
    with pytest.raises(NMFInputError, match=r"X\[model.feature_names_in_\]"):
        model.transform(Xf[cols[::-1]])


def test_missing_entries_are_masked_not_dropped():
    X, Y, labels = mice_pair()
    assert X.isna().any(axis=1).sum() == 123  # 123 of the 270 target rows have NaN
    res = contrastive_nmf(X, Y, 3, loss="kl", alpha=0.45, n_restarts=1, random_state=0)
    assert res.W_target.shape == (270, 3) and np.isfinite(res.W_target.to_numpy()).all()
    with pytest.raises(NMFInputError, match="NaN"):
        contrastive_nmf(X, Y, handle_missing="error")


def test_stopping_rule_and_max_time(planted):
    X, Y, _, _ = planted
    res = contrastive_nmf(X, Y, 3, n_restarts=1, max_iter=2000, tol=1e-6, random_state=0)
    assert res.stop_reason == "tol" and res.converged and res.n_iter < 2000
    h = np.asarray(res.loss_history)
    assert np.isfinite(h).all() and h[-1] < h[0]
    res = contrastive_nmf(X, Y, 3, n_restarts=3, max_iter=10**6, tol=0, max_time=0.2,
                          random_state=0)
    assert res.stop_reason == "max_time" and len(res.restart_losses) >= 1


def test_degenerate_restarts_cannot_win(planted):
    """KL at alpha >= 1 drives the basis to its floor: every such run is flagged, never silently kept."""
    X, Y, _, _ = planted
    with pytest.warns(ConvergenceWarning, match="every ContrastiveNMF restart is degenerate"):
        res = contrastive_nmf(X, Y, 3, loss="kl", alpha=5.0, n_restarts=2, max_iter=200,
                              random_state=0)
    assert not res.info["restart_valid"].any()
    assert np.isfinite(res.loss) and res.loss >= -5.0 * np.log(1e10)  # the KL bound
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        ok = contrastive_nmf(X, Y, 3, loss="kl", alpha=0.5, n_restarts=2, random_state=0)
    assert ok.info["restart_valid"].all()


# -- boundedness, scale and sample-count invariance -----------------------------------------------
def _check_float32_safe(res, alpha):
    for A in (res.H, res.W_target, res.W_background):
        A = np.asarray(A.to_numpy() if hasattr(A, "to_numpy") else A)
        assert A.dtype == np.float32 and np.isfinite(A).all()
        nz = np.abs(A[A != 0])
        assert nz.size == 0 or (nz.min() >= F32.tiny and nz.max() < F32.max / 1e6)
    assert np.isfinite(res.loss) and -alpha - 1e-4 <= res.loss <= 1.0 + 1e-4
    assert res.target_loss < 1.0  # better than the zero matrix


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::nmfkit.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("alpha", [0, 0.5, 1, 2, 5, 10, 30, 100])
def test_alpha_scan_is_bounded_in_float32(sim, alpha):
    """Frobenius: finite, -alpha <= L <= 1, target fit better than zero, float32-safe.

    KL (mice): finite and float32-safe with L above its bound; for alpha >= 1 its basis
    sits on the floor (flagged as degenerate by the restart check), which is expected.
    """
    X, Y, _ = sim(8)
    res = contrastive_nmf(X, Y, 2, alpha=alpha, n_restarts=1, max_iter=150, random_state=0)
    _check_float32_safe(res, alpha)
    Xm, Ym, _ = mice_pair()
    res = contrastive_nmf(Xm.astype(np.float32), Ym.astype(np.float32), 3, alpha=alpha,
                          n_restarts=1, random_state=0)
    _check_float32_safe(res, alpha)
    kl = contrastive_nmf(Xm.astype(np.float32), Ym.astype(np.float32), 3, loss="kl",
                         alpha=alpha, n_restarts=1, max_iter=200, random_state=0)
    for A in (kl.H, kl.W_target, kl.W_background):
        A = A.to_numpy()
        nz = A[A != 0]
        assert np.isfinite(A).all() and nz.min() >= F32.tiny and nz.max() < F32.max / 1e6
    assert np.isfinite(kl.loss) and kl.loss >= -alpha * np.log(1e10) - 1e-4
    assert kl.info["restart_valid"].all() == (alpha < 1)
    # with background programs the KL contrast is bounded by the background's own fit,
    # L >= -alpha D_b/E_Y, and no alpha is degenerate
    bg = contrastive_nmf(Xm.astype(np.float32), Ym.astype(np.float32), 3, loss="kl",
                         alpha=alpha, n_background_components=2, n_restarts=1, max_iter=200,
                         random_state=0)
    for A in (bg.H, bg.W_target, bg.W_background, bg.H_shared):
        A = A.to_numpy()
        nz = A[A != 0]
        assert np.isfinite(A).all() and nz.min() >= F32.tiny and nz.max() < F32.max / 1e6
    assert bg.info["restart_valid"].all()
    assert bg.loss >= -alpha * 1.01 * bg.info["shared_loss"] - 1e-6


@pytest.mark.slow
def test_alpha_means_the_same_across_scale_and_sample_counts(sim):
    X, Y, labels = sim(8)
    rng = np.random.default_rng(1)
    Y4 = Y[rng.choice(Y.shape[0], 4 * Y.shape[0], replace=True)]  # 4x the background samples
    kw = dict(n_restarts=1, max_iter=300, random_state=0, **AS_GIVEN)  # the objective's own scaling
    base = contrastive_nmf(X, Y, 2, **kw)
    variants = [contrastive_nmf(1e3 * X, 1e3 * Y, 2, **kw), contrastive_nmf(X, Y4, 2, **kw),
                contrastive_nmf(X, 1e3 * Y, 2, **kw)]
    p0 = KMeans(2, n_init=10, random_state=0).fit_predict(base.W_target)
    assert adjusted_rand_score(labels, p0) >= 0.99
    for res in variants:
        p = KMeans(2, n_init=10, random_state=0).fit_predict(res.W_target)
        assert adjusted_rand_score(p0, p) >= 0.99
    assert variants[0].loss == pytest.approx(base.loss, rel=1e-4)  # L is scale-free


# -- science -------------------------------------------------------------------------------------
#: Target-subtype ARI of the plain model (Frobenius on log-normalised counts, k = 2, default
#: alpha; KMeans(2) on the raw target codes). At beta = 16 the shared programs' dense noise
#: leaks into the target genes at 3x the target signal: a supervised logistic regression on
#: the log-normalised target genes reaches only 0.98 there. The model with background
#: programs (next test) models that leak and reaches 0.99 at every beta.
#: These are the model's on the log-normalised data as given, which is also what the default
#: preprocess="auto" does there (54 % zeros: test_simulation_default_auto_fits_as_given);
#: scaled ("scale": each gene divided by its spread in each dataset) beta = 16 would fall to
#: 0.872, and with 7 background programs beta = 8 / 16 to 0.988 / 0.984.
SIM_ARI = {0: 0.99, 1: 0.99, 2: 0.99, 4: 0.99, 8: 0.99, 16: 0.95}


@pytest.mark.slow
@pytest.mark.parametrize("beta", [0, 1, 2, 4, 8, 16])
def test_simulation_subtypes_with_background_programs(beta):
    """KL on the raw counts, 7 background programs, the default alpha: ARI >= 0.99 at every beta.

    The 7 background programs cover the 5 shared programs, the constant and the gene-noise
    profile; their codes absorb the offsets that shared programs leave on the target genes.
    """
    d = make_contrastive_counts(beta, random_state=0, dtype=np.float32)
    res = contrastive_nmf(d.X, d.Y, 2, loss="kl", n_background_components=7, n_restarts=1,
                          random_state=0)
    assert res.W_target.shape == (1000, 2) and res.H_shared.shape == (7, 3000)
    assert _ari(d.labels, res.W_target) >= 0.99
    assert res.enrichment.min() > 3.0  # both components used > 8x more by the target
    # each contrastive component is one of the true target programs
    H, T = np.asarray(res.H), d.H_target
    cos = (H / np.linalg.norm(H, axis=1, keepdims=True)) @ (T / np.linalg.norm(T, axis=1,
                                                                              keepdims=True)).T
    assert len(set(cos.argmax(axis=1))) == 2 and cos.max(axis=1).min() > 0.9
    # the background is explained as well as by its own NMF (bounded contrast)
    assert res.background_loss <= 1.01 * res.info["shared_loss"]


@pytest.mark.slow
@pytest.mark.parametrize("beta", [8, 16])
def test_simulation_background_programs_frobenius_on_log_data(sim, beta):
    """The default loss on the log-normalised data also passes 0.99 with background programs."""
    X, Y, labels = sim(beta)
    res = contrastive_nmf(X, Y, 2, n_background_components=7, random_state=0, **AS_GIVEN)
    assert _ari(labels, res.W_target) >= 0.99  # the plain model: 0.964 at beta = 16
    assert res.enrichment.min() > 2.0


@pytest.mark.slow
@pytest.mark.parametrize("beta", [0, 1, 2, 4, 8, 16])
def test_simulation_subtypes_recovered_where_nmf_fails(sim, beta):
    X, Y, labels = sim(beta)
    res = contrastive_nmf(X, Y, 2, n_restarts=2, max_iter=300, random_state=0, **AS_GIVEN)
    assert _ari(labels, res.W_target) >= SIM_ARI[beta]
    assert res.enrichment.min() > 0.3  # both components target-specific
    if beta >= 1:
        plain = nmfkit.nmf(X, 2, random_state=0, max_iter=100, tol=1e-4)
        assert _ari(labels, plain.W) < 0.05


@pytest.mark.slow
def test_simulation_default_auto_fits_as_given(sim):
    """Log-normalised counts are rich in zeros (54 % here): the default "auto" fits them as
    given, so the hardest simulation keeps its ARI (scaled it fell to 0.872)."""
    X, Y, labels = sim(16)
    res = contrastive_nmf(X, Y, 2, n_restarts=2, max_iter=300, random_state=0)
    assert res.info["preprocess_used"] is None
    assert _ari(labels, res.W_target) >= SIM_ARI[16]


@pytest.mark.slow
def test_mice_genotype_ari_and_minibatch():
    """KL, proteins scaled by their background mean, k=3, alpha=0.45; KMeans(2) on raw codes.

    Run with the default preprocess="auto" (-> "scale"; the division by the background mean
    then changes nothing): median ARI 0.776 over seeds 0-4 (mini-batch 0.789); with
    preprocess=None 0.604 (mini-batch 0.604)."""
    X, Y, labels = mice_pair()
    aris, full = [], None
    for seed in range(5):
        res = contrastive_nmf(X, Y, 3, loss="kl", alpha=0.45, random_state=seed)
        aris.append(_ari(labels, res.W_target))
        full = full or res
    # two control mice (3516, J2292) look trisomic on the strongest genotype proteins:
    # 0.60 is 2 of 18 mice misassigned (0.75 would need at most one). Even a supervised
    # logistic regression, leave-one-mouse-out, misassigns J2292 (ARI 0.74; see
    # benchmarks/bench_contrastive.py), so 0.75 is at the ceiling of linear read-outs.
    assert np.median(aris) >= 0.59
    mb = contrastive_nmf(X, Y, 3, loss="kl", alpha=0.45, batch_size=64, random_state=0)
    assert abs(mb.loss - full.loss) <= 0.02 * abs(full.loss)
    assert _ari(labels, mb.W_target) >= 0.55


@pytest.mark.filterwarnings("ignore::nmfkit.exceptions.ConvergenceWarning")  # near-exact data
def test_background_programs_are_fixed_and_bound_the_kl_contrast(planted):
    """The background NMF's basis is kept as is; with KL, alpha >= 1 is no longer degenerate."""
    X, Y, H_target, labels = planted
    plain = nmfkit.nmf(Y, 3, loss="kl", random_state=0, max_iter=1000, tol=1e-5)
    for alpha in (0.5, 2.0, 10.0):
        model = ContrastiveNMF(2, loss="kl", alpha=alpha, n_background_components=3, n_restarts=2,
                               random_state=0, **AS_GIVEN).fit(X, Y)
        Hb = model.background_components_
        assert Hb.shape == (3, X.shape[1]) and model.components_.shape == (2, X.shape[1])
        np.testing.assert_allclose(Hb.sum(axis=1), 1.0, rtol=1e-6)
        # the background programs are the background's own NMF (up to order)
        cos = (Hb / np.linalg.norm(Hb, axis=1, keepdims=True)) @ (
            plain.H / np.linalg.norm(plain.H, axis=1, keepdims=True)).T
        assert cos.max(axis=1).min() > 0.99
        assert model.result_.restart_valid.all()  # not degenerate, even for alpha >= 1
        assert model.background_loss_ <= 1.01 * model.result_.shared_loss
        assert _ari(labels, model.target_codes_) == 1.0
        assert model.enrichment_.min() > 2.0
        assert model.target_shared_codes_.shape == (X.shape[0], 3)
        assert model.background_shared_codes_.shape == (Y.shape[0], 3)
        W = model.transform(X)  # codes on components_, fitted on both bases
        assert W.shape == (X.shape[0], 2) and _ari(labels, W) == 1.0
    mb = ContrastiveNMF(2, loss="kl", n_background_components=3, batch_size=32, n_restarts=1,
                        random_state=0, **AS_GIVEN).fit(X, Y)
    np.testing.assert_allclose(mb.background_components_, Hb, rtol=1e-9)  # same stage 1, to round-off
    assert _ari(labels, mb.target_codes_) == 1.0
    with pytest.raises(NMFInputError, match="n_background_components"):
        contrastive_nmf(X, Y, 2, n_background_components=-1)


# -- backends ------------------------------------------------------------------------------------
@pytest.mark.parametrize("loss", ["frobenius", "kl"])
def test_sparse_input_matches_dense(planted, loss):
    import scipy.sparse as sp

    X, Y, _, _ = planted
    X0 = np.where(X > 0.3, X, 0.0)
    kw = dict(loss=loss, alpha=0.5, n_restarts=1, max_iter=40, tol=0, random_state=0, **AS_GIVEN)
    a = contrastive_nmf(X0, Y, 2, **kw)
    b = contrastive_nmf(sp.csr_matrix(X0), sp.csr_matrix(Y), 2, **kw)
    np.testing.assert_allclose(b.H, a.H, atol=1e-10)
    assert b.loss == pytest.approx(a.loss, rel=1e-9)
    kw.update(n_background_components=2, max_iter=30)  # the background NMF on CSR too
    a = contrastive_nmf(X0, Y, 2, **kw)
    b = contrastive_nmf(sp.csr_matrix(X0), sp.csr_matrix(Y), 2, **kw)
    np.testing.assert_allclose(b.H_shared, a.H_shared, atol=1e-8)
    np.testing.assert_allclose(b.H, a.H, atol=1e-8)
    assert b.loss == pytest.approx(a.loss, rel=1e-7)


@pytest.mark.torch
def test_torch_matches_numpy_and_stays_on_device(planted):
    torch = pytest.importorskip("torch")
    X, Y, _, _ = planted
    a = contrastive_nmf(X, Y, 2, n_restarts=2, max_iter=100, tol=0, random_state=0, **AS_GIVEN)
    b = contrastive_nmf(torch.as_tensor(X), torch.as_tensor(Y), 2, n_restarts=2, max_iter=100,
                        tol=0, random_state=0, **AS_GIVEN)
    assert isinstance(b.H, torch.Tensor) and b.H.device == torch.as_tensor(X).device
    np.testing.assert_allclose(b.H.numpy(), a.H, atol=1e-8)
    assert b.loss == pytest.approx(a.loss, rel=1e-10)
    c = contrastive_nmf(torch.as_tensor(X, dtype=torch.float32),
                        torch.as_tensor(Y, dtype=torch.float32), 2, batch_size=32, n_restarts=1,
                        random_state=0)
    assert c.W_target.dtype == torch.float32 and torch.isfinite(c.W_target).all()
    model = ContrastiveNMF(2, n_restarts=1, max_iter=50, tol=0).fit(torch.as_tensor(X),
                                                             torch.as_tensor(Y))
    assert isinstance(model.transform(torch.as_tensor(X)), torch.Tensor)
    kw = dict(loss="kl", n_background_components=3, n_restarts=1, max_iter=60, tol=0,
              random_state=0, **AS_GIVEN)
    a, b = contrastive_nmf(X, Y, 2, **kw), contrastive_nmf(torch.as_tensor(X), torch.as_tensor(Y),
                                                           2, **kw)
    assert isinstance(b.H_shared, torch.Tensor) and isinstance(b.H, torch.Tensor)
    # the KL background programs run the fastest solver of each backend (coordinate descent on
    # NumPy with numba, MU on torch), so the two fits are compared by what they find, not entrywise
    _, _, H_true, labels = planted
    for res in (a, b):
        np.testing.assert_allclose(np.asarray(res.H_shared).sum(axis=1), 1.0, rtol=1e-6)
        assert _ari(labels, np.asarray(res.W)) == 1.0


@pytest.mark.gpu
def test_cuda_computation_stays_on_gpu(planted):
    import torch

    X, Y, _, _ = planted
    res = contrastive_nmf(torch.as_tensor(X, device="cuda"), torch.as_tensor(Y, device="cuda"), 3,
                          n_restarts=1, batch_size=32, random_state=0)
    assert res.H.is_cuda and res.W_target.is_cuda
    bg = contrastive_nmf(torch.as_tensor(X, device="cuda"), torch.as_tensor(Y, device="cuda"), 2,
                         loss="kl", n_background_components=3, n_restarts=1, random_state=0)
    assert bg.H.is_cuda and bg.H_shared.is_cuda and bg.W_target_shared.is_cuda


# -- contrastive_path and plots -------------------------------------------------------------------
def test_contrastive_path_table_and_plot(planted):
    X, Y, _, _ = planted
    path = contrastive_path(X, Y, alphas=[0, 2], n_components=[2, 3], n_restarts=2, max_iter=200,
                            random_state=0, **AS_GIVEN)
    t = path.table
    assert len(t) == 4 and set(t["n_components"]) == {2, 3}
    k3 = t[t.n_components == 3].set_index("alpha")
    # contrast rises with alpha: the background is suppressed far more than the target
    assert k3.loc[2.0, "contrast"] > k3.loc[0.0, "contrast"] + 1
    assert k3.loc[2.0, "background_explained"] < 0.5 * k3.loc[0.0, "background_explained"]
    assert (t["stability"].between(0, 1 + 1e-9)).all() and k3.loc[2.0, "stability"] > 0.9
    assert len(path.bases[(3, 2.0)]) == 2
    fig = path.plot()
    assert len(fig.axes) == 3
    from nmfkit.plotting import plot_enrichment

    ax = plot_enrichment(ContrastiveNMF(3, n_restarts=1, random_state=0).fit(X, Y))
    assert len(ax.patches) == 3


@pytest.mark.filterwarnings("ignore::nmfkit.exceptions.ConvergenceWarning")
def test_contrastive_path_with_background_programs(planted):
    """Explained shares are gains over the background programs; stable target programs at alpha 2."""
    X, Y, H_target, _ = planted
    path = contrastive_path(X, Y, alphas=[0, 2], n_components=2, loss="kl",
                            n_background_components=3, n_restarts=2, max_iter=300,
                            random_state=0, **AS_GIVEN)
    t = path.table.set_index("alpha")
    assert path.bases[(2, 2.0)][0].shape == (2, X.shape[1])  # contrastive rows only
    # the two target programs explain nearly all the held-out target's deviance left by the
    # background programs; of the held-out background's (pure noise) they fit a third
    assert t.loc[2.0, "target_explained"] > 0.9 and t.loc[2.0, "background_explained"] < 0.5
    assert t.loc[2.0, "contrast"] > 1 and t.loc[2.0, "stability"] > 0.95
    assert t.loc[2.0, "min_enrichment"] > 2
    with pytest.raises(NMFInputError, match="n_background_components"):
        contrastive_path(X, Y, alphas=[1], n_background_components=-2)
