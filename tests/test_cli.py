"""Tests of the ``nmfkit`` command line (in-process through ``main``)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import nmfkit
from nmfkit.cli import main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def csv_path(tmp_path):
    """A 30 x 12 exact rank-3 non-negative matrix with sample and gene names."""
    rng = np.random.default_rng(0)
    X = rng.random((30, 3)) @ rng.random((3, 12)) + 0.01
    df = pd.DataFrame(
        X,
        index=[f"cell{i}" for i in range(30)],
        columns=[f"gene{j}" for j in range(12)],
    )
    path = tmp_path / "data.csv"
    df.to_csv(path)
    return path


def _is_png(path):
    return path.is_file() and path.stat().st_size > 1000 and path.read_bytes()[:8] == PNG_MAGIC


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("nmfkit: error: ")
    assert "Traceback" not in err
    return lines[0]


def _no_staging_left(folder):
    return not [p.name for p in folder.iterdir() if p.name.startswith(".")]


def test_fit_writes_labelled_results(csv_path, tmp_path, capsys):
    out = tmp_path / "fit"
    rc = main(["fit", str(csv_path), "-k", "3", "--seed", "0", "--out", str(out), "--quiet"])
    assert rc == 0
    assert capsys.readouterr().out == ""  # --quiet
    names = {"W.tsv", "H.tsv", "result.npz", "result.json", "summary.json", "loss.png", "factors.png"}
    assert names <= {p.name for p in out.iterdir()}

    W = pd.read_csv(out / "W.tsv", sep="\t", index_col=0)
    H = pd.read_csv(out / "H.tsv", sep="\t", index_col=0)
    assert W.shape == (30, 3) and H.shape == (3, 12)
    assert list(W.index) == [f"cell{i}" for i in range(30)]
    assert list(W.columns) == ["nmf0", "nmf1", "nmf2"]  # the one naming scheme (NMF.get_feature_names_out)
    assert list(H.index) == ["nmf0", "nmf1", "nmf2"]
    assert list(H.columns) == [f"gene{j}" for j in range(12)]
    assert (W.to_numpy() >= 0).all() and (H.to_numpy() >= 0).all()

    summary = json.loads((out / "summary.json").read_text())
    assert summary["shape"] == [30, 12] and summary["k"] == 3
    assert summary["input"] == str(csv_path.resolve())
    assert summary["loss"] < summary["loss_initial"]
    assert summary["relative_error"] < 0.05  # the data are exactly rank 3
    assert summary["stop_reason"] in {"tol", "max_iter", "max_time", "callback"}
    assert summary["n_iter"] >= 1 and summary["elapsed"] >= 0
    assert summary["versions"]["nmfkit"] == nmfkit.__version__
    assert "numpy" in summary["versions"]

    saved = nmfkit.io.load_result(out / "result.npz")
    np.testing.assert_allclose(saved.W, W.to_numpy())
    assert saved.loss_history[0] == pytest.approx(summary["loss_initial"])
    assert _is_png(out / "loss.png") and _is_png(out / "factors.png")
    assert _no_staging_left(tmp_path)


def test_fit_prints_summary_and_options(csv_path, tmp_path, capsys):
    out = tmp_path / "kl"
    rc = main([
        "fit", str(csv_path), "-k", "2", "--transpose", "--loss", "kl", "--solver", "mu",
        "--init", "random", "--seed", "1", "--max-iter", "30", "--tol", "0", "--out", str(out),
    ])
    assert rc == 0
    stdout = capsys.readouterr().out
    assert "relative error" in stdout and str(out) in stdout
    W = pd.read_csv(out / "W.tsv", sep="\t", index_col=0)
    assert W.shape == (12, 2) and W.index[0] == "gene0"  # transposed: genes are the samples
    summary = json.loads((out / "summary.json").read_text())
    assert summary["beta"] == 1.0 and summary["solver"] == "mu"
    assert summary["n_iter"] == 30 and summary["stop_reason"] == "max_iter"


def test_fit_refuses_existing_dir_without_force(csv_path, tmp_path, capsys):
    out = tmp_path / "res"
    out.mkdir()
    (out / "keep.txt").write_text("old")
    rc = main(["fit", str(csv_path), "-k", "2", "--out", str(out), "-q"])
    assert rc == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "--force" in line
    assert (out / "keep.txt").read_text() == "old"

    rc = main(["fit", str(csv_path), "-k", "2", "--out", str(out), "-q", "--force"])
    assert rc == 0
    assert not (out / "keep.txt").exists()
    assert (out / "W.tsv").is_file()
    assert _no_staging_left(tmp_path)


def test_failed_write_leaves_old_dir_untouched(csv_path, tmp_path, capsys, monkeypatch):
    out = tmp_path / "res"
    out.mkdir()
    (out / "keep.txt").write_text("old")

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("nmfkit.cli._fit.write_standard_figures", broken)
    rc = main(["fit", str(csv_path), "-k", "2", "--out", str(out), "-q", "--force"])
    assert rc == 2
    assert "disk full" in _one_error_line(capsys.readouterr().err)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert _no_staging_left(tmp_path)


@pytest.mark.parametrize(
    "name, content",
    [("bad.csv", None), ("bad.csv", "a,b\nx,y\n"), ("bad.npz", "not a zip"), ("bad.xyz", "1,2\n")],
)
def test_unreadable_input_is_one_line_error(tmp_path, capsys, name, content):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    rc = main(["fit", str(path), "-k", "2", "--out", str(tmp_path / "o")])
    assert rc == 2
    assert name in _one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "o").exists()


def test_negative_input_is_one_line_error(tmp_path, capsys):
    path = tmp_path / "neg.csv"
    path.write_text("1,2,3\n4,-5,6\n7,8,9\n")
    assert main(["fit", str(path), "-k", "2", "--out", str(tmp_path / "o")]) == 2
    _one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "o").exists()


def test_k_larger_than_data_is_one_line_error(csv_path, tmp_path, capsys):
    assert main(["fit", str(csv_path), "-k", "50", "--out", str(tmp_path / "o")]) == 2
    assert "50" in _one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "o").exists()


def test_write_error_is_one_line(csv_path, tmp_path, capsys):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    rc = main(["fit", str(csv_path), "-k", "2", "--out", str(blocker / "sub"), "-q"])
    assert rc == 2
    _one_error_line(capsys.readouterr().err)


def test_out_is_a_file(csv_path, tmp_path, capsys):
    target = tmp_path / "file.txt"
    target.write_text("x")
    assert main(["fit", str(csv_path), "-k", "2", "--out", str(target), "--force"]) == 2
    assert "not a directory" in _one_error_line(capsys.readouterr().err)
    assert target.read_text() == "x"


@pytest.mark.parametrize("k", ["0", "-3", "two", "1.5"])
def test_bad_k_is_usage_error(csv_path, tmp_path, capsys, k):
    assert main(["fit", str(csv_path), "-k", k, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()  # one line (issue 18), not a usage block
    assert len(err) == 1 and err[0].startswith("nmfkit fit: error:") and "positive integer" in err[0]
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    "extra", [["--loss", "hinge"], ["--solver", "newton"], ["--tol", "-1"], ["--max-time", "0"]]
)
def test_bad_options_are_usage_errors(csv_path, tmp_path, capsys, extra):
    assert main(["fit", str(csv_path), "-k", "2", "--out", str(tmp_path / "o"), *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("nmfkit fit: error:") and "--help" in err[0]


def test_no_command_and_version(capsys):
    assert main([]) == 2
    assert "fit" in capsys.readouterr().err
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"nmfkit {nmfkit.__version__}"


@pytest.mark.parametrize("command", ["fit", "demo", "info"])
def test_help_of_each_command(capsys, command):
    assert main([command, "--help"]) == 0
    assert f"usage: nmfkit {command}" in capsys.readouterr().out


def test_demo_writes_report(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    stdout = capsys.readouterr().out
    assert str((out / "index.html").resolve()) in stdout
    for name in ("index.html", "W.tsv", "H.tsv", "summary.json", "result.npz"):
        assert (out / name).is_file(), name
    for name in ("loss.png", "factors.png", "components.png"):
        assert _is_png(out / name), name
    summary = json.loads((out / "summary.json").read_text())
    assert summary["shape"] == [1797, 64] and summary["k"] == 10 and summary["solver"] == "hals"
    assert summary["relative_error"] < 0.6
    assert summary["loss"] < summary["loss_initial"]
    page = (out / "index.html").read_text()
    for needle in ("components.png", f"{summary['relative_error']:.6g}", "Alpaydin", "1,797"):
        assert needle in page, needle
    # self-contained (nmfkit.report): images embedded, nothing fetched
    assert page.count('src="data:image/png;base64,') >= 3 and 'src="http' not in page
    text = re.sub(r'src="data:[^"]*"', "", page)
    assert "<script" not in page and "http" not in text.split("<body>")[1].split("Data:")[0]
    H = pd.read_csv(out / "H.tsv", sep="\t", index_col=0)
    assert H.shape == (10, 64) and H.columns[0] == "pixel_0_0"
    assert main(["demo", "--out", str(out)]) == 2  # exists: needs --force
    assert "--force" in capsys.readouterr().err


def test_info_prints_versions(capsys):
    import scipy
    import sklearn

    assert main(["info"]) == 0
    out = capsys.readouterr().out
    for needle in (f"nmfkit {nmfkit.__version__}", np.__version__, scipy.__version__,
                   sklearn.__version__, pd.__version__, "torch", "cupy", "anndata", "dask", "BLAS"):
        assert needle in out, needle
    assert main(["info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["versions"]["numpy"] == np.__version__
    assert set(info["optional"]) == {"torch", "cupy", "anndata", "dask"}


def test_python_m_nmfkit_help():
    proc = subprocess.run(
        [sys.executable, "-m", "nmfkit", "--help"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert "usage: nmfkit" in proc.stdout and "demo" in proc.stdout


def test_fit_streams_an_h5ad_with_batch_size(tmp_path, capsys):
    """``nmfkit fit big.h5ad --batch-size N`` fits MiniBatchNMF from the file (never read whole)."""
    anndata = pytest.importorskip("anndata")
    import json

    import nmfkit.io

    X = nmfkit.datasets.load_mouse10k().X[:1500]
    path = tmp_path / "cells.h5ad"
    anndata.AnnData(X=X).write_h5ad(path)
    calls = []
    real = nmfkit.io.read_matrix
    nmfkit.io.read_matrix = lambda *a, **k: calls.append(a) or real(*a, **k)
    try:
        out = tmp_path / "run"
        rc = main(["fit", str(path), "-k", "4", "--loss", "kl", "--batch-size", "500", "--max-iter", "3",
                   "--seed", "0", "--out", str(out), "-q"])
    finally:
        nmfkit.io.read_matrix = real
    assert rc == 0 and not calls  # streamed, not read whole
    summary = json.loads((out / "summary.json").read_text())
    assert summary["shape"] == [1500, 1000] and summary["solver"] == "minibatch-mu"
    assert summary["sparse"] is True and 0 < summary["relative_error"] < 1
    W = pd.read_csv(out / "W.tsv", sep="\t", index_col=0)
    assert W.shape == (1500, 4) and str(W.index[0]) == "0"  # obs_names of the file
    capsys.readouterr()
    # --transpose cannot stream by rows: one line naming the fix
    rc = main(["fit", str(path), "-k", "4", "--batch-size", "500", "--transpose", "--out",
               str(tmp_path / "t")])
    assert rc == 2 and "--transpose" in _one_error_line(capsys.readouterr().err)
