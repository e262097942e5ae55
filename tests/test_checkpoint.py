"""Checkpoints (issue 18.4): a fit killed after a checkpoint resumes to the result of an
uninterrupted run from the same seed, bit for bit; other data or parameters are refused."""

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
from nmfkit.exceptions import NMFInputError

SRC = str(Path(nmfkit.__file__).resolve().parents[1])


def _data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((120, 6)) @ rng.random((6, 90)) + 0.01 * rng.random((120, 90))


# HALS and KL coordinate descent run with the extrapolation (its state is checkpointed too); KL with MU
CASES = [dict(solver="hals"), dict(solver="mu", loss="kl"), dict(solver="cd", loss="kl")]


def _same(a, b):
    assert np.array_equal(a.W, b.W) and np.array_equal(a.H, b.H)
    assert a.n_iter == b.n_iter and a.loss_history == b.loss_history
    assert a.stop_reason == b.stop_reason


@pytest.mark.parametrize("kw", CASES, ids=["hals-extrapolated", "mu-kl", "cd-kl-extrapolated"])
def test_resume_after_interrupt_is_bit_identical(tmp_path, kw):
    X = _data()
    common = dict(tol=0, max_iter=60, random_state=0, **kw)
    full = nmfkit.nmf(X, 6, **common)
    path = tmp_path / "fit.ckpt.npz"

    def stop(it, W, H, loss):  # Ctrl-C as a callback raises it (after that iteration's checkpoint)
        if it >= 23:
            raise KeyboardInterrupt

    cut = nmfkit.nmf(X, 6, checkpoint=path, checkpoint_every=0, callback=stop, **common)
    assert cut.stop_reason == "interrupted" and cut.n_iter < 60 and path.exists()
    resumed = nmfkit.nmf(X, 6, checkpoint=path, checkpoint_every=0, **common)
    _same(resumed, full)
    assert not path.exists()  # a fit that ended deletes its checkpoint


def test_estimator_resumes_and_uses_the_same_checkpoint(tmp_path):
    X = _data(1)
    path = tmp_path / "est.npz"
    full = nmfkit.NMF(5, tol=0, max_iter=40, random_state=3).fit(X)

    def stop(it, W, H, loss):
        if it == 15:
            raise KeyboardInterrupt

    model = nmfkit.NMF(5, tol=0, max_iter=40, random_state=3, checkpoint=str(path), checkpoint_every=0)
    model._fit_result(X, callback=stop)
    assert model.stop_reason_ == "interrupted" and path.exists()
    model.fit(X)
    assert np.array_equal(model.components_, full.components_)
    assert model.loss_history_ == full.loss_history_ and model.n_iter_ == 40


def test_other_data_or_parameters_are_refused_naming_the_difference(tmp_path):
    X = _data()
    path = tmp_path / "fit.ckpt.npz"

    def stop(it, W, H, loss):
        if it == 5:
            raise KeyboardInterrupt

    nmfkit.nmf(X, 6, tol=0, max_iter=50, random_state=0, checkpoint=path, checkpoint_every=0,
               callback=stop)
    with pytest.raises(NMFInputError, match=r"another fit .differs in: data\.sum.*same data and parameters"):
        nmfkit.nmf(2 * X, 6, tol=0, max_iter=50, random_state=0, checkpoint=path)
    with pytest.raises(NMFInputError, match=r"params\.n_components \(checkpoint 6, now 5\)"):
        nmfkit.nmf(X, 5, tol=0, max_iter=50, random_state=0, checkpoint=path)
    with pytest.raises(NMFInputError, match=r"params\.solver"):
        nmfkit.nmf(X, 6, tol=0, max_iter=50, random_state=0, checkpoint=path, solver="mu")
    assert path.exists()  # a refused resume leaves the checkpoint alone
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(NMFInputError, match="cannot be read as a checkpoint.*delete it"):
        nmfkit.nmf(X, 6, checkpoint=path)
    with pytest.raises(NMFInputError, match="checkpoint_every"):
        nmfkit.nmf(X, 6, checkpoint=tmp_path / "x.npz", checkpoint_every=-1)
    with pytest.raises(NMFInputError, match="folder .* does not exist"):
        nmfkit.nmf(X, 6, checkpoint=tmp_path / "no" / "x.npz")
    with pytest.raises(NMFInputError, match="loss='nb'"):
        nmfkit.nmf(np.round(X * 10), 3, loss="nb", checkpoint=tmp_path / "nb.npz")


CHILD = textwrap.dedent("""
    import sys, time, warnings
    import numpy as np
    import nmfkit
    warnings.simplefilter("ignore")
    X = np.load(sys.argv[1])
    def slow(it, W, H, loss):
        time.sleep(0.02)
    nmfkit.nmf(X, 6, tol=0, max_iter=400, random_state=0, solver="hals", callback=slow,
               checkpoint=sys.argv[2], checkpoint_every=0)
    print("finished", flush=True)
""")


def _checkpoint_iteration(path):
    try:
        with np.load(path) as z:
            return json.loads(str(z["meta"]))["it"]
    except (OSError, ValueError, KeyError):
        return None  # not there yet


def test_sigkill_after_a_checkpoint_then_resume_is_bit_identical(tmp_path):
    X = _data(2)
    np.save(tmp_path / "X.npy", X)
    path = tmp_path / "fit.ckpt.npz"
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path / "X.npy"), str(path)],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while (_checkpoint_iteration(path) or 0) < 10:  # a few checkpoints written
            assert child.poll() is None, child.stderr.read().decode()
            assert time.monotonic() < deadline, "no checkpoint within 120 s"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(60)
    assert child.returncode == -signal.SIGKILL
    killed_at = _checkpoint_iteration(path)
    assert 10 <= killed_at < 400  # killed mid-fit; the checkpoint on disk is readable
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = nmfkit.nmf(X, 6, tol=0, max_iter=400, random_state=0, solver="hals")
        resumed = nmfkit.nmf(X, 6, tol=0, max_iter=400, random_state=0, solver="hals",
                             checkpoint=path)
    _same(resumed, full)
    assert resumed.n_iter == 400 and not path.exists()
