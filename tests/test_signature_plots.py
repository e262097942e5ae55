"""Signature plots (nmfkit.plotting) and the extraction / assignment reports (Agg, bare Figures)."""

import json
import types

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402
from matplotlib.container import BarContainer  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from nmfkit.exceptions import NMFInputError  # noqa: E402
from nmfkit.plotting import (plot_cosine_heatmap, plot_exposures, plot_sbs96,  # noqa: E402
                             plot_signature_selection)
from nmfkit.plotting._signatures import SBS96_COLORS  # noqa: E402
from nmfkit.signatures import (SBS96_TYPES, cosine_similarity, random_signatures,  # noqa: E402
                               read_catalog, sbs96_types)
from nmfkit.signatures._extract_result import ExtractionResult, Solution  # noqa: E402
from nmfkit.signatures._report import write_extraction_report  # noqa: E402
from nmfkit.signatures._report_assign import write_assignment_report  # noqa: E402

SUBST = sbs96_types("substitution")
PNG = b"\x89PNG\r\n\x1a\n"


def _signatures(k, seed=0):
    S = random_signatures(k, concentration=0.5, random_state=seed)
    return pd.DataFrame(np.asarray(S, dtype=float), index=[f"S{i + 1}" for i in range(k)],
                        columns=list(SBS96_TYPES))


def _vertical_xs(ax):
    xs = set()
    for line in ax.get_lines():
        x = np.asarray(line.get_xdata(), dtype=float)
        y = np.asarray(line.get_ydata(), dtype=float)
        if x.size == 2 and x[0] == x[1] and y.tolist() == [0.0, 1.0]:
            xs.add(float(x[0]))
    return xs


# --------------------------------------------------------------------------- plot_sbs96

def test_sbs96_bars_in_substitution_major_order_with_the_six_colours():
    S = _signatures(2)  # columns in lexicographic order
    assert list(S.columns) != SUBST
    fig = plot_sbs96(S, fig=Figure(), percent=False)
    expected_colours = [to_rgb(c) for c in SBS96_COLORS.values()]
    assert list(SBS96_COLORS) == ["C>A", "C>G", "C>T", "T>A", "T>C", "T>G"]
    assert expected_colours[0] == pytest.approx((3 / 256, 189 / 256, 239 / 256))
    for j, ax in enumerate(fig.axes):
        bars = ax.patches
        assert len(bars) == 96 and list(ax.containers[0]) == list(bars)
        np.testing.assert_allclose([b.get_height() for b in bars], S.loc[:, SUBST].iloc[j].to_numpy())
        assert [b.get_x() + b.get_width() / 2 for b in bars] == pytest.approx(np.arange(96))
        for i, bar in enumerate(bars):
            assert to_rgb(bar.get_facecolor()) == pytest.approx(expected_colours[i // 16])
        ticks = [t.get_text() for t in ax.get_xticklabels()]
        assert ticks[:5] == ["ACA", "ACC", "ACG", "ACT", "CCA"] and ticks[-1] == "TTT"
        strip = [t for t in ax.texts if t.get_text() in SBS96_COLORS]
        assert [t.get_text() for t in sorted(strip, key=lambda t: t.get_position()[0])] == list(SBS96_COLORS)
    # any column order, a 96 x k table, or an array in SBS96_TYPES order: the same bars
    rng = np.random.default_rng(0)
    shuffled = S[list(rng.permutation(S.columns))]
    for same in (shuffled, S.T, S.to_numpy()):
        again = plot_sbs96(same, fig=Figure(), percent=False)
        for a, b in zip(fig.axes, again.axes):
            assert [p.get_height() for p in a.patches] == [p.get_height() for p in b.patches]


def test_sbs96_percent_mode_and_standard_errors():
    S = _signatures(3, seed=1) * 250.0  # counts, not fractions
    se = S * 0.1
    fig = plot_sbs96(S, fig=Figure(), se=se, ncols=2, names=["a", "b", "c"])
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 3 and len(fig.axes) == 4
    for j, ax in enumerate(visible):
        heights = np.array([p.get_height() for p in ax.patches])
        assert heights.sum() == pytest.approx(100.0)
        bars = next(c for c in ax.containers if isinstance(c, BarContainer))
        segs = bars.errorbar.lines[2][0].get_segments()
        half = np.array([(s[1][1] - s[0][1]) / 2 for s in segs])
        expected = se.loc[:, SUBST].iloc[j].to_numpy() * 100.0 / S.iloc[j].sum()
        np.testing.assert_allclose(half, expected, rtol=1e-9)
        assert any(t.get_text() == "abc"[j] for t in ax.texts)


def test_sbs96_single_axes_and_errors():
    S = _signatures(2)
    ax = Figure().add_subplot()
    assert plot_sbs96(S.iloc[0], ax=ax) is ax and len(ax.patches) == 96
    with pytest.raises(NMFInputError, match="fig="):
        plot_sbs96(S, ax=Figure().add_subplot())
    with pytest.raises(NMFInputError, match="96"):
        plot_sbs96(np.ones((2, 95)))
    with pytest.raises(NMFInputError, match="shape"):
        plot_sbs96(S, fig=Figure(), se=S.iloc[:1])


# --------------------------------------------------------------------------- exposures

def test_exposures_stacked_heights_equal_row_sums():
    rng = np.random.default_rng(2)
    E = pd.DataFrame(rng.gamma(1.0, 50.0, (7, 3)), index=[f"s{i}" for i in range(7)],
                     columns=["SBS96A", "SBS96B", "SBS96C"])
    ax = plot_exposures(E, ax=Figure().add_subplot())
    assert len(ax.containers) == 3
    tops = np.array([[p.get_y() + p.get_height() for p in c] for c in ax.containers])
    bottoms = np.array([[p.get_y() for p in c] for c in ax.containers])
    np.testing.assert_allclose(tops[-1], E.sum(axis=1).to_numpy())
    np.testing.assert_allclose(bottoms[1:], tops[:-1])  # stacked
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(E.columns)
    rel = plot_exposures(E, ax=Figure().add_subplot(), relative=True, order="total")
    top = np.array([p.get_y() + p.get_height() for p in rel.containers[-1]])
    np.testing.assert_allclose(top, 1.0)
    shown = [t.get_text() for t in rel.get_xticklabels()]
    assert shown == list(E.sum(axis=1).sort_values(ascending=False).index)
    first = [p.get_height() for p in rel.containers[0]]
    np.testing.assert_allclose(first, (E.iloc[:, 0] / E.sum(axis=1))[shown].to_numpy())
    sub = plot_exposures(E, ax=Figure().add_subplot(), order=["s3", "s1"])
    assert [t.get_text() for t in sub.get_xticklabels()] == ["s3", "s1"]
    with pytest.raises(NMFInputError, match="unknown sample"):
        plot_exposures(E, order=["nope"])


# --------------------------------------------------------------------------- selection

def _table(ks=(2, 3, 4, 5)):
    n = len(ks)
    return pd.DataFrame({
        "avg_stability": np.linspace(0.99, 0.6, n), "min_stability": np.linspace(0.95, 0.1, n),
        "reconstruction_error": np.linspace(0.4, 0.2, n), "kl_per_entry": np.linspace(2, 1, n),
        "cv_error": np.linspace(1.0, 0.9, n), "cv_se": np.full(n, 0.02),
        "converged": np.ones(n), "n_iter": np.full(n, 500), "candidate": [True] * (n - 1) + [False],
        "seconds": np.ones(n)}, index=pd.Index(list(ks), name="k"))


def test_selection_panel_marks_both_ranks_and_thresholds():
    table = _table()
    fig = plot_signature_selection(table, k_sigprofiler=4, k_cv=3, fig=Figure())
    left, right = fig.axes[:2]
    for ax in (left, right):
        assert _vertical_xs(ax) == {3.0, 4.0}
        labels = ax.get_legend_handles_labels()[1]
        assert "k = 4 (SigProfiler rule)" in labels and "k = 3 (CV rule)" in labels
    horizontal = {float(line.get_ydata()[0]) for line in left.get_lines()
                  if list(line.get_xdata()) == [0, 1]}
    assert {0.8, 0.2} <= horizontal
    np.testing.assert_allclose(left.get_lines()[0].get_ydata(), table["avg_stability"])
    # with one axes, errors on its twin; an ExtractionResult supplies the ranks itself
    result = _fake_result()
    ax = Figure().add_subplot()
    assert plot_signature_selection(result, ax=ax) is ax
    assert _vertical_xs(ax) == {float(result.k_sigprofiler), float(result.k_cv)}
    assert len(ax.figure.axes) == 2


# --------------------------------------------------------------------------- cosine heat-map

def test_cosine_heatmap_values_and_column_selection():
    A = _signatures(3, seed=3)
    B = _signatures(30, seed=4).set_axis([f"SBS{i}" for i in range(30)], axis=0)
    B.iloc[7] = A.iloc[1]
    ax = plot_cosine_heatmap(A, B, ax=Figure().add_subplot())
    C = cosine_similarity(A, B)
    np.testing.assert_allclose(ax.images[0].get_array(), C.to_numpy())
    assert [t.get_text() for t in ax.get_xticklabels()] == list(B.index)
    assert [t.get_text() for t in ax.get_yticklabels()] == list(A.index)
    assert len(ax.texts) == 90 and ax.texts[0].get_text() == f"{C.iloc[0, 0]:.2f}"
    best = plot_cosine_heatmap(A, B, ax=Figure().add_subplot(), top=1, annotate=False)
    kept = [t.get_text() for t in best.get_xticklabels()]
    assert kept == [c for c in B.index if c in set(C.idxmax(axis=1))] and "SBS7" in kept
    np.testing.assert_allclose(best.images[0].get_array(), C[kept].to_numpy())
    assert not best.texts
    wide = plot_cosine_heatmap(A, B, ax=Figure().add_subplot(), threshold=0.3)
    kept = [t.get_text() for t in wide.get_xticklabels()]
    assert kept == [c for c in B.index if c in set(C.idxmax(axis=1)) or (C[c] >= 0.3).any()]


# --------------------------------------------------------------------------- reports

def _fake_result(ks=(2, 3, 4), n=10, seed=0):
    rng = np.random.default_rng(seed)
    samples = [f"sample{i}" for i in range(n)]
    catalog = pd.DataFrame(rng.poisson(5.0, (n, 96)).astype(float), index=samples,
                           columns=list(SBS96_TYPES))
    solutions = {}
    for k in ks:
        sig = _signatures(k, seed=k)
        names = list(sig.index)
        solutions[k] = Solution(
            k=k, signatures=sig, signatures_se=sig * 0.05,
            exposures=pd.DataFrame(rng.gamma(1.0, 100.0, (n, k)), index=samples, columns=names),
            stability=pd.Series(np.linspace(1.0, 0.7, k), index=names),
            silhouettes=np.ones((4, k)), replicate_signatures=np.zeros((4, k, 96)),
            sample_errors=pd.Series(rng.random(n), index=samples))
    walkdown = pd.DataFrame({"k": [3, 2], "p_value": [1.0, 0.01], "median": [0.2, 0.3],
                             "median_largest": [0.2, 0.2]})
    decomposition = pd.DataFrame({"signature": ["S1", "S2", "S3"], "reference": ["SBS1", "SBS5", "SBS3"],
                                  "weights": ["1.0", "1.0", "1.0"], "cosine_before": [0.9, 0.8, 0.7],
                                  "cosine_after": [0.95, 0.85, 0.75]})
    params = {"seed": 7, "replicate_seeds": np.arange(20), "n_replicates": 20, "ks": tuple(ks),
              "loss": "kl", "tol": np.float64(1e-6)}
    return ExtractionResult(table=_table(ks), k_sigprofiler=3, k_cv=2, k=3, rule="sigprofiler",
                            solutions=solutions, walkdown=walkdown, catalog=catalog,
                            decomposition=decomposition, params=params)


def test_extraction_report_folder(tmp_path):
    result = _fake_result()
    reference = _signatures(12, seed=9).set_axis([f"SBS{i}" for i in range(12)], axis=0)
    out = write_extraction_report(result, tmp_path / "rep", reference=reference.T)  # 96 x 12 is fine
    assert out == tmp_path / "rep"
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "k by SigProfiler&#x27;s rule" in page and "k by cross-validation" in page
    assert "<td>3</td>" in page and "<td>2</td>" in page and "rule: sigprofiler" in page
    assert page.count('class="chosen"') == 2
    assert "<th>chosen by</th>" in page
    for k, sol in result.solutions.items():
        back = read_catalog(out / f"signatures_k{k}.csv")  # 96 x k with MutationType
        assert list(back.index) == [f"SBS96{c}" for c in "ABCD"[:k]]
        np.testing.assert_allclose(back.to_numpy(), sol.signatures[list(SBS96_TYPES)].to_numpy())
        assert pd.read_csv(out / f"signatures_k{k}.csv").columns[0] == "MutationType"
        exp = pd.read_csv(out / f"exposures_k{k}.csv", index_col=0)
        np.testing.assert_allclose(exp.to_numpy(), sol.exposures.to_numpy())
        assert f"signatures_k{k}.csv" in page
    for name in ("selection.png", "signatures_k3.png", "signatures_k2.png", "exposures_k3.png",
                 "cosine_k3.png"):
        assert (out / name).read_bytes()[:8] == PNG and f'src="{name}"' in page
    assert not (out / "signatures_k4.png").exists()  # pictures only for the chosen ranks
    selection = pd.read_csv(out / "selection.csv", index_col="k")
    np.testing.assert_allclose(selection["avg_stability"], result.table["avg_stability"])
    params = json.loads((out / "params.json").read_text())
    assert params["replicate_seeds"] == list(range(20)) and params["seed"] == 7
    assert json.loads((out / "summary.json").read_text())["k_cv"] == 2
    dec = pd.read_csv(out / "decomposition.csv", index_col=0)
    assert list(dec["signature"]) == ["SBS96A", "SBS96B", "SBS96C"] and "SBS5" in page
    cos = pd.read_csv(out / "cosine_k3.csv", index_col=0)
    np.testing.assert_allclose(cos.to_numpy(), cosine_similarity(result.signatures, reference))


def test_report_refuses_to_overwrite_and_leaves_nothing_on_failure(tmp_path, monkeypatch):
    import nmfkit.signatures._report as report

    def cheap(path, *args, **kwargs):  # the pictures are tested above; keep this test fast
        path.write_bytes(PNG)

    monkeypatch.setattr(report, "_save_sbs96", cheap)
    monkeypatch.setattr(report, "_save_exposures", cheap)
    result = _fake_result(ks=(2, 3))
    out = tmp_path / "rep"
    out.mkdir()  # an empty folder is simply used
    write_extraction_report(result, out)
    (out / "mine.txt").write_text("keep")
    with pytest.raises(NMFInputError, match=r"force=True.*--force"):
        write_extraction_report(result, out)
    assert (out / "mine.txt").read_text() == "keep"

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(report, "_save_sbs96", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        write_extraction_report(result, out, force=True)
    assert (out / "mine.txt").exists()  # the old folder is untouched
    with pytest.raises(RuntimeError):
        write_extraction_report(result, tmp_path / "new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]  # no staging folder left
    monkeypatch.setattr(report, "_save_sbs96", cheap)
    write_extraction_report(result, out, force=True)
    assert not (out / "mine.txt").exists() and (out / "index.html").exists()


def test_assignment_report(tmp_path):
    rng = np.random.default_rng(5)
    samples = [f"p{i}" for i in range(8)]
    catalog = pd.DataFrame(rng.poisson(4.0, (8, 96)).astype(float), index=samples,
                           columns=list(reversed(SBS96_TYPES)))
    E = pd.DataFrame(rng.gamma(1.0, 80.0, (8, 3)), index=samples, columns=["SBS1", "SBS5", "SBS13"])
    assignment = types.SimpleNamespace(
        exposures=E, lower=E * 0.8, upper=E * 1.2,
        cosine=pd.Series(np.linspace(0.7, 0.99, 8), index=samples),
        relative_error=pd.Series(np.linspace(0.5, 0.1, 8), index=samples),
        method="nnls-bootstrap", params={"n_boot": 100, "seed": np.int64(3)})
    out = write_assignment_report(assignment, catalog.T, tmp_path / "assign")
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "nnls-bootstrap" in page and "SBS13" in page
    for name in ("exposures.csv", "exposures_lower.csv", "exposures_upper.csv", "fit.csv",
                 "signatures.csv", "params.json"):
        assert (out / name).exists() and f'href="{name}"' in page
    for name in ("exposures.png", "exposures_relative.png", "fit.png"):
        assert (out / name).read_bytes()[:8] == PNG
    fit = pd.read_csv(out / "fit.csv", index_col=0)
    np.testing.assert_allclose(fit.loc[samples, "mutations"], catalog.sum(axis=1))
    np.testing.assert_allclose(fit.loc[samples, "cosine"], assignment.cosine)
    np.testing.assert_allclose(pd.read_csv(out / "exposures_upper.csv", index_col=0), E * 1.2)
    assert json.loads((out / "params.json").read_text()) == {
        "method": "nnls-bootstrap", "params": {"n_boot": 100, "seed": 3}}
    with pytest.raises(NMFInputError, match="force=True"):
        write_assignment_report(assignment, catalog, out)
    with pytest.raises(NMFInputError, match="not in the catalog"):
        write_assignment_report(assignment, catalog.iloc[:4], tmp_path / "other")
    assert not (tmp_path / "other").exists()


def test_extraction_report_without_cv_decomposition_or_walkdown(tmp_path, monkeypatch):
    import nmfkit.signatures._report as report

    monkeypatch.setattr(report, "_save_sbs96", lambda path, *a, **k: path.write_bytes(PNG))
    result = _fake_result(ks=(2, 3))
    result.k_cv, result.decomposition, result.walkdown = None, None, pd.DataFrame()
    result.table[["cv_error", "cv_se"]] = np.nan
    out = write_extraction_report(result, tmp_path / "rep")
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "not run" in page and page.count('class="chosen"') == 1
    assert not (out / "decomposition.csv").exists() and not (out / "walkdown.csv").exists()
    assert json.loads((out / "summary.json").read_text())["k_cv"] is None
    fig = plot_signature_selection(result, fig=Figure())
    assert len(fig.axes) == 2 and _vertical_xs(fig.axes[0]) == {3.0}
