"""``nmfkit fit --model M``: every family model through the one command, the same folder."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from nmfkit.cli import main
from nmfkit.datasets import load_digits


@pytest.fixture(scope="module")
def digits_file(tmp_path_factory):
    d = tmp_path_factory.mktemp("fam")
    X = load_digits().X[:240]
    np.savetxt(d / "digits.tsv", X, delimiter="\t", fmt="%g")
    np.savetxt(d / "batch.txt", np.arange(240) % 2, fmt="%d")
    y = load_digits().target[:240].astype(str).astype(object)
    y[60:] = ""  # a quarter labelled
    (d / "labels.txt").write_text("\n".join(v if v else "NA" for v in y) + "\n")
    return d


CASES = [
    ("sparse", ["--set", "sparseness_H=0.6"], False),
    ("symmetric", [], True),
    ("tri", ["--set", "n_col_clusters=4"], True),
    ("archetypal", [], False),
    ("deep", ["--set", "layer_sizes=(8,4)"], False),
    ("joint", ["--sample-labels", "batch.txt", "--set", "lam=1"], False),
    ("supervised", ["--sample-labels", "labels.txt"], False),
]


@pytest.mark.parametrize("model,extra,has_labels", CASES)
def test_every_model_writes_the_fit_folder(digits_file, model, extra, has_labels, capsys):
    out = digits_file / f"out_{model}"
    extra = [str(digits_file / e) if e.endswith(".txt") else e for e in extra]
    rc = main(["fit", str(digits_file / "digits.tsv"), "-k", "4", "--model", model, *extra,
               "--seed", "0", "--max-iter", "40", "--out", str(out)])
    assert rc == 0, capsys.readouterr().err
    assert f"--model {model}" in capsys.readouterr().out
    W = pd.read_csv(out / "W.tsv", sep="\t", index_col=0)
    assert W.shape[0] == 240 and (W.to_numpy() >= -1e-12).all() or model == "archetypal"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["params"]["model"] == model
    assert (out / "labels.tsv").is_file() == has_labels
    if has_labels:
        labels = pd.read_csv(out / "labels.tsv", sep="\t", index_col=0)["label"]
        assert len(labels) == 240 and labels.nunique() > 1


def test_model_errors_are_one_line(digits_file, capsys):
    base = ["fit", str(digits_file / "digits.tsv"), "-k", "3", "--out", str(digits_file / "bad")]
    assert main([*base, "--model", "joint"]) == 2
    assert "--sample-labels" in capsys.readouterr().err
    assert main([*base, "--model", "sparse", "--loss", "kl"]) == 2
    assert "Frobenius loss only" in capsys.readouterr().err
    assert main([*base, "--model", "tri", "--set", "oops"]) == 2
    assert "NAME=VALUE" in capsys.readouterr().err
    assert main([*base, "--model", "sparse", "--batch-size", "10"]) == 2
    assert "plain NMF only" in capsys.readouterr().err
