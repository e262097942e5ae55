"""``nmfkit rank`` (in-process through ``main``)."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd
import pytest

import nmfkit
from nmfkit.cli import main
from nmfkit.cli._rank import parse_ks

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def csv_path(tmp_path_factory):
    """80 x 40 non-negative data of planted rank 3, with sample and gene names."""
    X = nmfkit.datasets.make_low_rank(80, 40, 3, noise=0.2, random_state=0).X
    df = pd.DataFrame(X, index=[f"cell{i}" for i in range(80)], columns=[f"gene{j}" for j in range(40)])
    path = tmp_path_factory.mktemp("rank") / "data.csv"
    df.to_csv(path)
    return path


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("nmfkit: error: ") and "Traceback" not in err
    return lines[0]


def test_rank_writes_table_plots_and_best_fit(csv_path, tmp_path, capsys):
    out = tmp_path / "rank"
    rc = main(["rank", str(csv_path), "--ks", "2-5", "--restarts", "4", "--seed", "0",
               "--out", str(out)])
    assert rc == 0
    stdout = capsys.readouterr().out
    assert "chosen k: 3" in stdout
    table = pd.read_csv(out / "rank_table.tsv", sep="\t")
    assert list(table["k"]) == [2, 3, 4, 5]
    assert {"cv_error", "cophenetic", "dispersion", "silhouette", "time"} <= set(table.columns)
    for name in ("rank_search.png", "consensus.png", "stability.png"):
        assert (out / name).read_bytes()[:8] == PNG_MAGIC
    summary = json.loads((out / "summary.json").read_text())
    assert summary["best_k"] == 3 and summary["shape"] == [80, 40]
    assert summary["command"].startswith("nmfkit rank")
    H = pd.read_csv(out / "H.tsv", sep="\t", index_col=0)
    assert H.shape == (3, 40) and list(H.columns[:2]) == ["gene0", "gene1"]
    # --force replaces the folder; --quiet prints nothing
    rc = main(["rank", str(csv_path), "--ks", "2,3", "--restarts", "2", "--seed", "0",
               "--cv", "bicv", "--out", str(out), "--force", "--quiet"])
    assert rc == 0 and capsys.readouterr().out == ""
    again = pd.read_csv(out / "rank_table.tsv", sep="\t")
    assert list(again["k"]) == [2, 3] and np.isfinite(again["bicv_error"]).all()


def test_rank_without_cv_has_no_best_k(csv_path, tmp_path, capsys):
    out = tmp_path / "nocv"
    assert main(["rank", str(csv_path), "--ks", "2,3", "--restarts", "2", "--cv", "none",
                 "--seed", "1", "--out", str(out), "-q"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["best_k"] is None and not (out / "H.tsv").exists()


@pytest.mark.parametrize("args,match", [
    (["--ks", "2-41"], "min(n_samples, n_features) = 40"),
    (["--restarts", "1"], "n_restarts >= 2"),
    (["--cv-fraction", "1.5"], "fraction=1.5"),
])
def test_rank_bad_input_is_one_line(csv_path, tmp_path, capsys, args, match):
    rc = main(["rank", str(csv_path), *args, "--out", str(tmp_path / "x")])
    assert rc == 2
    assert match in _one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "x").exists()


def test_rank_existing_out_needs_force(csv_path, tmp_path, capsys):
    (tmp_path / "x").mkdir()
    assert main(["rank", str(csv_path), "--ks", "2", "--out", str(tmp_path / "x")]) == 2
    assert "--force" in _one_error_line(capsys.readouterr().err)


def test_parse_ks():
    assert parse_ks("2-5") == [2, 3, 4, 5]
    assert parse_ks("2-4,8, 6") == [2, 3, 4, 6, 8]
    for bad in ("0-3", "5-2", "a", "", "2.5"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_ks(bad)


def test_rank_bad_ks_is_usage_error(csv_path, tmp_path, capsys):
    assert main(["rank", str(csv_path), "--ks", "x-3", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip().splitlines()  # one line (issue 18), not a usage block
    assert len(err) == 1 and err[0].startswith("nmfkit rank: error:") and "2-10" in err[0]
