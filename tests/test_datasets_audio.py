"""load_trumpet, and the trumpet example's pieces on synthetic tones: Wiener resynthesis sums
to the mixture, and KL-NMF with k=2 finds two notes at their known pitches."""

from __future__ import annotations

import ast
import sys
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from nmfkit.datasets import load_trumpet

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "gallery" / "plot_trumpet_notes.py"
SR = 22050


def _constant(node):
    if not isinstance(node, ast.Assign):
        return False
    try:
        ast.literal_eval(node.value)
    except ValueError:
        return False
    return True


@pytest.fixture(scope="module")
def ex():
    """The example's imports, literal constants and functions (not its cells)."""
    tree = ast.parse(EXAMPLE.read_text(encoding="utf-8"))
    body = [n for n in tree.body
            if isinstance(n, (ast.Import, ast.ImportFrom, ast.FunctionDef)) or _constant(n)]
    ns = {}
    exec(compile(ast.Module(body, type_ignores=[]), str(EXAMPLE), "exec"), ns)
    return ns


def tone(freq, start, stop, n_harmonics=4):
    """A harmonic tone (amplitudes 1/h) sounding from ``start`` to ``stop`` seconds of 1.5 s,
    with 10 ms ramps."""
    t = np.arange(int(1.5 * SR)) / SR
    envelope = np.clip(np.minimum(t - start, stop - t) / 0.01, 0.0, 1.0)
    return envelope * sum(np.sin(2 * np.pi * h * freq * t) / h for h in range(1, n_harmonics + 1))


def test_load_trumpet():
    data = load_trumpet()
    assert data.sample_rate == 22050
    assert data.signal.ndim == 1 and data.signal.dtype == np.float64
    assert abs(len(data.signal) / data.sample_rate - 5.33) < 0.01
    assert 0.5 < np.abs(data.signal).max() <= 1.0
    assert "Mihai Sorohan" in data.attribution and "CC BY 3.0" in data.attribution
    licence = resources.files("nmfkit.datasets").joinpath("_data", "trumpet_sorohanro.LICENSE.txt")
    assert "creativecommons.org/licenses/by/3.0" in licence.read_text(encoding="utf-8")


def test_load_trumpet_without_soundfile_names_the_fix(monkeypatch):
    monkeypatch.setitem(sys.modules, "soundfile", None)  # import soundfile -> ImportError
    with pytest.raises(ImportError, match="pip install 'soundfile'"):
        load_trumpet()


def test_wiener_components_sum_to_the_mixture(ex):
    x = tone(440.0, 0.1, 1.0) + 0.5 * tone(660.0, 0.5, 1.4)
    stft = ex["make_stft"](SR)
    Z = stft.stft(x)
    rng = np.random.default_rng(0)
    W, H = rng.random((Z.shape[1], 3)), rng.random((3, Z.shape[0]))  # any non-negative model
    parts = ex["wiener_separate"](Z, W, H)
    assert parts.shape == (3, *Z.shape)
    np.testing.assert_allclose(parts.sum(axis=0), Z, rtol=1e-12, atol=1e-12)
    sources = np.stack([stft.istft(P, k1=len(x)) for P in parts])
    error = np.linalg.norm(sources.sum(axis=0) - x) / np.linalg.norm(x)
    print(f"relative error of the summed sources: {error:.1e}")
    assert error < 1e-10


def test_nmf_finds_two_notes_at_their_pitches(ex):
    x = tone(440.0, 0.1, 1.0) + tone(660.0, 0.5, 1.4)
    stft = ex["make_stft"](SR)
    Z = stft.stft(x)
    W, H, _ = ex["fit_notes"](np.abs(Z), 2, seed=0)
    f0 = np.array([ex["fundamental"](h, stft.f) for h in H])
    order = np.argsort(f0)
    print("fundamentals (Hz):", f0[order])
    np.testing.assert_allclose(f0[order], [440.0, 660.0], rtol=0.005)
    assert [ex["note_name"](f)[0] for f in f0[order]] == ["A4", "E5"]
    # each component sounds when its note does: the 660 Hz one is silent before its onset
    t = stft.t(len(x))
    low, high = W[:, order[0]], W[:, order[1]]
    assert high[(t > 0.15) & (t < 0.4)].max() < 0.01 * high.max()
    assert low[(t > 1.1) & (t < 1.35)].max() < 0.01 * low.max()


def test_note_names(ex):
    assert ex["note_name"](440.0) == ("A4", 0.0)
    name, cents = ex["note_name"](261.63)
    assert name == "C4" and abs(cents) < 1
