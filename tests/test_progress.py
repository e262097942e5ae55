"""Long runs a user can follow (issue 18, point 6): progress lines off a terminal, and a
warning when rank_search chooses a k at the edge of the range searched."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest

import nmfkit
from nmfkit._progress import Progress
from nmfkit.selection import rank_search


def test_plain_lines_off_a_terminal_are_throttled():
    out = io.StringIO()  # not a TTY: plain lines, no bar
    with Progress(4, "job", True, interval=0.0, stream=out) as p:
        for k in range(4):
            p.advance(note=f"k={k}")
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("job: 1/4 steps (k=0) after") and "left" in lines[0]
    assert lines[-1].startswith("job: 4/4 steps (done)")
    quiet = io.StringIO()
    with Progress(4, "job", True, interval=3600.0, stream=quiet) as p:  # a short run: silent
        for _ in range(4):
            p.advance()
    assert quiet.getvalue() == ""
    off = io.StringIO()
    with Progress(4, "job", False, interval=0.0, stream=off) as p:
        p.advance()
    assert off.getvalue() == ""


def test_rank_search_reports_each_stage_of_each_k(monkeypatch, capsys):
    import nmfkit._progress as progress

    real = progress.Progress.__init__

    def every_step(self, total, desc, enabled, *, interval=5.0, stream=None):
        real(self, total, desc, enabled, interval=0.0, stream=stream)

    monkeypatch.setattr(progress.Progress, "__init__", every_step)
    X = nmfkit.datasets.make_low_rank(40, 15, 2, noise=0.1, random_state=0).X
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rank_search(X, [1, 2, 3], n_restarts=2, max_iter=30, random_state=0, verbose=1)
    err = capsys.readouterr().err.splitlines()
    notes = [line for line in err if line.startswith("rank_search:")]
    assert any("k=2: 2 restarts" in line for line in notes), err
    assert any("k=3: cv" in line for line in notes), err
    assert notes[-1].startswith("rank_search: 6/6 steps")


@pytest.mark.parametrize("ks,edge", [([1, 2], "largest"), ([3, 4, 5], "smallest")])
def test_rank_search_warns_at_the_edge_of_the_range(ks, edge):
    X = nmfkit.datasets.make_low_rank(60, 20, 3, noise=0.05, random_state=0).X
    with pytest.warns(UserWarning, match=f"the chosen k=\\d+ is the {edge} k searched"):
        res = rank_search(X, ks, n_restarts=2, max_iter=50, random_state=0, cv_repeats=2)
    assert res.best_k in (min(ks), max(ks))


def test_rank_search_no_edge_warning_inside_the_range():
    X = nmfkit.datasets.make_low_rank(60, 20, 3, noise=0.05, random_state=0).X
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = rank_search(X, [2, 3, 4], n_restarts=2, max_iter=100, random_state=0, cv_repeats=2)
    assert res.best_k == 3
    assert not [w for w in caught if "edge" in str(w.message) or "k searched" in str(w.message)]
    assert np.isfinite(res.table["cv_error"]).all()
