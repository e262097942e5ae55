"""nmfkit.distributed: the engine's iterations over row blocks on a dask.distributed cluster."""

import os
import signal
import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")

import nmfkit  # noqa: E402
import nmfkit.distributed as nd  # noqa: E402
from nmfkit._validation import check_data  # noqa: E402
from nmfkit.backends import get_namespace  # noqa: E402
from nmfkit.exceptions import NMFInputError  # noqa: E402
from nmfkit.losses import Penalty  # noqa: E402
from nmfkit.models._core import build_target, fix_gauge, run_nmf  # noqa: E402
from nmfkit.solvers import LoopOptions  # noqa: E402


def _cluster(**kw):
    kw.setdefault("memory_limit", "1GB")
    return distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                    dashboard_address=":0", **kw)


@pytest.fixture(scope="module")
def client():
    with _cluster() as cluster, distributed.Client(cluster) as c:
        yield c


def _data(n=240, m=36, k=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, k)) @ rng.random((k, m)) + 0.05 * rng.random((n, m))
    return X, rng.random((n, k)) + 0.1, rng.random((k, m)) + 0.1


def _reference(X, W0, H0, beta, solver, iters, mask=None, penalty=Penalty()):
    """The single-machine engine from the same start (no extrapolation)."""
    t = build_target(check_data(X), mask)
    out, _ = run_nmf(t, [W0], [H0], beta=beta, solver=solver, penalty=penalty,
                     options=LoopOptions(max_iter=iters, tol=0, loss_every=1, warn=False),
                     accelerate=False)
    W, H = fix_gauge(out.state["W"][0], out.state["H"][0], get_namespace(W0),
                     normalise=not penalty.any)
    return W, H, np.array(out.loss_history[0])


def _rel(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))) / np.max(np.abs(b)))


def _assert_same(res, ref, tol=1e-8):
    W, H, hist = ref
    assert len(res.loss_history) == hist.size
    assert np.max(np.abs(np.array(res.loss_history) - hist) / hist) < tol
    assert _rel(res.W, W) < tol and _rel(res.H, H) < tol


def test_hals_same_iterates_as_engine(client):
    X, W0, H0 = _data()
    ref = _reference(X, W0, H0, 2.0, "hals", 30)
    res = nd.nmf(da.from_array(X, chunks=(70, 36)), 4, client=client, init="custom", W=W0, H=H0,
                 max_iter=30, tol=0)
    assert res.solver == "hals" and res.info["n_blocks"] == 4
    _assert_same(res, ref)
    assert max(res.info["n_sweeps_W"]) > 1  # the inner rule ran over the summed changes


@pytest.mark.parametrize("solver", ["hals", "mu"])
def test_penalties_same_iterates_as_engine(client, solver):
    X, W0, H0 = _data(seed=9)
    pen = Penalty.from_alphas(0.01, 0.02, 0.5, *X.shape)
    ref = _reference(X, W0, H0, 2.0, solver, 8, penalty=pen)
    res = nd.nmf(da.from_array(X, chunks=(120, 36)), 4, client=client, solver=solver, init="custom",
                 W=W0, H=H0, max_iter=8, tol=0, loss_every=1, alpha_W=0.01, alpha_H=0.02,
                 l1_ratio=0.5)
    _assert_same(res, ref)
    assert res.info["penalty"]["l1_W"] == pen.l1_W > 0


@pytest.mark.parametrize("sparse", [False, True])
def test_mu_kl_same_iterates_as_engine(client, sparse):
    X, W0, H0 = _data(seed=1)
    if sparse:
        X[X < 0.8 * X.mean()] = 0.0
        X = sp.csr_matrix(X)
    ref = _reference(X, W0, H0, 1.0, "mu", 30)
    dX = da.from_array(X, chunks=(100, 36), asarray=False)
    res = nd.nmf(dX, 4, client=client, loss="kl", init="custom", W=W0, H=H0, max_iter=30, tol=0,
                 loss_every=1)
    assert res.solver == "mu" and res.info["n_blocks"] == 3
    _assert_same(res, ref)
    if not sparse:  # blocks re-read from their source every iteration: the same iterates
        again = nd.nmf(dX, 4, client=client, loss="kl", init="custom", W=W0, H=H0, max_iter=30,
                       tol=0, loss_every=1, persist=False)
        assert not again.info["persist"]
        _assert_same(again, ref)


@pytest.mark.parametrize("beta, solver", [(1.5, "mu"), (2.0, "hals")])
def test_mask_same_iterates(client, beta, solver):
    X, W0, H0 = _data(seed=2)
    mask = (np.random.default_rng(3).random(X.shape) > 0.2) * 2.0  # weights 0 / 2
    ref = _reference(X, W0, H0, beta, solver, 20, mask=mask)
    res = nd.nmf(da.from_array(X, chunks=(60, 36)), 4, client=client, loss=beta, mask=mask,
                 solver=solver, init="custom", W=W0, H=H0, max_iter=20, tol=0, loss_every=1)
    assert res.solver == solver
    _assert_same(res, ref)
    # the mask changes the fit: ignoring it does not give the same numbers
    plain = _reference(X, W0, H0, beta, solver, 20)
    assert _rel(res.H, plain[1]) > 1e-3


def test_random_start_matches_nmf(client):
    X, _, _ = _data(seed=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nmfkit.exceptions.ConvergenceWarning)
        ref = nmfkit.nmf(X, 4, loss="kl", solver="mu", init="random", random_state=7, max_iter=15,
                         tol=0, accelerate=False)
    res = nd.nmf(X, 4, client=client, loss="kl", random_state=7, max_iter=15, tol=0)
    assert res.loss_history[-1] == pytest.approx(ref.loss_history[-1], rel=1e-10)
    assert _rel(res.W, ref.W) < 1e-8 and _rel(res.H, ref.H) < 1e-8
    assert res.info["loss_iters"] == ref.info["loss_iters"]


def test_loop_options_and_estimator(client):
    X, _, _ = _data(seed=5)
    seen = []
    res = nd.nmf(X, 3, client=client, random_state=0, max_iter=50,
                 callback=lambda it, H, loss: seen.append((it, H.shape, loss)) or it == 4)
    assert res.stop_reason == "callback" and res.n_iter == 4 and seen[-1][1] == (3, 36)

    def ctrl_c(it, H, loss):
        if it == 3:
            raise KeyboardInterrupt

    res = nd.nmf(X, 3, client=client, solver="mu", loss_every=1, random_state=0, callback=ctrl_c)
    assert res.stop_reason == "interrupted" and res.n_iter == 3 and res.W.shape == (240, 3)
    res = nd.nmf(X, 3, client=client, random_state=0, max_iter=500, tol=1e-3)
    assert res.converged and res.stop_reason == "tol" and res.n_iter < 500
    assert np.all(np.diff(res.loss_history) <= 1e-12 * res.loss_history[0])
    np.testing.assert_allclose(res.H.sum(axis=1), 1.0)  # the gauge of nmfkit.nmf
    model = nd.DaskNMF(3, client=client, loss="kl", random_state=0, max_iter=30, tol=0)
    W = model.fit_transform(X)
    assert W.shape == (240, 3) and model.components_.shape == (3, 36)
    Wt = model.transform(da.from_array(X, chunks=(120, 36)))
    assert Wt.shape == (240, 3) and np.all(Wt >= 0)
    assert np.linalg.norm(X - Wt @ model.components_) <= 1.05 * np.linalg.norm(X - W @ model.components_)
    # scikit-learn API: clone, score (better on its own fit than on random components), names
    from sklearn.base import clone

    assert clone(model).get_params()["max_iter"] == 30
    good = model.score(X)
    other = clone(model).set_params(max_iter=1)
    other.fit(X)
    assert good > other.score(X)
    assert model.inverse_transform(Wt).shape == X.shape
    assert list(model.get_feature_names_out())[:2] == ["dasknmf0", "dasknmf1"]


def test_bad_input(client, monkeypatch):
    X, _, _ = _data()
    bad = X.copy()
    bad[130, 3] = -1.0
    with pytest.raises(NMFInputError, match=r"rows 120:180 of X hold 1 negative"):
        nd.nmf(da.from_array(bad, chunks=(60, 36)), 3, client=client)
    bad[130, 3] = np.nan
    with pytest.raises(NMFInputError, match=r"rows 120:180 of X hold NaN"):
        nd.nmf(da.from_array(bad, chunks=(60, 36)), 3, client=client, solver="mu")
    with pytest.raises(NMFInputError, match="mask has shape"):
        nd.nmf(X, 3, client=client, mask=np.ones((3, 3)))
    with pytest.raises(NMFInputError, match="mask for rows 0:120 of X has negative"):
        nd.nmf(X, 3, client=client, mask=-np.ones(X.shape))
    with pytest.raises(NMFInputError, match="random"):
        nd.nmf(X, 3, client=client, init="nndsvd")
    with pytest.raises(NMFInputError, match="n_components|rank|k"):
        nd.nmf(X, 100, client=client)
    with pytest.raises(NMFInputError, match="dask.array"):
        nd.nmf([[1.0, 2.0]], 1, client=client)

    def no_client():
        raise ValueError("No clients found")

    monkeypatch.setattr(distributed, "get_client", no_client)
    with pytest.raises(NMFInputError, match="needs a dask.distributed client"):
        nd.nmf(X, 3)


def test_without_dask_one_clear_import_error():
    # a fresh interpreter where dask and distributed cannot be imported
    code = ("import sys\n"
            "for name in ('dask', 'dask.array', 'distributed'): sys.modules[name] = None\n"
            "import numpy as np, nmfkit, nmfkit.distributed as nd\n"
            "try:\n    nd.nmf(np.ones((4, 3)), 1)\n"
            "except ImportError as e:\n    print('IMPORTERROR', e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert "IMPORTERROR" in out.stdout, out.stderr
    assert "nmfkit[distributed]" in out.stdout


@pytest.mark.slow
def test_survives_a_killed_worker():
    X, W0, H0 = _data(n=400, seed=6)
    dX = da.from_array(X, chunks=(100, 36))
    kw = dict(loss="kl", init="custom", W=W0, H=H0, max_iter=30, tol=0, loss_every=5,
              checkpoint_every=10)
    with _cluster() as cluster, distributed.Client(cluster) as c:
        plain = nd.nmf(dX, 4, client=c, **kw)
        pids = c.run(os.getpid)
        killed = []

        def kill(it, H, loss):
            if it == 15 and not killed:
                killed.append(pids[sorted(pids)[0]])
                os.kill(killed[0], signal.SIGKILL)

        with pytest.warns(nd.RecoveryWarning, match="checkpoint of iteration 10"):
            res = nd.nmf(dX, 4, client=c, callback=kill, **kw)
    assert killed and res.info["n_recoveries"] >= 1 and plain.info["n_recoveries"] == 0
    assert res.n_iter == 30 and res.stop_reason == "max_iter"
    assert res.loss == pytest.approx(plain.loss, rel=1e-9)
    assert _rel(res.W, plain.W) < 1e-8


@pytest.mark.slow
def test_zarr_source_larger_than_worker_memory(tmp_path):
    zarr = pytest.importorskip("zarr")
    import dask

    n, m, rows = 64_000, 250, 4_000  # 128 MB of float64 on disk, 8 MB per row block
    z = zarr.create_array(str(tmp_path / "x.zarr"), shape=(n, m), chunks=(rows, m),
                          dtype="float64", compressors=None)
    rng = np.random.default_rng(0)
    Ht = rng.random((3, m))
    for r0 in range(0, n, rows):
        z[r0 : r0 + rows] = rng.random((rows, 3)) @ Ht + 0.01
    limit = 60 * 2**20
    cfg = {"distributed.worker.memory.target": False, "distributed.worker.memory.spill": False,
           "distributed.worker.memory.pause": False, "distributed.worker.memory.terminate": False}
    with dask.config.set(cfg), _cluster(memory_limit=limit) as cluster, \
            distributed.Client(cluster) as c:
        X = da.from_zarr(str(tmp_path / "x.zarr"))
        assert X.nbytes > 2 * limit  # more than the two workers' limits together

        def rss():
            import psutil

            return psutil.Process().memory_info().rss

        nd.nmf(X[:8000], 3, client=c, solver="mu", max_iter=2, tol=0, persist=False)  # warm up
        before, growth = c.run(rss), []

        def watch(it, H, loss):  # the workers' memory while the fit runs
            now = c.run(rss)
            growth.append(max(now[w] - before[w] for w in now))

        res = nd.nmf(X, 3, client=c, loss="frobenius", solver="mu", max_iter=4, tol=0,
                     loss_every=1, persist=False, random_state=0, callback=watch)
    # no worker held its half of X (64 MB): each read one row block at a time
    assert len(growth) == 4 and max(growth) < limit, growth
    assert res.n_iter == 4 and not res.info["persist"]
    assert np.all(np.diff(res.loss_history) < 0)


def test_restarts_and_rank_search_on_client(client):
    from nmfkit.selection import rank_search, restarts

    X, _, _ = _data(n=120, m=30, seed=8)
    kw = dict(n_restarts=3, random_state=0, max_iter=30, tol=1e-4, keep_all=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nmfkit.exceptions.ConvergenceWarning)
        seq = restarts(X, 3, batched=False, **kw)
        seq_c = restarts(X, 3, batched=False, client=client, **kw)
        bat = restarts(X, 3, **kw)
        bat_c = restarts(X, 3, client=client, **kw)
    np.testing.assert_array_equal(seq_c.losses, seq.losses)
    np.testing.assert_array_equal(seq_c.best.H, seq.best.H)
    assert [r.info["restart"] for r in seq_c.results] == [0, 1, 2]
    np.testing.assert_allclose(bat_c.losses, bat.losses, rtol=1e-6)
    assert all(r.info["client"] for r in bat_c.results)
    rs_kw = dict(ks=[2, 3], n_restarts=2, random_state=0, max_iter=30, cv=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nmfkit.exceptions.ConvergenceWarning)
        a = rank_search(X, **rs_kw)
        b = rank_search(X, client=client, **rs_kw)
    np.testing.assert_allclose(b.table["loss"], a.table["loss"], rtol=1e-6)
    assert all(r.info.get("client") for r in b.restarts[3].results)


def test_h5ad_path_read_on_the_workers(client, tmp_path):
    """A CSR .h5ad path is read by rows on the workers and fits as the in-memory matrix does."""
    anndata = pytest.importorskip("anndata")
    import scipy.sparse as sp

    rng = np.random.default_rng(3)
    X = sp.random(300, 40, density=0.2, format="csr", random_state=3,
                  data_rvs=lambda s: rng.poisson(3.0, s) + 1.0)
    path = tmp_path / "x.h5ad"
    anndata.AnnData(X=X).write_h5ad(path)
    W0, H0 = rng.random((300, 3)) + 0.1, rng.random((3, 40)) + 0.1
    kw = dict(loss="kl", init="custom", W=W0, H=H0, max_iter=10, tol=0)
    dX = nd.read_rows(path, chunk_rows=100)
    assert dX.numblocks == (3, 1)
    from_file = nd.nmf(str(path), 3, client=client, persist=False, **kw)
    in_memory = nd.nmf(da.from_array(X, chunks=(100, 40), asarray=False), 3, client=client, **kw)
    np.testing.assert_allclose(from_file.H, in_memory.H, rtol=1e-10)
