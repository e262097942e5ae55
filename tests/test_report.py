"""nmfkit.report / `nmfkit report` / `--report`: one self-contained page for any result folder."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pandas as pd
import pytest

import nmfkit
from nmfkit.cli import main
from nmfkit.report import write_report


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """60 x 30 counts of three planted topics, each owning 10 words, plus a word common to all."""
    rng = np.random.default_rng(0)
    H = np.zeros((3, 30))
    for j in range(3):
        H[j, 10 * j: 10 * j + 10] = rng.uniform(0.5, 1.5, 10)
    H[:, 0] = 3.0  # "the": the largest entry of every topic
    W = np.eye(3)[np.repeat(np.arange(3), 20)] * 10 + rng.gamma(1.0, 0.3, (60, 3))
    X = rng.poisson(W @ H).astype(float)
    words = ["the"] + [f"t{j // 10}w{j}" for j in range(1, 30)]
    path = tmp_path_factory.mktemp("data") / "counts.csv"
    pd.DataFrame(X, index=[f"doc{i}" for i in range(60)], columns=words).to_csv(path)
    return path


@pytest.fixture(scope="module")
def fitted(planted, tmp_path_factory):
    """`nmfkit fit --report` on the planted counts (KL, k = 3)."""
    out = tmp_path_factory.mktemp("fits") / "fit"
    assert main(["fit", str(planted), "-k", "3", "--loss", "kl", "--seed", "0", "--max-iter", "300",
                 "--out", str(out), "--report", "-q"]) == 0
    return out


def _self_contained(page: str) -> None:
    assert 'src="http' not in page and "<script" not in page and "<link" not in page
    n_img = len(re.findall(r"<img ", page))
    assert n_img >= 1 and n_img == page.count('src="data:image/png;base64,')


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nmfkit: error: ") and "Traceback" not in err, err
    return lines[0]


def test_fit_with_report_writes_a_self_contained_page(fitted):
    out = fitted
    assert not list(out.parent.glob(".fit*"))  # staged, renamed into place
    page = (out / "report.html").read_text(encoding="utf-8")
    _self_contained(page)
    summary = pd.read_json(out / "summary.json", typ="series")
    for needle in ("<th>components k</th><td>3</td>", f"<td>{summary['loss']:.6g}</td>",
                   f"<th>stop reason</th><td>{summary['stop_reason']}</td>", "Convergence",
                   "H as a heat-map", "by distinctiveness", "counts.csv"):
        assert needle in page, needle
    # the page's top features: "the" heads every topic by weight; by distinctiveness each topic
    # lists only its own planted words
    res = nmfkit.io.load_result(out / "result.npz")
    table = nmfkit._inspect.top_features(res, n=5)
    for comp, part in table.groupby("component"):
        by_w = list(part[part.by == "weight"]["feature"])
        by_l = list(part[part.by == "lift"]["feature"])
        assert by_w[0] == "the" and "the" not in by_l
        assert len({w.split("w")[0] for w in by_l}) == 1, by_l  # one planted topic
        assert ", ".join(by_w) in page and ", ".join(by_l) in page
    assert len({p[p.by == "lift"]["feature"].iloc[0].split("w")[0]
                for _, p in table.groupby("component")}) == 3  # the three topics found


def test_report_command_on_rank_contrast_and_signature_folders(planted, tmp_path, capsys):
    rank, contrast, sigs = tmp_path / "rank", tmp_path / "contrast", tmp_path / "sigs"
    assert main(["rank", str(planted), "--ks", "2,3", "--restarts", "2", "--cv", "none",
                 "--seed", "0", "--max-iter", "50", "--out", str(rank), "-q"]) == 0
    X = pd.read_csv(planted, index_col=0)
    tgt, bg = tmp_path / "t.csv", tmp_path / "b.csv"
    X.iloc[:40].to_csv(tgt)
    X.iloc[20:].to_csv(bg)
    assert main(["contrast", str(tgt), str(bg), "-k", "2", "--restarts", "2", "--seed", "0",
                 "--max-iter", "200", "--out", str(contrast), "-q"]) == 0
    catalog = tmp_path / "Samples.txt"
    nmfkit.datasets.load_breast_cancer_sbs96().catalog.iloc[:, :30].to_csv(catalog, sep="\t")
    assert main(["signatures", "extract", str(catalog), "--ks", "2", "--replicates", "3",
                 "--cv-folds", "0", "--max-iter", "300", "--out", str(sigs), "-q"]) == 0
    capsys.readouterr()
    for folder, needles in ((rank, ("rank search", "rank_table.tsv", "consensus.png", "best k")),
                            (contrast, ("contrastive NMF", "enrichment.tsv", "enrichment_log2",
                                        "by distinctiveness", "target term / background term")),
                            (sigs, ("signatures extraction", "selection.csv", "selection.png",
                                    "by distinctiveness", "C&gt;T"))):
        assert main(["report", str(folder)]) == 0
        assert str((folder / "report.html").resolve()) in capsys.readouterr().out
        page = (folder / "report.html").read_text(encoding="utf-8")
        _self_contained(page)
        for needle in needles:
            assert needle in page, (folder.name, needle)


def test_report_refuses_to_overwrite_without_force(fitted, tmp_path, capsys):
    out = tmp_path / "fit"
    shutil.copytree(fitted, out)
    (out / "report.html").unlink()
    assert main(["report", str(out)]) == 0
    before = (out / "report.html").read_bytes()
    capsys.readouterr()
    assert main(["report", str(out)]) == 2
    assert "--force" in _one_error_line(capsys.readouterr().err)
    assert (out / "report.html").read_bytes() == before
    assert main(["report", str(out), "--force"]) == 0
    other = tmp_path / "page.html"
    assert write_report(out, other) == other and other.is_file()
    with pytest.raises(nmfkit.exceptions.NMFInputError, match="overwrite=True"):
        write_report(out, other)


def test_not_a_result_folder_is_one_error_line(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("hello")
    assert main(["report", str(tmp_path)]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "is not an nmfkit result folder" in line and "nmfkit fit" in line
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert "is not a folder" in _one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "report.html").exists()


def test_a_report_that_fails_to_render_never_costs_the_fit(planted, tmp_path, capsys, monkeypatch):
    import nmfkit.report as report

    def broken(*args, **kwargs):
        raise RuntimeError("a figure could not be drawn")

    monkeypatch.setattr(report, "write_report", broken)
    out = tmp_path / "fit"
    assert main(["fit", str(planted), "-k", "3", "--loss", "kl", "--seed", "0", "--max-iter", "50",
                 "--out", str(out), "--report", "-q"]) == 0
    assert (out / "W.tsv").is_file() and (out / "result.npz").is_file()
    assert not (out / "report.html").exists()
    assert "report.html was not written" in capsys.readouterr().err
