"""β-divergence coordinate descent for 1 < β < 2 (``solver="cd"``, issue 16 point 1):
monotone per half-step, at least as good as MU per iteration, recovers planted factors,
reaches MU's fixed point; wired into ``nmf`` / ``NMF`` with the errors naming the fix."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import nmfkit
from nmfkit._matching import match_cosine
from nmfkit.backends import get_namespace
from nmfkit.exceptions import NMFInputError
from nmfkit.losses import Target, Term
from nmfkit.solvers import BlockPenalty, LoopOptions, MUStep, make_step, objective_fn, run_terms
from nmfkit.solvers.beta_cd import BetaCDStep
from nmfkit.solvers.kl_cd import KLCDStep, numba_available

KERNELS = ["numpy"] + (["numba"] if numba_available() else [])


def _counts(seed, m, n, k, zeros=0.3):
    rng = np.random.default_rng(seed)
    X = rng.poisson(rng.gamma(1.0, 1.0, (m, k)) @ rng.gamma(1.0, 1.0, (k, n))).astype(float)
    X[rng.random((m, n)) < zeros] = 0.0
    return X


def _planted(seed=0, m=150, n=100, k=3):
    rng = np.random.default_rng(seed)
    H = rng.gamma(0.3, 1.0, (k, n))
    for j in range(k):  # each program has its own block of marker features
        H[j, j * (n // k): (j + 1) * (n // k)] += 2.0
    W = rng.gamma(1.0, 8.0, (m, k))
    return rng.poisson(W @ H).astype(float), W, H


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 10_000), m=st.integers(2, 20), n=st.integers(2, 20), k=st.integers(1, 4),
       beta=st.floats(1.01, 1.99), kind=st.sampled_from(["dense", "sparse", "masked"]),
       l1=st.sampled_from([0.0, 0.5]), inner=st.sampled_from([1, 2]), kernel=st.sampled_from(KERNELS))
def test_no_half_step_increases_the_objective(seed, m, n, k, beta, kind, l1, inner, kernel):
    X = _counts(seed, m, n, k)
    M = (np.random.default_rng(seed + 1).random((m, n)) > 0.2).astype(float) if kind == "masked" else None
    if not (X if M is None else X * M).sum() > 0:
        return
    data = sp.csr_matrix(X) if kind == "sparse" else X
    b = get_namespace(data)
    t = Term(Target(data, M, b), beta)
    pens = {"W": BlockPenalty(l1, 0.1 * l1), "H": BlockPenalty(0.0, l1)} if l1 else {}
    halves = [BetaCDStep([t], b, blocks=(blk,), penalties=pens, inner=inner, kernel=kernel)
              for blk in ("W", "H")]
    # the step densifies a sparse X, so it is monotone in the dense objective; the sparse
    # value of nmfkit.losses floors y at EPSILON in x y^(β−1), the dense one does not
    # (they differ where y < EPSILON < x)
    objective = objective_fn([Term(Target(X, M, get_namespace(X)), beta)], get_namespace(X), pens)
    rng = np.random.default_rng(seed + 7)
    state = {"W": rng.random((2, m, k)) + 0.01, "H": rng.random((2, k, n)) + 0.01}
    hist = [objective(state)]
    for _ in range(8):
        for half in halves:
            own = half(state, np.arange(2), True)
            hist.append(objective(state))
            # the step's own value (from the A B it maintained) is the objective
            np.testing.assert_allclose(own, hist[-1], rtol=1e-9, atol=1e-9 * X.sum())
    hist = np.array(hist)
    assert np.all(np.diff(hist, axis=0) <= 1e-10 * np.abs(hist[:-1]) + 1e-12)
    assert all(np.all(np.isfinite(v)) and np.all(v >= 0) for v in state.values())


def test_cd_beats_mu_at_equal_iterations_and_recovers_planted_factors():
    X, W, H = _planted()
    b = get_namespace(X)
    t = Term(Target(X, None, b), 1.5)
    rng = np.random.default_rng(1)
    W0, H0 = rng.random((1, 150, 3)) + 0.1, rng.random((1, 3, 100)) + 0.1
    out = {}
    for name in ("mu", "cd"):
        state = {"W": W0.copy(), "H": H0.copy()}
        loop, step = run_terms([t], state, b, solver=name,
                               options=LoopOptions(max_iter=30, tol=0, warn=False), accelerate=False)
        out[name] = float(loop.restart(0).loss_history[-1])
    assert isinstance(step, BetaCDStep)
    # measured: cd 3.101e4 vs mu 3.245e4 after 30 iterations from the same start
    assert out["cd"] <= out["mu"], out
    res = nmfkit.nmf(X, 3, loss=1.5, solver="cd", init="random", random_state=0, max_iter=200, tol=1e-8)
    _, _, cos_H = match_cosine(res.H, H)
    _, _, cos_W = match_cosine(res.W.T, W.T)
    assert cos_H.min() >= 0.99 and cos_W.min() >= 0.99, (cos_H, cos_W)


def test_cd_reaches_the_fixed_point_of_mu():
    X, _, _ = _planted(3, 40, 30, 2)
    b = get_namespace(X)
    t = Term(Target(X, None, b), 1.3)
    rng = np.random.default_rng(2)
    start = {"W": rng.random((1, 40, 2)) + 0.1, "H": rng.random((1, 2, 30)) + 0.1}
    fits = {}
    for name, n_iter in (("cd", 300), ("mu", 4000)):
        state = {key: v.copy() for key, v in start.items()}
        loop, _ = run_terms([t], state, b, solver=name, accelerate=name == "cd",
                            options=LoopOptions(max_iter=n_iter, tol=1e-14, warn=False))
        fits[name] = (float(loop.restart(0).loss_history[-1]), loop.restart(0).blocks)
    f_cd, f_mu = fits["cd"][0], fits["mu"][0]
    assert abs(f_cd - f_mu) <= 1e-6 * f_mu, (f_cd, f_mu)
    # MU started at CD's point stays there: CD's point is a fixed point of MU
    state = {key: v.copy()[None] for key, v in fits["cd"][1].items()}
    objective = objective_fn([t], b)
    mu = MUStep([t], b)
    for _ in range(200):
        mu(state)
    assert abs(float(objective(state)[0]) - f_cd) <= 1e-7 * f_cd
    H_cd = fits["cd"][1]["H"]
    np.testing.assert_allclose(state["H"][0] / state["H"][0].sum(axis=1, keepdims=True),
                               H_cd / H_cd.sum(axis=1, keepdims=True), atol=1e-4)


@pytest.mark.parametrize("kernel", KERNELS)
def test_dense_equals_sparse(kernel):
    X = _counts(3, 30, 25, 3, zeros=0.5)
    fits = []
    for data in (X, sp.csr_matrix(X)):
        b = get_namespace(data)
        step = BetaCDStep([Term(Target(data, None, b), 1.7)], b, kernel=kernel)
        rng = np.random.default_rng(5)
        state = {"W": rng.random((1, 30, 3)) + 0.01, "H": rng.random((1, 3, 25)) + 0.01}
        for _ in range(8):
            step(state, np.arange(1), True)
        fits.append(state)
    for key in ("W", "H"):
        np.testing.assert_allclose(fits[0][key], fits[1][key], rtol=1e-10, atol=1e-13)


def test_estimator_end_to_end_masked_and_auto(monkeypatch):
    import nmfkit.solvers.kl_cd as kl_cd

    X, _, _ = _planted(4, 80, 60, 3)
    model = nmfkit.NMF(3, loss=1.5, solver="cd", random_state=0, max_iter=80).fit(X)
    res = model.result_
    assert res.solver == "cd"
    np.testing.assert_allclose(model.components_.sum(axis=1), 1.0)  # the one gauge
    assert np.all(np.diff(res.loss_history) <= 1e-12 * res.loss_history[0])
    mu = nmfkit.nmf(X, 3, loss=1.5, solver="mu", random_state=0, max_iter=80, tol=0)
    assert res.loss <= mu.loss
    # "auto" is CD for 1 < beta < 2 where the compiled kernel runs, else MU
    # (bench_beta_cd.py: the NumPy path is not clearly faster than MU)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        auto = nmfkit.nmf(X, 3, loss=1.5, random_state=0, max_iter=5).solver
        monkeypatch.setattr(kl_cd, "numba_available", lambda: False)
        assert nmfkit.nmf(X, 3, loss=1.5, random_state=0, max_iter=5).solver == "mu"
        assert nmfkit.nmf(X, 3, loss=2.5, random_state=0, max_iter=5).solver == "mu"
    assert auto == ("cd" if numba_available() else "mu")
    # missing values: NaN entries and masked-out entries give the same fit
    missing = np.random.default_rng(0).random(X.shape) < 0.1
    Xnan, Xbig = X.copy(), X.copy()
    Xnan[missing], Xbig[missing] = np.nan, 1e4
    kw = dict(loss=1.5, solver="cd", init="random", random_state=0, max_iter=40, tol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = nmfkit.nmf(Xnan, 3, **kw)
        b = nmfkit.nmf(Xbig, 3, mask=~missing, **kw)
    np.testing.assert_allclose(a.W, b.W, rtol=1e-9)
    np.testing.assert_allclose(a.loss, b.loss, rtol=1e-12)
    assert np.all(np.diff(a.loss_history) <= 1e-12 * a.loss_history[0])


def test_engine_dispatch_and_errors_name_the_fix():
    X = _counts(0, 10, 8, 2)
    b = get_namespace(X)
    assert isinstance(make_step([Term(Target(X, None, b), 1.0)], b, solver="cd"), KLCDStep)
    assert not isinstance(make_step([Term(Target(X, None, b), 1.0)], b, solver="cd"), BetaCDStep)
    assert isinstance(make_step([Term(Target(X, None, b), 1.5)], b, solver="cd"), BetaCDStep)
    with pytest.raises(NMFInputError, match=r"not beta=2.5; use solver='mu'"):
        nmfkit.nmf(X, 2, loss=2.5, solver="cd")
    with pytest.raises(NMFInputError, match=r"not beta=2; use solver='mu' .* solver='hals' is exact"):
        nmfkit.nmf(X, 2, loss="frobenius", solver="cd")
    with pytest.raises(NMFInputError, match=r"not beta=0.5; use solver='mu'"):
        nmfkit.nmf(X, 2, loss=0.5, solver="cd")
    with pytest.raises(NMFInputError, match="not this model; use solver='mu'"):
        nmfkit.MiniBatchNMF(2, loss=1.5, solver="cd").fit(X)
    with pytest.raises(ValueError, match="1 < beta < 2"):
        BetaCDStep([Term(Target(X, None, b), 1.0)], b)


@pytest.mark.skipif(not numba_available(), reason="numba not installed")
@pytest.mark.parametrize("weights", [False, True])
def test_numba_kernel_matches_numpy_path(weights):
    X = _counts(5, 30, 20, 3)
    M = (np.random.default_rng(1).random(X.shape) > 0.2) * 1.0 if weights else None
    b = get_namespace(X)
    t = Term(Target(X, M, b), 1.4)
    pens = {"W": BlockPenalty(0.3, 0.1)}
    states, values = [], []
    for kernel in ("numpy", "numba"):
        rng = np.random.default_rng(6)
        state = {"W": rng.random((2, 30, 3)) + 0.01, "H": rng.random((2, 3, 20)) + 0.01}
        step = BetaCDStep([t], b, penalties=pens, kernel=kernel, inner=2)
        values.append([step(state, np.arange(2), True) for _ in range(10)])
        states.append(state)
    for key in ("W", "H"):
        np.testing.assert_allclose(states[0][key], states[1][key], rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(values[0], values[1], rtol=1e-10)


@pytest.mark.skipif(not numba_available(), reason="numba not installed")
@pytest.mark.parametrize("sparse", [False, True])
def test_numba_rows_in_parallel_give_the_serial_result(monkeypatch, sparse):
    """The parallel driver (prange over rows) equals the serial one (rows are independent;
    to 1e-12, not bit for bit: the row function compiled inside the parallel driver may
    contract multiply-adds differently); both are compiled functions of their own (a shared
    cache entry once made the 'parallel' sweep the serial code)."""
    from nmfkit.solvers import _beta_cd_numba

    assert _beta_cd_numba._sweep_parallel is not _beta_cd_numba._sweep_serial
    X = _counts(3, 60, 40, 3, zeros=0.5)
    X = sp.csr_matrix(X) if sparse else X
    b = get_namespace(X)
    rng = np.random.default_rng(0)
    start = {"W": rng.random((1, 60, 3)) + 0.1, "H": rng.random((1, 3, 40)) + 0.1}
    out = []
    for threshold in (10**12, 0):  # serial, then every row in parallel threads
        monkeypatch.setattr(_beta_cd_numba, "PARALLEL_SIZE", threshold)
        state = {k: v.copy() for k, v in start.items()}
        step = BetaCDStep([Term(Target(X, None, b), 1.5)], b, kernel="numba")
        losses = [float(step(state, np.arange(1), True)[0]) for _ in range(6)]
        out.append((state, losses))
    np.testing.assert_allclose(out[0][0]["W"], out[1][0]["W"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(out[0][1], out[1][1], rtol=1e-13)
