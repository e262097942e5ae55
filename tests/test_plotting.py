"""Tests of nmfkit.plotting (Agg backend, no display)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from nmfkit import NMFInputError, NMFResult  # noqa: E402
from nmfkit.plotting import (  # noqa: E402
    plot_components_images,
    plot_factor_heatmap,
    plot_loss,
    plot_top_features,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def result():
    rng = np.random.default_rng(0)
    H = rng.random((4, 64))
    H /= H.sum(axis=1, keepdims=True)
    return NMFResult(
        W=rng.random((30, 4)),
        H=H,
        loss=2.0,
        loss_history=(40.0, 10.0, 4.0, 2.5, 2.0),
        n_iter=40,
        converged=True,
        stop_reason="tol",
        elapsed=0.1,
        beta=2.0,
        solver="hals",
        info={"loss_iters": [0, 10, 20, 30, 40]},
    )


def _png_ok(fig, path):
    fig.savefig(path)
    return path.exists() and path.stat().st_size > 1000


def test_public_api():
    import nmfkit.plotting as pl

    assert {
        "plot_loss",
        "plot_factor_heatmap",
        "plot_components_images",
        "plot_top_features",
        "plot_rank_search",
        "plot_consensus",
        "plot_component_stability",
    } <= set(pl.__all__)
    style = {"PALETTE", "SEQUENTIAL", "DIVERGING", "categorical_colors", "legend_outside"}  # the shared style
    assert all((name.startswith("plot_") or name in style) and hasattr(pl, name) for name in pl.__all__)


def test_plot_loss_result(result, tmp_path):
    ax = plot_loss(result)
    assert isinstance(ax, Axes)
    line = ax.get_lines()[0]
    np.testing.assert_array_equal(line.get_xdata(), [0, 10, 20, 30, 40])  # info["loss_iters"]
    np.testing.assert_array_equal(line.get_ydata(), result.loss_history)
    assert ax.get_yscale() == "log"
    assert len(ax.collections) == 1  # the stop marker
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("converged" in t and "40" in t for t in legend)
    assert "Frobenius" in ax.get_ylabel()
    assert _png_ok(ax.figure, tmp_path / "loss.png")


def test_plot_loss_history_into_given_axes(tmp_path):
    fig, ax = plt.subplots()
    out = plot_loss([3.0, 2.0, 0.0], ax=ax, log=True)
    assert out is ax
    np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), [0, 1, 2])
    assert ax.get_yscale() == "linear"  # a zero cannot go on a log axis
    assert ax.get_legend() is None  # no stop reason for a bare history
    assert _png_ok(fig, tmp_path / "h.png")


def test_plot_loss_marks_max_iter(result):
    from dataclasses import replace

    ax = plot_loss(replace(result, converged=False, stop_reason="max_iter"), log=False)
    assert ax.get_yscale() == "linear"
    assert any("max_iter" in t.get_text() for t in ax.get_legend().get_texts())


def test_plot_loss_rejects_empty():
    with pytest.raises(NMFInputError):
        plot_loss([])


def test_heatmap_labels_thinned(result, tmp_path):
    names = [f"px{j}" for j in range(64)]
    ax = plot_factor_heatmap(result.H, col_labels=names, row_labels=["a", "b", "c", "d"], max_labels=16)
    assert isinstance(ax, Axes)
    assert len(ax.images) == 1
    assert ax.images[0].get_array().shape == (4, 64)
    assert len(ax.figure.axes) == 2  # the heat-map and its colour bar
    xt = [t.get_text() for t in ax.get_xticklabels()]
    assert len(xt) == 16 and xt[0] == "px0" and xt[1] == "px4"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c", "d"]
    assert _png_ok(ax.figure, tmp_path / "heat.png")


def test_heatmap_dataframe_labels_and_title():
    df = pd.DataFrame(np.eye(3), index=["c1", "c2", "c3"], columns=["x", "y", "z"])
    ax = plot_factor_heatmap(df, title="H")
    assert ax.get_title() == "H"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["x", "y", "z"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["c1", "c2", "c3"]


def test_heatmap_checks_label_count(result):
    with pytest.raises(NMFInputError, match="col_labels"):
        plot_factor_heatmap(result.H, col_labels=["a"])


def test_components_images(result, tmp_path):
    fig = plot_components_images(result.H, (8, 8), n_cols=3)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 4
    assert sum(len(ax.images) for ax in fig.axes) == 4
    assert fig.axes[0].images[0].get_array().shape == (8, 8)
    assert [ax.get_title() for ax in fig.axes] == ["comp1", "comp2", "comp3", "comp4"]
    assert _png_ok(fig, tmp_path / "comp.png")


def test_components_images_into_bare_figure(result):
    fig = Figure()
    assert plot_components_images(result.H, (8, 8), fig=fig) is fig
    assert len(fig.axes) == 4


def test_components_images_bad_shape(result):
    with pytest.raises(NMFInputError, match="image_shape"):
        plot_components_images(result.H, (7, 7))


def test_top_features(result, tmp_path):
    names = [f"feat{j}" for j in range(64)]
    fig = plot_top_features(result.H, names, n_top=5)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 4
    for i, ax in enumerate(fig.axes):
        assert len(ax.patches) == 5
        heights = [p.get_width() for p in ax.patches]
        assert heights == sorted(heights)  # heaviest drawn last, i.e. on top
        top = int(np.argmax(result.H[i]))
        assert ax.get_yticklabels()[-1].get_text() == f"feat{top}"
    assert _png_ok(fig, tmp_path / "top.png")


def test_top_features_dataframe_and_few_features():
    H = pd.DataFrame([[0.5, 0.3, 0.2]], index=["sig"], columns=["a", "b", "c"])
    fig = plot_top_features(H, n_top=10)
    (ax,) = fig.axes
    assert len(ax.patches) == 3
    assert ax.get_title() == "sig"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["c", "b", "a"]


def test_no_global_style_change(result):
    before = dict(plt.rcParams)
    plot_loss(result)
    plot_factor_heatmap(result.W)
    plot_components_images(result.H, (8, 8))
    plot_top_features(result.H)
    assert dict(plt.rcParams) == before
