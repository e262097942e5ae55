"""Every public plotting function follows the one style of ``nmfkit.plotting._style``.

For each function in ``nmfkit.plotting.__all__`` (small seeded inputs, real fits where the
input is a fit's result) the test checks:

- it returns what it drew into (an Axes, or a Figure for a grid of panels);
- ``save=tmp/"x"`` writes ``x.png`` (PNG magic) and ``x.svg`` (parses as XML), saving
  again refuses with ``NMFInputError`` naming ``overwrite=True``, and ``overwrite=True``
  replaces them;
- labelling rule: every visible Axes holding data (not a colour bar) has an x label and a
  y label, where a label may be replaced by category tick labels (text, not numbers: the
  features of a heat-map, the trinucleotides of an SBS-96 panel), an Axes sharing x (or
  y) with a labelled one (a twin, a row of panels with ``sharey``) borrows that label, and
  an image panel without ticks (a component shown as a
  picture) carries a title instead; every colour bar has a label;
- every legend (of an Axes or of the Figure) lies outside the data area of every Axes of
  the figure (window extents after ``fig.canvas.draw()``);
- every line, bar and marker is coloured from ``PALETTE`` or is a ``NEUTRAL`` reference
  line (the SBS-96 profile: its six convention colours), and every heat-map (or marker
  coloured by value) uses ``SEQUENTIAL``, or ``DIVERGING`` centred at zero;
- ``matplotlib.rcParams`` is unchanged (no global style).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import xml.etree.ElementTree as ET  # noqa: E402
from functools import lru_cache  # noqa: E402
from types import SimpleNamespace  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import nmfkit  # noqa: E402
import nmfkit.plotting as plotting  # noqa: E402
import nmfkit.pl as pl  # noqa: E402
from nmfkit import NMFInputError  # noqa: E402
from nmfkit.plotting._signatures import SBS96_COLORS  # noqa: E402
from nmfkit.plotting._style import (  # noqa: E402
    DIVERGING,
    MISSING,
    NEUTRAL,
    PALETTE,
    SEQUENTIAL,
    cvd_min_distance,
    legend_outside,
    text_color_on,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# -- inputs ------------------------------------------------------------------------------------
def _rng():
    return np.random.default_rng(0)


@lru_cache(maxsize=1)
def _fit():
    X = nmfkit.datasets.make_low_rank(30, 20, 3, noise=0.05, random_state=0).X
    return nmfkit.nmf(X, 3, random_state=0, max_iter=60)


@lru_cache(maxsize=1)
def _restarts():
    from nmfkit.selection import restarts

    X = nmfkit.datasets.make_low_rank(30, 20, 3, random_state=0).X
    return restarts(X, 3, 4, random_state=0, keep_all=True, max_iter=60)


def _rank_table():
    ks = np.arange(2, 6)
    return SimpleNamespace(best_k=3, table=pd.DataFrame({
        "k": ks, "cv_error": [0.5, 0.2, 0.22, 0.25], "cv_se": [0.02] * 4,
        "cv_train_error": [0.45, 0.15, 0.12, 0.1], "silhouette": [0.9, 0.95, 0.6, 0.4],
        "min_cluster_silhouette": [0.8, 0.9, 0.1, -0.1], "similarity": [0.97, 0.99, 0.8, 0.7],
        "cophenetic": [0.95, 0.99, 0.9, 0.85], "dispersion": [0.9, 0.98, 0.8, 0.7]}))


def _path_table():
    rows = [dict(n_components=k, alpha=a, target_explained=0.6 - 0.1 * a,
                 background_explained=0.5 / (1 + a), contrast=a * 1.5, stability=0.99 - 0.02 * a)
            for k in (2, 3) for a in (0.0, 1.0, 2.0)]
    return pd.DataFrame(rows)


def _selection_table():
    return pd.DataFrame({"avg_stability": [0.99, 0.9, 0.6], "min_stability": [0.98, 0.7, 0.1],
                         "reconstruction_error": [0.3, 0.2, 0.19], "cv_error": [0.5, 0.4, 0.45],
                         "cv_se": [0.02, 0.02, 0.03]}, index=[2, 3, 4])


def _exposures():
    return pd.DataFrame(_rng().random((6, 3)) * 100, index=[f"s{i}" for i in range(6)],
                        columns=["SBS1", "SBS5", "SBS40"])


def _signatures(k):
    from nmfkit.signatures import random_signatures

    return random_signatures(k, random_state=0)


def _one_axes():
    return plt.subplots(layout="constrained")[1]


def _adata():
    """An AnnData holding a small NMF result (nmfkit.tl's layout), groups and an embedding."""
    pytest.importorskip("anndata")
    import anndata
    import pandas as pd

    from nmfkit import NMFResult

    rng = _rng()
    obs = pd.DataFrame({"group": list("aabbccdd") * 3}, index=[f"c{i}" for i in range(24)])
    adata = anndata.AnnData(rng.random((24, 12)), obs=obs)
    adata.var_names = [f"gene{j}" for j in range(12)]
    NMFResult.from_frames(rng.random((24, 3)), rng.random((3, 12))).to_anndata(adata)
    adata.obsm["X_umap"] = rng.random((24, 2))
    return adata


# name -> (function name, call(**save_kwargs), expected return type, expects a legend)
CASES = {
    "pl.components_heatmap": ("pl.components_heatmap", lambda **kw: pl.components_heatmap(
        _adata(), "group", **kw), Axes, False),
    "pl.top_features": ("pl.top_features", lambda **kw: pl.top_features(_adata(), n=4, **kw), Figure, False),
    "pl.embedding": ("pl.embedding", lambda **kw: pl.embedding(_adata(), **kw), Figure, False),
    "plot_loss": ("plot_loss", lambda **kw: plotting.plot_loss(_fit(), **kw), Axes, True),
    "plot_factor_heatmap": ("plot_factor_heatmap", lambda **kw: plotting.plot_factor_heatmap(
        _rng().random((4, 12)), **kw), Axes, False),
    "plot_components_images": ("plot_components_images", lambda **kw: plotting.plot_components_images(
        _rng().random((4, 16)), (4, 4), **kw), Figure, False),
    "plot_top_features": ("plot_top_features", lambda **kw: plotting.plot_top_features(
        _rng().random((3, 20)), [f"gene{j}" for j in range(20)], n_top=4, **kw), Figure, False),
    "plot_rank_search": ("plot_rank_search", lambda **kw: plotting.plot_rank_search(
        _rank_table(), **kw), Figure, True),
    "plot_consensus": ("plot_consensus", lambda **kw: plotting.plot_consensus(
        __import__("nmfkit.selection", fromlist=["consensus"]).consensus(_restarts()), **kw),
        Axes, False),
    "plot_component_stability": ("plot_component_stability",
                                 lambda **kw: plotting.plot_component_stability(
                                     __import__("nmfkit.selection", fromlist=["x"])
                                     .component_stability(_restarts()), **kw), Axes, True),
    "plot_enrichment": ("plot_enrichment", lambda **kw: plotting.plot_enrichment(
        [2.5, 0.1, -1.0], **kw), Axes, True),
    "plot_contrastive_path": ("plot_contrastive_path", lambda **kw: plotting.plot_contrastive_path(
        _path_table(), **kw), Figure, True),
    "plot_sbs96": ("plot_sbs96", lambda **kw: plotting.plot_sbs96(_signatures(2), ncols=2, **kw),
                   Figure, False),
    "plot_sbs96[ax]": ("plot_sbs96", lambda **kw: plotting.plot_sbs96(
        _signatures(1), ax=_one_axes(), **kw), Axes, False),
    "plot_exposures": ("plot_exposures", lambda **kw: plotting.plot_exposures(_exposures(), **kw),
                       Axes, True),
    "plot_signature_selection": ("plot_signature_selection",
                                 lambda **kw: plotting.plot_signature_selection(
                                     _selection_table(), k_sigprofiler=3, k_cv=4, **kw), Figure, True),
    "plot_signature_selection[Figure()]": ("plot_signature_selection",  # as the CLI reports do
                                           lambda **kw: plotting.plot_signature_selection(
                                               _selection_table(), k_sigprofiler=3, k_cv=4,
                                               fig=Figure(figsize=(9, 3.5)), **kw), Figure, True),
    "plot_signature_selection[ax]": ("plot_signature_selection",
                                     lambda **kw: plotting.plot_signature_selection(
                                         _selection_table(), k_sigprofiler=3, k_cv=4, ax=_one_axes(),
                                         **kw), Axes, True),
    "plot_cosine_heatmap": ("plot_cosine_heatmap", lambda **kw: plotting.plot_cosine_heatmap(
        _rng().random((3, 10)), _rng().random((5, 10)), **kw), Axes, False),
}


def test_every_public_plotting_function_is_checked():
    """A new plotting function must be added to CASES (and so follow the style)."""
    assert {fn for fn, *_ in CASES.values()} == {n for n in plotting.__all__ if n.startswith("plot_")} | {f"pl.{n}" for n in pl.__all__ if n != "group_means"}  # group_means: a table


# -- helpers -----------------------------------------------------------------------------------
def _figure(obj):
    return obj if isinstance(obj, Figure) else obj.figure


def _colorbar_axes(fig):
    out = set()
    for ax in fig.axes:
        for im in ax.images + [c for c in ax.collections if getattr(c, "colorbar", None)]:
            if getattr(im, "colorbar", None) is not None:
                out.add(im.colorbar.ax)
    return out


def _has_data(ax):
    return bool(ax.lines or ax.patches or ax.collections or ax.images)


def _categorical_ticks(labels):
    texts = [t.get_text().replace("\u2212", "-") for t in labels if t.get_text()]
    if not texts:
        return False
    try:
        [float(t) for t in texts]
    except ValueError:
        return True
    return False


def _data_axes(fig):
    cbars = _colorbar_axes(fig)
    return [ax for ax in fig.axes if ax.get_visible() and ax not in cbars and _has_data(ax)], cbars


def _check_labels(fig):
    axes, cbars = _data_axes(fig)
    assert axes, "nothing was drawn"
    for ax in axes:
        where = f"axes titled {ax.get_title()!r}"
        if ax.images and not ax.get_xticks().size and not ax.get_yticks().size:
            assert ax.get_title(), f"image panel without a title ({where})"
            continue
        twins = [o for o in ax.get_shared_x_axes().get_siblings(ax) if o is not ax]
        has_x = (ax.get_xlabel() or _categorical_ticks(ax.get_xticklabels())
                 or any(o.get_xlabel() for o in twins))
        assert has_x, f"no x label ({where})"
        y_twins = [o for o in ax.get_shared_y_axes().get_siblings(ax) if o is not ax]
        has_y = (ax.get_ylabel() or _categorical_ticks(ax.get_yticklabels())
                 or any(o.get_ylabel() for o in y_twins))
        assert has_y, f"no y label ({where})"
    for cb in cbars:
        assert cb.get_ylabel() or cb.get_xlabel(), "colour bar without a label"


def _check_legends(fig, expect_legend):
    renderer = fig.canvas.get_renderer()
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None] + list(fig.legends)
    if expect_legend:
        assert legends, "expected a legend"
    axes, _ = _data_axes(fig)
    for legend in legends:
        box = legend.get_window_extent(renderer)
        for ax in axes:
            area = ax.get_window_extent(renderer)
            overlap_w = min(box.x1, area.x1) - max(box.x0, area.x0)
            overlap_h = min(box.y1, area.y1) - max(box.y0, area.y0)
            assert overlap_w <= 1.0 or overlap_h <= 1.0, (
                f"legend {[t.get_text() for t in legend.get_texts()]} overlaps the data area of "
                f"axes {ax.get_title()!r}")


def _rgb_set(colors):
    return {tuple(round(v, 3) for v in to_rgb(c)) for c in colors}


def _check_colours(fig, allowed):
    allowed = _rgb_set(allowed)
    axes, _ = _data_axes(fig)
    seen = []
    for ax in axes:
        seen += [line.get_color() for line in ax.lines]
        seen += [p.get_facecolor() for p in ax.patches]
        mapped = [c for c in ax.collections if c.get_array() is not None]  # colour = value
        for coll in ax.collections:
            if coll.get_array() is None:
                fc = coll.get_facecolor() if len(coll.get_facecolor()) else coll.get_edgecolor()
                seen += list(fc)
        for im in ax.images + mapped:
            cmap = im.get_cmap().name
            assert cmap in (SEQUENTIAL, DIVERGING), f"heat-map colour map {cmap}"
            if cmap == DIVERGING:
                assert im.norm.vmin == pytest.approx(-im.norm.vmax), "a diverging map is centred at 0"
    bad = _rgb_set(seen) - allowed
    assert not bad, f"colours outside the style: {sorted(bad)}"


# -- the style, per function -------------------------------------------------------------------
def _check_saved(tmp_path):
    png, svg = tmp_path / "x.png", tmp_path / "x.svg"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert ET.parse(svg).getroot().tag.endswith("svg")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.png", "x.svg"]  # no temp files left


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_plot_follows_the_style(case, tmp_path, monkeypatch):
    fn, call, kind, expect_legend = CASES[case]
    rc_before = dict(matplotlib.rcParams)
    obj = call(save=tmp_path / "x")
    assert dict(matplotlib.rcParams) == rc_before, "a plotting function changed rcParams"
    assert isinstance(obj, kind), f"{fn} returned {type(obj).__name__}, expected {kind.__name__}"
    _check_saved(tmp_path)
    with pytest.raises(NMFInputError, match="overwrite=True"):
        call(save=tmp_path / "x")
    # overwrite=True reaches the writer (spied here: rendering twice per case is slow; the real
    # replacement is test_overwrite_replaces_the_files)
    import nmfkit.plotting._style as style

    seen = []
    monkeypatch.setattr(style, "save_plot", lambda o, save, overwrite=False: seen.append(overwrite))
    call(save=tmp_path / "x", overwrite=True)
    assert seen == [True]
    monkeypatch.undo()

    fig = _figure(obj)
    if not hasattr(fig.canvas, "get_renderer"):  # a bare Figure(): give it an Agg canvas
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        FigureCanvasAgg(fig)
    fig.canvas.draw()
    _check_labels(fig)
    _check_legends(fig, expect_legend)
    allowed = list(PALETTE) + [NEUTRAL, MISSING, "0.25"]  # 0.25: SBS-96 error bars
    if fn == "plot_sbs96":
        allowed += list(SBS96_COLORS.values())
    _check_colours(fig, allowed)


def test_signed_heatmap_is_diverging_and_centred_at_zero():
    """A matrix with negative entries is not clipped at 0: DIVERGING, symmetric limits."""
    M = np.array([[-2.0, 0.5], [1.0, 0.0]])
    ax = plotting.plot_factor_heatmap(M)
    im = ax.images[0]
    assert im.get_cmap().name == DIVERGING
    assert (im.norm.vmin, im.norm.vmax) == (-2.0, 2.0)
    ax.figure.canvas.draw()
    _check_colours(ax.figure, list(PALETTE))
    pos = plotting.plot_factor_heatmap(np.abs(M)).images[0]
    assert pos.get_cmap().name == SEQUENTIAL and pos.norm.vmin == 0.0


def test_overwrite_replaces_the_files(tmp_path):
    plotting.plot_enrichment([1.0, -1.0], save=tmp_path / "x")
    first = (tmp_path / "x.svg").read_bytes()
    plotting.plot_enrichment([1.0, -1.0, 2.0], component_names=["a", "b", "c"],
                             save=tmp_path / "x.png", overwrite=True)  # a known suffix is dropped
    _check_saved(tmp_path)
    assert (tmp_path / "x.svg").read_bytes() != first


def test_categorical_colours_follow_the_palette_in_order():
    """Series j gets PALETTE[j]: stacked exposures and the k-curves of the contrastive path."""
    ax = plotting.plot_exposures(_exposures())
    assert [to_rgb(c.patches[0].get_facecolor()) for c in ax.containers] == [
        to_rgb(c) for c in PALETTE[:3]]
    fig = plotting.plot_contrastive_path(_path_table())
    colours = [to_rgb(line.get_color()) for line in fig.axes[1].lines]
    assert colours == [to_rgb(PALETTE[0]), to_rgb(PALETTE[1])]  # k = 2, k = 3


# -- the palettes themselves -------------------------------------------------------------------
def test_palette_is_distinguishable_with_every_colour_vision():
    """Okabe–Ito: every pair at least ΔE 15 apart, also simulated for the three dichromacies."""
    dist = cvd_min_distance(PALETTE)
    assert set(dist) == {"normal", "protanopia", "deuteranopia", "tritanopia"}
    for vision, (delta, pair) in dist.items():
        assert delta > 15.0, f"{vision}: colours {pair} only ΔE {delta:.1f} apart"
    # the tab10 pair red/green that the palette replaces is indeed confused (the test can fail)
    assert cvd_min_distance(["tab:red", "tab:green"])["deuteranopia"][0] < 10.0


def test_sbs96_convention_colours_have_one_weak_pair():
    """The SBS-96 convention is kept; its only weak pair is T>A (grey) / T>G (pale pink),
    which is why each block is also labelled by its class in the strip."""
    names = list(SBS96_COLORS)
    colours = list(SBS96_COLORS.values())
    weak = cvd_min_distance(colours)
    assert weak["protanopia"][1] == (names.index("T>A"), names.index("T>G"))
    assert weak["protanopia"][0] < 5.0  # documented in SBS96_COLORS: hard to tell apart
    others = [c for n, c in SBS96_COLORS.items() if n != "T>G"]
    for vision, (delta, pair) in cvd_min_distance(others).items():
        assert delta > 10.0, f"{vision}: {pair} ΔE {delta:.1f}"
    fig = plotting.plot_sbs96(_signatures(1))
    strip = sorted((t for t in fig.axes[0].texts if t.get_text() in SBS96_COLORS),
                   key=lambda t: t.get_position()[0])
    assert [t.get_text() for t in strip] == names


def test_annotation_text_reads_on_the_sequential_map():
    """Cell values are white on viridis' dark end and black on its light end (WCAG luminance)."""
    assert text_color_on(SEQUENTIAL, 0.0) == "white"
    assert text_color_on(SEQUENTIAL, 1.0) == "black"
    ax = plotting.plot_cosine_heatmap(np.eye(2), np.array([[1.0, 0.0], [0.0, 1.0]]))
    colours = {t.get_text(): t.get_color() for t in ax.texts}
    assert colours == {"1.00": "black", "0.00": "white"}


def test_legend_outside_rejects_an_unknown_position():
    ax = _one_axes()
    ax.plot([0, 1], label="a")
    with pytest.raises(NMFInputError, match="'right' or 'above'"):
        legend_outside(ax, where="inside")
    assert legend_outside(_one_axes()) is None  # nothing labelled, no legend
