"""``nmfkit signatures extract|assign``: result folders, reports, and clear errors."""

from __future__ import annotations

import json

import pandas as pd

from nmfkit.cli import main
from nmfkit.datasets import load_breast_cancer_sbs96
from nmfkit.signatures import read_catalog, to_catalog


def _files(tmp_path, cosmic):
    catalog = tmp_path / "Samples.txt"
    load_breast_cancer_sbs96().catalog.to_csv(catalog, sep="\t")
    ref = tmp_path / "COSMIC.txt"
    to_catalog(cosmic).to_csv(ref, sep="\t")
    return str(catalog), str(ref)


def test_extract_then_assign_the_de_novo_signatures(tmp_path, cosmic, capsys):
    catalog, ref = _files(tmp_path, cosmic)
    out = tmp_path / "sigs"
    rc = main(["signatures", "extract", catalog, "--ks", "2-4", "--replicates", "6",
               "--precision", "single", "--cv-folds", "3", "--reference", ref, "--out", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "k (SigProfiler's rule)" in text and "report:" in text
    html = (out / "index.html").read_text()
    params = json.loads((out / "params.json").read_text())
    assert params["n_replicates"] == 6 and len(params["replicate_seeds"]) == 6
    dec = pd.read_csv(out / "decomposition.csv")
    assert len(dec) >= 2 and "SBS" in html
    for k in (2, 3, 4):
        sig = read_catalog(out / f"signatures_k{k}.csv")
        assert sig.shape == (k, 96)
    # the same folder again is refused without --force, and nothing is lost
    assert main(["signatures", "extract", catalog, "--ks", "2", "--replicates", "2",
                 "--out", str(out)]) == 2
    assert "--force" in capsys.readouterr().err and (out / "index.html").is_file()
    # assign the catalog to the de novo signatures of k = 3, with bootstrap CIs
    out2 = tmp_path / "assigned"
    rc = main(["signatures", "assign", catalog, "--signatures", str(out / "signatures_k3.csv"),
               "--bootstrap", "20", "--out", str(out2), "-q"])
    assert rc == 0
    E = pd.read_csv(out2 / "exposures.csv", index_col=0)
    lo = pd.read_csv(out2 / "exposures_lower.csv", index_col=0)
    hi = pd.read_csv(out2 / "exposures_upper.csv", index_col=0)
    assert E.shape == (21, 3) and (lo.to_numpy() <= E.to_numpy() + 1e-6).all()
    assert (E.to_numpy() <= hi.to_numpy() + 1e-6).all()
    # every sample keeps its mutations: the refit explains most of each catalog
    fit = pd.read_csv(out2 / "fit.csv", index_col=0)
    assert fit["cosine"].median() > 0.9


def test_assign_to_cosmic_and_bad_reference(tmp_path, cosmic, capsys):
    catalog, ref = _files(tmp_path, cosmic)
    rc = main(["signatures", "assign", catalog, "--reference", ref, "--bootstrap", "10",
               "--out", str(tmp_path / "a")])
    assert rc == 0
    text = capsys.readouterr().out
    assert "SBS3" in text and "SBS13" in text  # HR deficiency and APOBEC in these breast cancers
    rc = main(["signatures", "assign", catalog, "--reference", str(tmp_path / "missing.txt"),
               "--out", str(tmp_path / "b")])
    assert rc == 2 and "does not exist" in capsys.readouterr().err
