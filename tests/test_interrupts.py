"""Ctrl-C (issue 18.3): a fit stops at the end of the iteration with its factors and
``stop_reason="interrupted"``; drivers of many fits keep what they finished; the CLI writes
a complete folder marked partial, or nothing, and exits 130."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

import nmfkit
from nmfkit.cli import main
from nmfkit.solvers import raise_interrupts

SRC = str(Path(nmfkit.__file__).resolve().parents[1])

needs_default_handler = pytest.mark.skipif(
    signal.getsignal(signal.SIGINT) is not signal.default_int_handler,
    reason="Python's own SIGINT handler is not installed in this process")


def _data(seed=0, n=120, m=90, k=6):
    rng = np.random.default_rng(seed)
    return rng.random((n, k)) @ rng.random((k, m)) + 0.01 * rng.random((n, m))


def _ctrl_c_at(n, times=1):
    def callback(it, W, H, loss):
        if it == n:
            for _ in range(times):
                os.kill(os.getpid(), signal.SIGINT)
    return callback


@needs_default_handler
def test_sigint_stops_at_the_end_of_the_iteration_with_its_iterate():
    X = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cut = nmfkit.nmf(X, 6, tol=0, max_iter=200, random_state=0, callback=_ctrl_c_at(5))
        six = nmfkit.nmf(X, 6, tol=0, max_iter=6, random_state=0)
    assert cut.stop_reason == "interrupted" and cut.n_iter == 6
    # the factors are iterate 6 of the same fit, complete (not a half-updated step)
    assert np.array_equal(cut.W, six.W) and np.array_equal(cut.H, six.H)
    assert cut.loss_history == six.loss_history
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored


@needs_default_handler
def test_second_sigint_stops_at_once():
    X = _data()
    cut = nmfkit.nmf(X, 6, tol=0, max_iter=200, random_state=0, callback=_ctrl_c_at(5, times=2))
    assert cut.stop_reason == "interrupted" and cut.n_iter == 5


@needs_default_handler
def test_sigint_writes_an_exact_checkpoint(tmp_path):
    X = _data(1)
    path = tmp_path / "ck.npz"
    common = dict(tol=0, max_iter=50, random_state=0, solver="mu", loss="kl", loss_every=1)
    cut = nmfkit.nmf(X, 6, checkpoint=path, callback=_ctrl_c_at(7), **common)  # every 60 s
    assert cut.stop_reason == "interrupted" and path.exists()  # written at the Ctrl-C
    resumed = nmfkit.nmf(X, 6, checkpoint=path, **common)
    full = nmfkit.nmf(X, 6, **common)
    assert np.array_equal(resumed.W, full.W) and resumed.loss_history == full.loss_history


@needs_default_handler
def test_inside_raise_interrupts_the_loop_raises():
    X = _data()
    with pytest.raises(KeyboardInterrupt, match="interrupted at iteration 6"):
        with raise_interrupts():
            nmfkit.nmf(X, 6, tol=0, max_iter=200, callback=_ctrl_c_at(5))


@needs_default_handler
def test_sequential_restarts_stop_after_the_interrupted_one(monkeypatch):
    nmf_module = sys.modules["nmfkit.models.nmf"]  # the module (nmfkit.models.nmf is the function)
    real, calls = nmf_module.nmf, []

    def nmf(*args, **kw):
        calls.append(1)
        if len(calls) == 3:
            kw["callback"] = _ctrl_c_at(4)
        return real(*args, **kw)

    monkeypatch.setattr(nmf_module, "nmf", nmf)
    X = _data()
    res = nmfkit.selection.restarts(X, 4, n_restarts=6, batched=False, keep_all=True, tol=0, max_iter=30,
                          random_state=0)
    assert len(calls) == 3 and res.losses.shape == (3,) and len(res.seeds) == 3
    assert [r.stop_reason for r in res.results] == ["max_iter", "max_iter", "interrupted"]
    assert res.best.info["interrupted"] is True


def _interrupt_cv_at(monkeypatch, k_stop):
    from nmfkit.selection import _cv

    real = _cv._Speckled.evaluate

    def evaluate(self, k, **kw):
        if k == k_stop:
            raise KeyboardInterrupt
        return real(self, k, **kw)

    monkeypatch.setattr(_cv._Speckled, "evaluate", evaluate)


def test_rank_search_keeps_the_ks_finished(monkeypatch):
    X = _data(2, 40, 30, 3)
    _interrupt_cv_at(monkeypatch, 3)  # after k=3's restarts were stored
    with pytest.warns(UserWarning, match=r"interrupted \(Ctrl-C\) at k=3.*\[2\]"):
        res = nmfkit.selection.rank_search(X, [2, 3, 4], n_restarts=2, max_iter=20, random_state=0)
    assert list(res.table["k"]) == [2]
    assert set(res.restarts) == {2} and set(res.stability) == {2}
    assert list(res.cv.ks) == [2] and res.params["stopped"] == "interrupted"
    _interrupt_cv_at(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):  # nothing finished: nothing to return
        nmfkit.selection.rank_search(X, [2, 3], n_restarts=2, max_iter=20, random_state=0)


def _write(tmp_path, X):
    path = tmp_path / "X.tsv"
    np.savetxt(path, X, delimiter="\t")
    return path


def test_cli_rank_writes_a_partial_folder_and_exits_130(tmp_path, monkeypatch, capsys):
    X = _data(2, 40, 30, 3)
    _interrupt_cv_at(monkeypatch, 3)
    out = tmp_path / "rank"
    rc = main(["rank", str(_write(tmp_path, X)), "--ks", "2-4", "--restarts", "2",
               "--max-iter", "20", "--seed", "0", "--out", str(out), "-q"])
    err = capsys.readouterr().err
    assert rc == 130 and "interrupted: wrote the ks finished, [2]" in err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["partial"] is True and summary["ks"] == [2]


def test_cli_interrupted_while_writing_leaves_nothing(tmp_path, monkeypatch, capsys):
    from nmfkit.cli import _fit

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(_fit, "write_standard_figures", boom)
    out = tmp_path / "fit"
    rc = main(["fit", str(_write(tmp_path, _data())), "-k", "3", "--out", str(out), "-q"])
    assert rc == 130 and "nothing was written" in capsys.readouterr().err
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["X.tsv"]


CHILD = textwrap.dedent("""
    import signal, sys
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with SIGINT ignored
    from nmfkit.cli import main
    sys.exit(main(sys.argv[1:]))
""")


def _cli(args, env):
    return subprocess.Popen([sys.executable, "-c", CHILD, *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_cli_fit_sigint_writes_partial_result_and_checkpoint_resumes(tmp_path):
    X = _data(3, 200, 120, 5)
    inp = _write(tmp_path, X)
    ck = tmp_path / "fit.ckpt.npz"
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    opts = ["-k", "5", "--seed", "0", "--tol", "0", "--max-iter", "3000", "--checkpoint", str(ck)]
    child = _cli(["fit", str(inp), *opts, "--checkpoint-every", "0", "--out", str(tmp_path / "cut")],
                 env)
    try:
        deadline = time.monotonic() + 120
        while not ck.exists():  # the fit is running: its first checkpoint is written
            assert child.poll() is None, child.stderr.read()
            assert time.monotonic() < deadline, "no checkpoint within 120 s"
            time.sleep(0.02)
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=120)
    finally:
        child.kill()
        child.wait(60)
    assert child.returncode == 130, err
    assert "interrupted: wrote the last iterate" in err and "checkpoint" in err
    summary = json.loads((tmp_path / "cut" / "summary.json").read_text())
    assert summary["partial"] is True and summary["stop_reason"] == "interrupted"
    assert 1 <= summary["n_iter"] < 3000 and ck.exists()
    cut = nmfkit.io.load_result(tmp_path / "cut" / "result.npz")
    assert cut.W.shape == (200, 5) and np.isfinite(cut.W).all()
    # resume in-process; compare with an uninterrupted run of the same command
    assert main(["fit", str(inp), *opts, "--out", str(tmp_path / "resumed"), "-q"]) == 0
    assert main(["fit", str(inp), *opts[:-2], "--out", str(tmp_path / "full"), "-q"]) == 0
    a = nmfkit.io.load_result(tmp_path / "resumed" / "result.npz")
    b = nmfkit.io.load_result(tmp_path / "full" / "result.npz")
    assert np.array_equal(a.W, b.W) and np.array_equal(a.H, b.H)
    assert a.loss_history == b.loss_history and a.n_iter == b.n_iter == 3000
    assert not ck.exists()


def test_long_fits_report_progress_off_a_terminal(tmp_path, monkeypatch, capsys):
    """Issue 18.6: ``verbose`` fits (and the CLI's fit, contrast, signatures extract) print a
    plain line every few seconds when stderr is not a terminal (here: every step)."""
    import nmfkit._progress as progress

    monkeypatch.setattr(progress, "INTERVAL", 0.0)
    nmfkit.nmf(_data(), 6, tol=0, max_iter=20, verbose=1, solver="hals")
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("nmf[hals]: 1/20 steps (loss ") and "20/20 steps" in lines[-2]
    assert lines[-1].startswith("nmf[hals]: 20/20 steps (done)")
    rc = main(["fit", str(_write(tmp_path, _data())), "-k", "3", "--max-iter", "15", "--tol", "0",
               "--out", str(tmp_path / "fit")])
    err = capsys.readouterr().err
    assert rc == 0 and "nmf[hals]: 15/15 steps (done)" in err


def test_ctrl_c_in_the_background_programs_stops_the_contrastive_fit(monkeypatch):
    """Stage 1 (the background's own NMF) interrupted: no restart runs on a half-fitted
    basis; the fit raises KeyboardInterrupt (the CLI then writes nothing, exit 130)."""
    import importlib

    nmf_module = importlib.import_module("nmfkit.models.nmf")  # the module (models.nmf is the function)
    real = nmf_module._fit
    calls = []

    def interrupted(data, spec, **kw):
        def stop(it, W, H, loss):
            if it >= 3:
                raise KeyboardInterrupt

        calls.append(spec.n_components)
        return real(data, spec, callback=stop, **kw)

    monkeypatch.setattr(nmf_module, "_fit", interrupted)
    rng = np.random.default_rng(0)
    X, Y = rng.random((40, 12)), rng.random((30, 12))
    with pytest.raises(KeyboardInterrupt):
        nmfkit.ContrastiveNMF(2, loss="kl", n_background_components=2, n_restarts=2, max_iter=50,
                              random_state=0).fit(X, Y)
    assert calls == [2]  # the background-program fit ran, and nothing after it


def _ctrl_c_once_after(n):
    """SIGINT once, at the first callback from iteration n on (the contrastive loop calls back
    when it evaluates the objective, every 10 iterations)."""
    sent = []

    def callback(it, W, H, loss):
        if it >= n and not sent:
            sent.append(it)
            os.kill(os.getpid(), signal.SIGINT)
    return callback


def _pair(seed=0):
    rng = np.random.default_rng(seed)
    H = rng.random((3, 30))
    X = rng.random((60, 3)) @ H + 0.01 * rng.random((60, 30))
    Y = rng.random((50, 2)) @ H[:2] + 0.01 * rng.random((50, 30))
    return X, Y


@needs_default_handler
def test_contrastive_fit_returns_its_iterate_on_ctrl_c():
    X, Y = _pair()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cut = nmfkit.ContrastiveNMF(2, n_restarts=2, max_iter=300, tol=0, random_state=0)
        cut.fit(X, Y, callback=_ctrl_c_once_after(5))
    assert cut.stop_reason_ == "interrupted" and cut.n_iter_ < 300
    assert np.isfinite(cut.components_).all() and np.isfinite(cut.target_codes_).all()


@needs_default_handler
def test_cli_contrast_writes_a_partial_folder_and_exits_130(tmp_path, monkeypatch, capsys):
    X, Y = _pair()
    real = nmfkit.ContrastiveNMF._fit_result

    def with_ctrl_c(self, X_target, X_background, *, callback=None, labels=False):
        return real(self, X_target, X_background, callback=_ctrl_c_once_after(5), labels=labels)

    monkeypatch.setattr(nmfkit.ContrastiveNMF, "_fit_result", with_ctrl_c)
    out = tmp_path / "c"
    tp, bp = tmp_path / "t.tsv", tmp_path / "b.tsv"
    np.savetxt(tp, X, delimiter="\t")
    np.savetxt(bp, Y, delimiter="\t")
    rc = main(["contrast", str(tp), str(bp), "-k", "2", "--restarts", "2", "--max-iter", "300",
               "--seed", "0", "--out", str(out), "-q"])
    err = capsys.readouterr().err
    assert rc == 130 and "interrupted" in err and len(err.strip().splitlines()) == 1
    summary = json.loads((out / "summary.json").read_text())
    assert summary["partial"] is True and summary["stop_reason"] == "interrupted"
    assert (out / "result.npz").is_file() or any(out.glob("*.tsv"))


def test_cli_signatures_extract_writes_the_ranks_finished_and_exits_130(tmp_path, monkeypatch, capsys):
    """Ctrl-C in rank 3's replicates: the folder holds rank 2, marked partial; exit 130."""
    from nmfkit.signatures import _extract, _fits, simulate_catalog, to_catalog

    real = _fits.fit_replicates

    def fit(D, k, seeds, loss, options, weights=None):
        W, H, out = real(D, k, seeds, loss, options, weights=weights)
        if k == 3:
            out.stop_reason[0] = "interrupted"
        return W, H, out

    monkeypatch.setattr(_fits, "fit_replicates", fit)
    monkeypatch.setattr(_extract, "fit_replicates", fit)
    sim = simulate_catalog(np.eye(96)[[0, 30, 60]] * 0.5 + 0.5 / 96, 12, random_state=0)
    path = tmp_path / "catalog.tsv"
    to_catalog(sim.X).to_csv(path, sep="\t")
    out = tmp_path / "sigs"
    rc = main(["signatures", "extract", str(path), "--ks", "2-4", "--replicates", "3",
               "--cv-folds", "0", "--max-iter", "100", "--out", str(out), "-q"])
    err = capsys.readouterr().err
    assert rc == 130 and "interrupted: wrote the ranks finished, [2]" in err
    assert json.loads((out / "summary.json").read_text())["partial"] is True
