"""ArchetypalAnalysis (Cutler & Breiman 1994) by PCHA (Mørup & Hansen 2012): structure, truth, peer"""

import importlib.util
import time
import warnings

import numpy as np
import pytest
from scipy.optimize import nnls
from sklearn.utils.estimator_checks import parametrize_with_checks

from nmfkit.exceptions import ConvergenceWarning, NMFInputError
from nmfkit.models.archetypal import ArchetypalAnalysis, archetypal_analysis
from nmfkit.solvers.pcha import simplex_codes
from nmfkit.backends import get_namespace

pytestmark = pytest.mark.filterwarnings("ignore::nmfkit.exceptions.ConvergenceWarning")

CORNERS = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 3.0]])


def _triangle(n=300, seed=0, shift=-1.0):
    """Samples filling a triangle (mixed signs after the shift), its corners included."""
    rng = np.random.default_rng(seed)
    X = rng.dirichlet(np.full(3, 0.5), n) @ CORNERS
    X[:3] = CORNERS
    return X + shift, CORNERS + shift


def _on_simplex(M, axis=1):
    return bool((M >= 0).all() and np.allclose(M.sum(axis=axis), 1.0, atol=1e-10))


def test_pcha_recovers_planted_archetypes_on_mixed_sign_data_and_is_monotone():
    X, corners = _triangle()
    model = ArchetypalAnalysis(3, tol=1e-10, max_iter=2000, random_state=0)
    A = model.fit_transform(X)
    Z, B = model.archetypes_, model.combination_
    assert Z is model.components_ and Z.shape == (3, 2) and B.shape == (3, X.shape[0])
    assert _on_simplex(A) and _on_simplex(B)
    np.testing.assert_allclose(Z, B @ X, atol=1e-12)
    # every planted corner is an archetype (matched by nearest distance)
    dist = np.linalg.norm(Z[:, None, :] - corners[None, :, :], axis=2)
    assert dist.min(axis=0).max() < 1e-3
    assert model.explained_variance_ > 0.9999
    h = np.asarray(model.loss_history_)
    # monotone up to the rounding of the SSE formed from ‖X‖² (PCHA's expansion)
    assert (np.diff(h) <= 1e-9 * h[:-1] + 1e-14 * (X * X).sum()).all()
    np.testing.assert_allclose(model.loss_, 0.5 * ((X - A @ Z) ** 2).sum(), rtol=1e-10)
    # archetypes ordered by usage
    assert (np.diff(A.sum(axis=0)) <= 1e-12).all()


def test_transform_is_the_simplex_projection_and_matches_the_fit_codes():
    X, _ = _triangle(seed=1)
    model = ArchetypalAnalysis(3, max_iter=200, random_state=0).fit(X)
    A = model.transform(X)
    assert _on_simplex(A)
    loss_t = 0.5 * ((X - A @ model.components_) ** 2).sum()
    assert loss_t <= model.loss_ * (1 + 1e-6) + 1e-12
    # a point outside the hull is coded by its projection onto the hull (here a corner)
    far = np.array([[30.0, -20.0]])
    a = model.transform(far)
    assert _on_simplex(a) and a.max() > 1 - 1e-8
    np.testing.assert_allclose(model.inverse_transform(A), A @ model.components_)


def test_simplex_codes_are_exact_kkt_points():
    rng = np.random.default_rng(0)
    Z = rng.standard_normal((5, 6)) * 4
    X = rng.standard_normal((40, 6)) * 4
    A = simplex_codes(X, Z, get_namespace(X))
    assert _on_simplex(A)
    G, C = Z @ Z.T, X @ Z.T
    for a, c in zip(A, C):  # KKT: the gradient is one value ν on the support and >= ν off it
        g = a @ G - c
        on = a > 1e-12
        nu = g[on].mean()
        np.testing.assert_allclose(g[on], nu, atol=1e-7 * np.abs(g).max())
        assert (g[~on] >= nu - 1e-7 * np.abs(g).max()).all()
    for x, a in zip(X, A):  # and no worse than Cutler & Breiman's heavily weighted NNLS
        ref = _simplex_ls(Z.T, x, 1e4)
        assert ((x - a @ Z) ** 2).sum() <= ((x - ref @ Z) ** 2).sum() * (1 + 1e-9)


def _simplex_ls(M, y, const):
    """argmin ‖y − M a‖ over the simplex: NNLS with a heavily weighted row of ones (C&B)."""
    a = nnls(np.vstack([M, const * np.ones(M.shape[1])]), np.append(y, const))[0]
    return a / a.sum()


def cutler_breiman(X, k, n_iter=20, tol=1e-5, seed=0):
    """Independent reference: Cutler & Breiman's alternating constrained least squares.

    Codes by NNLS per sample; then the unconstrained least-squares archetypes, each
    replaced by its closest convex combination of samples (NNLS over the samples),
    all with the sum-to-one row weighted by ``200 × rms(X)``. Small and slow, but a
    different algorithm from PCHA.
    """
    rng = np.random.default_rng(seed)
    n = X.shape[0]
    const = 200.0 * np.sqrt((X * X).mean())
    B = np.zeros((k, n))
    B[np.arange(k), rng.choice(n, k, replace=False)] = 1
    Z, prev = B @ X, np.inf
    for _ in range(n_iter):
        A = np.array([_simplex_ls(Z.T, x, const) for x in X])
        Z_free = np.linalg.lstsq(A, X, rcond=None)[0]
        Z = np.array([_simplex_ls(X.T, z, const) for z in Z_free]) @ X
        A = np.array([_simplex_ls(Z.T, x, const) for x in X])
        sse = ((X - A @ Z) ** 2).sum()
        if prev - sse < tol * sse:
            break
        prev = sse
    return A, Z


@pytest.mark.slow
def test_explained_variance_on_digits_matches_the_peer():
    """Digits (a seeded subset of 300 of 1,797 samples, to keep the reference fast), k = 6.

    The peer is the PyPI ``archetypes`` package (AA, projected gradient, FurthestSum start)
    when it is importable, otherwise the independent Cutler–Breiman reference above.
    Explained variance ``1 − ‖X − A Z‖² / ‖X − X̄‖²``: nmfkit must not be more than 1 %
    (relative) below the peer's.
    """
    from nmfkit.datasets import load_digits

    X = load_digits().X
    X = X[np.random.default_rng(0).choice(X.shape[0], 300, replace=False)]
    k = 6
    sst = ((X - X.mean(axis=0)) ** 2).sum()
    t0 = time.perf_counter()
    model = ArchetypalAnalysis(k, random_state=0).fit(X)
    t_ours = time.perf_counter() - t0
    ours = model.explained_variance_
    resid = X - model.result_.W @ model.archetypes_
    np.testing.assert_allclose(ours, 1 - (resid**2).sum() / sst)
    t0 = time.perf_counter()
    if importlib.util.find_spec("archetypes") is not None:
        import archetypes

        # fitted on X / rms (AA is scale-equivariant): on raw 0-16 pixels its line search
        # (step 1, 10 halvings) often accepts no step and stops after 2 iterations
        rms = np.sqrt((X * X).mean())
        peer_name = f"archetypes {archetypes.__version__} AA(init='furthest_sum') on X/rms"
        peer = archetypes.AA(k, init="furthest_sum", random_state=0).fit(X / rms)
        A_p, Z_p = peer.A_, peer.archetypes_ * rms
    else:
        peer_name = "Cutler-Breiman alternating NNLS (reference in this file)"
        A_p, Z_p = cutler_breiman(X, k)
    t_peer = time.perf_counter() - t0
    theirs = 1 - ((X - A_p @ Z_p) ** 2).sum() / sst
    print(f"\ndigits[300], k={k}: explained variance nmfkit {ours:.5f} ({t_ours:.2f} s, "
          f"{model.n_iter_} iterations) vs {peer_name} {theirs:.5f} ({t_peer:.2f} s); "
          f"relative difference {(ours - theirs) / theirs:+.4%}")
    assert _on_simplex(A_p, 1)
    assert ours >= 0.99 * theirs
    # AA has local optima: restarts keep the best fit (seed 0 alone lands on a worse one)
    best = ArchetypalAnalysis(k, n_restarts=3, random_state=0).fit(X).explained_variance_
    print(f"nmfkit with n_restarts=3: {best:.5f} ({(best - theirs) / theirs:+.4%})")
    assert best >= ours and best >= 0.999 * theirs


def test_function_form_equals_the_estimator_and_custom_start():
    X, _ = _triangle(n=80, seed=2)
    res = archetypal_analysis(X, 3, random_state=0)
    model = ArchetypalAnalysis(3, random_state=0)
    A = model.fit_transform(X)
    np.testing.assert_allclose(res.W, A)
    np.testing.assert_allclose(res.H, model.archetypes_)
    np.testing.assert_allclose(res.info["B"], model.combination_)
    assert res.solver == "pcha" and res.info["explained_variance"] == model.explained_variance_
    # a converged fit restarted from itself stays put
    again = ArchetypalAnalysis(3, init="custom", random_state=0)
    again.fit(X, A=A, B=model.combination_)
    assert again.loss_ <= model.loss_ * (1 + 1e-9)


def test_input_handling_sparse_nan_rank_dtype():
    import scipy.sparse as sp

    X, _ = _triangle(n=40)
    with pytest.raises(NMFInputError, match="toarray"):
        ArchetypalAnalysis(3).fit(sp.csr_matrix(np.abs(X)))
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(NMFInputError, match="NaN"):
        ArchetypalAnalysis(3).fit(Xn)
    with pytest.raises(NMFInputError, match="n_archetypes"):
        ArchetypalAnalysis(41).fit(X)
    with pytest.raises(NMFInputError, match="custom"):
        ArchetypalAnalysis(3).fit(X, B=np.ones((3, 40)))
    model = ArchetypalAnalysis(4, random_state=0).fit(X.astype(np.float32))  # k > n_features
    assert model.archetypes_.dtype == np.float32 and model.transform(X[:5]).dtype == np.float64
    assert model.transform(X[:5].astype(np.float32)).dtype == np.float32


@pytest.mark.torch
def test_torch_input_matches_numpy():
    torch = pytest.importorskip("torch")
    X = np.random.default_rng(3).standard_normal((60, 4))
    kw = dict(max_iter=30, tol=0, random_state=0)
    ref = ArchetypalAnalysis(3, **kw).fit(X)
    threads = torch.get_num_threads()
    got = ArchetypalAnalysis(3, **kw).fit(torch.as_tensor(X))
    assert torch.get_num_threads() == threads  # the one-thread limit of small fits is undone
    assert isinstance(got.archetypes_, torch.Tensor) and got.archetypes_.dtype == torch.float64
    # the same path up to BLAS rounding (which a long line-search path amplifies slightly)
    np.testing.assert_allclose(got.loss_, ref.loss_, rtol=1e-6)
    np.testing.assert_allclose(got.archetypes_.numpy(), ref.archetypes_, atol=1e-4)
    codes = got.transform(torch.as_tensor(X[:5]))
    assert isinstance(codes, torch.Tensor)
    np.testing.assert_allclose(codes.numpy(), ref.transform(X[:5]), atol=1e-6)


@parametrize_with_checks([ArchetypalAnalysis(2, max_iter=50, random_state=0)])
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)
