"""The one engine (issue 11): terms, the MU and HALS engines, extrapolation, the loop.

Terms give values and gradient parts for either bound block, dense or sparse, with
element weights, and with a leading restart axis; a negative weight swaps the parts;
R restarts computed together equal R single fits.
"""

import numpy as np
import pytest
import scipy.sparse as sp

import nmfkit
from nmfkit.backends import NumpyBackend
from nmfkit.losses import Target, Term, beta_divergence
from nmfkit.solvers import LoopOptions, make_step, objective_fn, run, run_terms

B = NumpyBackend()


def _problem(seed=0, m=40, n=30, k=3, R=3):
    rng = np.random.default_rng(seed)
    X = rng.gamma(1.0, 1.0, (m, k)) @ rng.gamma(1.0, 1.0, (k, n)) + 0.1
    X[rng.random((m, n)) < 0.3] = 0.0
    W = rng.random((R, m, k)) + 0.1
    H = rng.random((R, k, n)) + 0.1
    M = (rng.random((m, n)) > 0.2).astype(float)
    return X, W, H, M


def _numeric_grad(f, A, h=1e-6):
    g = np.zeros_like(A)
    for idx in np.ndindex(A.shape):
        Ap, Am = A.copy(), A.copy()
        Ap[idx] += h
        Am[idx] -= h
        g[idx] = (f(Ap) - f(Am)) / (2 * h)
    return g


@pytest.mark.parametrize("beta", [0.5, 1.0, 1.5, 2.0, 3.0])
@pytest.mark.parametrize("kind", ["dense", "weighted", "sparse"])
@pytest.mark.parametrize("weight", [1.0, -0.7])
def test_term_parts_are_the_gradient_in_both_orientations(beta, kind, weight):
    X, W, H, M = _problem(m=7, n=6, k=2, R=2)
    if kind == "sparse" and beta < 1:
        X = X + 0.5  # sparse targets store every entry then; β < 1 needs X > 0
    data = sp.csr_matrix(X) if kind == "sparse" else X
    t = Target(data, M if kind == "weighted" else None, B)
    term = Term(t, beta, weight, "A", "B")
    state = {"A": W, "B": H}
    for block, other in (("A", "B"), ("B", "A")):
        P, N = term.parts(state, block)
        grad = np.broadcast_to(P, state[block].shape) - N
        for r in range(2):
            def f(Z, r=r):
                s = {block: Z[None], other: state[other][r : r + 1]}
                return term.value(s)[0]
            num = _numeric_grad(f, state[block][r].copy())
            np.testing.assert_allclose(grad[r], num, rtol=2e-5, atol=1e-6)
    # values per restart equal the one-fit divergence
    for r in range(2):
        assert term.value(state)[r] == pytest.approx(
            weight * beta_divergence(t, W[r], H[r], beta), rel=1e-12)


@pytest.mark.parametrize("solver,beta", [("hals", 2.0), ("mu", 2.0), ("mu", 1.0), ("mu", 0.5)])
@pytest.mark.parametrize("masked", [False, True])
def test_restart_axis_equals_single_fits(solver, beta, masked):
    """R restarts in one state agree with R separate runs (float64, 1e-10)."""
    X, W, H, M = _problem(seed=1)
    t = Target(X + (0.2 if beta < 1 else 0.0), M if masked else None, B)
    opts = LoopOptions(max_iter=25, tol=0, loss_every=5, warn=False)
    out, _ = run_terms([Term(t, beta)], {"W": W.copy(), "H": H.copy()}, B, solver=solver,
                       options=opts)
    for r in range(W.shape[0]):
        one, _ = run_terms([Term(t, beta)], {"W": W[r : r + 1].copy(), "H": H[r : r + 1].copy()},
                           B, solver=solver, options=opts)
        np.testing.assert_allclose(out.loss_history[r], one.loss_history[0], rtol=1e-10)
        np.testing.assert_allclose(out.state["W"][r], one.state["W"][0], rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(out.state["H"][r], one.state["H"][0], rtol=1e-10, atol=1e-14)


def test_extrapolation_per_restart_equals_single_fits():
    X, W, H, _ = _problem(seed=2)
    t = Target(X, None, B)
    opts = LoopOptions(max_iter=40, tol=1e-6, warn=False)
    out, step = run_terms([Term(t, 2.0)], {"W": W.copy(), "H": H.copy()}, B, solver="hals",
                          options=opts, accelerate=True)
    assert step.n_failed.sum() > 0
    for r in range(W.shape[0]):
        one, s1 = run_terms([Term(t, 2.0)], {"W": W[r : r + 1].copy(), "H": H[r : r + 1].copy()},
                            B, solver="hals", options=opts, accelerate=True)
        assert out.n_iter[r] == one.n_iter[0] and step.n_failed[r] == s1.n_failed[0]
        np.testing.assert_allclose(out.loss_history[r], one.loss_history[0], rtol=1e-10)
        assert np.all(np.diff(out.loss_history[r]) <= 1e-12 * out.loss_history[r][0])


def test_two_terms_sharing_a_block_joint_nmf():
    """A model declared as two Frobenius terms sharing H (a joint NMF): both engines
    lower the summed objective monotonically and recover a planted shared basis."""
    rng = np.random.default_rng(3)
    H_true = rng.gamma(0.3, 1.0, (3, 25))
    X1 = rng.gamma(1.0, 1.0, (60, 3)) @ H_true
    X2 = 5.0 * rng.gamma(1.0, 1.0, (40, 3)) @ H_true
    terms = [Term(Target(X1, None, B), 2.0, 1.0, "W1", "H"),
             Term(Target(X2, None, B), 2.0, 0.5, "W2", "H")]
    for solver in ("hals", "mu"):
        state = {"W1": rng.random((1, 60, 3)), "W2": rng.random((1, 40, 3)),
                 "H": rng.random((1, 3, 25))}
        step = make_step(terms, B, solver=solver, blocks=("W1", "W2", "H"))
        out = run(step, state, LoopOptions(max_iter=500, tol=1e-10, warn=False),
                  objective_fn(terms, B))
        hist = np.array(out.loss_history[0])
        assert np.all(np.diff(hist) <= 1e-9 * hist[0])
        Hf = out.state["H"][0]
        cos = (Hf / np.linalg.norm(Hf, axis=1, keepdims=True)) @ (
            H_true / np.linalg.norm(H_true, axis=1, keepdims=True)).T
        assert cos.max(axis=0).min() > 0.99, (solver, cos)


def test_negative_weight_swaps_parts():
    X, W, H, _ = _problem(seed=4, R=1)
    t = Target(X, None, B)
    state = {"W": W, "H": H}
    Pp, Np = Term(t, 1.0, 2.0).parts(state, "H")
    Pn, Nn = Term(t, 1.0, -2.0).parts(state, "H")
    np.testing.assert_allclose(Pn, Np)
    np.testing.assert_allclose(Nn, Pp)


def test_interrupt_keeps_the_last_iterate():
    X, W, H, _ = _problem(seed=5, R=1)
    t = Target(X, None, B)
    calls = {"n": 0}

    def cb(it, state, losses):
        calls["n"] += 1
        if it == 7:
            raise KeyboardInterrupt

    out, _ = run_terms([Term(t, 1.0)], {"W": W, "H": H}, B, solver="mu",
                       options=LoopOptions(max_iter=50, tol=0, loss_every=1, callback=cb,
                                           warn=False))
    assert out.stop_reason == ["interrupted"] and out.n_iter[0] == 7
    assert np.isfinite(out.loss_history[0][-1]) and len(out.loss_history[0]) == 8
    assert out.loss_history[0][-1] < out.loss_history[0][0]


def test_nmf_single_fit_is_the_restart_axis_case():
    X = nmfkit.datasets.make_low_rank(80, 30, 4, noise=0.05, random_state=0).X
    res = nmfkit.nmf(X, 4, loss="kl", init="random", random_state=3, max_iter=30, tol=0)
    rs = nmfkit.selection.restarts(X, 4, 3, loss="kl", max_iter=30, tol=0, random_state=0,
                                   keep_all=True)
    one = nmfkit.nmf(X, 4, loss="kl", init="random", random_state=int(rs.seeds[1]), max_iter=30,
                     tol=0)
    np.testing.assert_allclose(rs.results[1].loss_history, one.loss_history, rtol=1e-10)
    assert res.n_iter == 30


@pytest.mark.parametrize("beta,weighted", [(2.0, False), (1.0, False), (1.0, True), (2.0, True)])
def test_contrastive_restarts_batched_equal_single(beta, weighted):
    """Contrastive restarts (two terms, weights 1/E_X and −α/E_Y, background programs held
    fixed) computed together equal the restarts run one at a time, to 1e-10."""
    from nmfkit.solvers.contrastive import ContrastiveProblem, ContrastiveStep

    rng = np.random.default_rng(7)
    X = rng.poisson(2.0, (50, 30)).astype(float)
    Y = rng.poisson(2.0, (40, 30)).astype(float)
    X[:25, :5] += rng.poisson(4.0, (25, 5))
    MX = (rng.random(X.shape) > 0.1).astype(float) if weighted else None
    tX, tY = Target(X, MX, B), Target(Y, None, B)
    p = ContrastiveProblem.build(tX, tY, alpha=0.5 if beta == 1 else 2.0, beta=beta,
                                 basis_floor=1e-10, n_fixed=1)
    R, K = 3, 3
    start = {"W_X": rng.random((R, 50, K)) + 0.1, "W_Y": rng.random((R, 40, K)) + 0.1,
             "H": rng.random((R, K, 30)) + 0.1}
    start["H"][:, 0] = start["H"][0, 0]  # the fixed background program, shared
    opts = LoopOptions(max_iter=30, tol=0, loss_every=10, warn=False)
    out = run(ContrastiveStep(p), {k: v.copy() for k, v in start.items()}, opts, p.objective)
    for r in range(R):
        one = run(ContrastiveStep(p), {k: v[r : r + 1].copy() for k, v in start.items()}, opts,
                  p.objective)
        np.testing.assert_allclose(out.loss_history[r], one.loss_history[0], rtol=1e-10)
        for k in ("W_X", "W_Y", "H"):
            np.testing.assert_allclose(out.state[k][r], one.state[k][0], rtol=1e-10, atol=1e-13)
        np.testing.assert_array_equal(out.state["H"][r, 0], start["H"][0, 0])  # held fixed
