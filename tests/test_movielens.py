"""fetch_movielens_100k without the network (a local zip in the ml-100k layout), make_ratings,
and the recommender example's functions: masked NMF beats the mean baselines."""

from __future__ import annotations

import ast
import hashlib
import runpy
import zipfile
from pathlib import Path

import numpy as np
import pytest

from nmfkit import NMFInputError
from nmfkit.datasets import _movielens, fetch_movielens_100k, get_data_home, make_ratings

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "gallery" / "recommender_movielens.py"
GENRES = ["unknown", "Action", "Comedy"]


def example_functions(path=EXAMPLE):
    """The example's imports, constants and functions (not its cells, which fetch data)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    module = ast.Module([n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom,
                                                                ast.FunctionDef)) or _constant(n)],
                        type_ignores=[])
    ns = {}
    exec(compile(module, str(path), "exec"), ns)
    return ns


def _constant(node):
    """An assignment of literals (``SEED = 0``), the only statements kept besides defs."""
    if not isinstance(node, ast.Assign):
        return False
    try:
        ast.literal_eval(node.value)
    except ValueError:
        return False
    return True


def write_ml100k_zip(path, data, seed=0):
    """A zip in the ml-100k layout holding ``data.X``'s ratings (ids 1-based, shuffled rows)."""
    rows, cols = np.nonzero(np.isfinite(data.X))
    order = np.random.default_rng(seed).permutation(len(rows))
    lines = [f"{r + 1}\t{c + 1}\t{int(data.X[r, c])}\t{874965758 + i}"
             for i, (r, c) in enumerate(zip(rows[order], cols[order]))]
    items = [f"{j + 1}|Film {j + 1} é (1995)|01-Jan-1995||http://x|0|{j % 2}|{1 - j % 2}"
             for j in range(data.X.shape[1])]
    genres = [f"{g}|{i}" for i, g in enumerate(GENRES)]
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("ml-100k/u.data", "\n".join(lines) + "\n")
        archive.writestr("ml-100k/u.item", ("\n".join(items) + "\n").encode("latin-1"))
        archive.writestr("ml-100k/u.genre", "\n".join(genres) + "\n\n")
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture
def local_server(tmp_path, monkeypatch):
    """URL and checksum pointed at a synthetic zip (file://); counts the downloads."""
    data = make_ratings(n_users=30, n_items=20, density=0.3, random_state=1)
    source = tmp_path / "server" / "ml-100k.zip"
    source.parent.mkdir()
    digest = write_ml100k_zip(source, data)
    monkeypatch.setattr(_movielens, "URL", source.as_uri())
    monkeypatch.setattr(_movielens, "SHA256", digest)
    calls = []
    real = _movielens.fetch_file.__globals__["_download"]

    def counting(*args):
        calls.append(args)
        return real(*args)

    monkeypatch.setitem(_movielens.fetch_file.__globals__, "_download", counting)
    return data, source, calls, digest


def test_fetch_parses_and_caches(local_server, tmp_path):
    data, _, calls, _ = local_server
    home = tmp_path / "home"
    bunch = fetch_movielens_100k(home)
    # users with a rating become rows (ids sorted), every item a column; ratings kept exactly
    users = np.flatnonzero(np.isfinite(data.X).any(axis=1))
    np.testing.assert_array_equal(bunch.user_ids, users + 1)
    np.testing.assert_array_equal(bunch.X, data.X[users])
    assert list(bunch.ratings.columns) == ["user", "item", "rating", "timestamp"]
    assert len(bunch.ratings) == np.isfinite(data.X).sum()
    assert bunch.movies.loc[3, "title"] == "Film 3 é (1995)"  # latin-1 decoded
    assert bunch.movies.loc[1, "genres"] == "Comedy" and bunch.movies.loc[2, "genres"] == "Action"
    assert "Harper" in bunch.attribution and "Konstan" in bunch.attribution
    assert [p.name for p in home.iterdir()] == ["ml-100k.zip"]  # no temp file left behind
    fetch_movielens_100k(home)
    assert len(calls) == 1  # the second call reads the cache


def test_bad_checksum_deletes_and_names_fix(local_server, tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setattr(_movielens, "SHA256", "0" * 64)
    with pytest.raises(NMFInputError, match="not the published.*deleted.*Try again"):
        fetch_movielens_100k(home)
    assert list(home.iterdir()) == []
    # a corrupted cached file is never used: without downloads allowed it is deleted and the
    # error names the fix; otherwise it is replaced by a fresh, verified download
    monkeypatch.setattr(_movielens, "SHA256", local_server[3])
    (home / "ml-100k.zip").write_bytes(b"truncated")
    with pytest.raises(NMFInputError, match="deleted: pass download_if_missing=True"):
        fetch_movielens_100k(home, download_if_missing=False)
    assert not (home / "ml-100k.zip").exists()
    (home / "ml-100k.zip").write_bytes(b"truncated")
    bunch = fetch_movielens_100k(home)
    assert (home / "ml-100k.zip").read_bytes() == local_server[1].read_bytes()
    np.testing.assert_array_equal(np.isfinite(bunch.X).sum(), np.isfinite(local_server[0].X).sum())


def test_a_cache_folder_that_cannot_be_written_is_not_called_a_network_problem(local_server, tmp_path,
                                                                                monkeypatch):
    def full_disk(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setitem(_movielens.fetch_file.__globals__, "_download", full_disk)
    with pytest.raises(OSError, match="cache folder.*writable") as info:
        fetch_movielens_100k(tmp_path / "home")
    assert "network" not in str(info.value)


def test_offline_and_no_download(tmp_path, monkeypatch):
    monkeypatch.setattr(_movielens, "URL", (tmp_path / "nowhere.zip").as_uri())
    with pytest.raises(OSError, match="could not download MovieLens 100K.*network"):
        fetch_movielens_100k(tmp_path)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(NMFInputError, match="download_if_missing=True"):
        fetch_movielens_100k(tmp_path, download_if_missing=False)


def test_data_home_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("NMFKIT_DATA", str(tmp_path / "cache"))
    assert get_data_home() == tmp_path / "cache" and (tmp_path / "cache").is_dir()


def test_make_ratings_is_planted_and_rounded():
    data = make_ratings(random_state=0)
    assert data.X.shape == data.X_full.shape == (200, 150)
    assert set(np.unique(data.X_full)) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    assert abs((data.W @ data.H).mean() - 3.5) < 1e-12 and (data.W >= 0).all()
    observed = np.isfinite(data.X)
    assert 0.09 < observed.mean() < 0.11
    np.testing.assert_array_equal(data.X[observed], data.X_full[observed])
    # rounding and clipping are the only noise: within half a star wherever 1 <= score <= 5
    inside = (data.W @ data.H >= 1) & (data.W @ data.H <= 5)
    assert np.abs(data.X_full - data.W @ data.H)[inside].max() <= 0.5
    np.testing.assert_array_equal(make_ratings(random_state=0).X, data.X)
    with pytest.raises(NMFInputError, match="density"):
        make_ratings(density=0)


def test_masked_nmf_beats_mean_baselines():
    ex = example_functions()
    data = make_ratings(random_state=0)
    X_train, (r, c, y) = ex["split_ratings"](data.X, 0.2, 0)
    assert np.isfinite(X_train).sum() + len(y) == np.isfinite(data.X).sum()
    assert np.isnan(X_train[r, c]).all()
    scores = {name: ex["rmse"](p, y) for name, p in ex["baseline_predictions"](X_train, r, c).items()}
    scores["masked NMF k=3"] = ex["rmse"](ex["nmf_predictions"](X_train, r, c, 3, 0.01), y)
    print(scores)
    nmf = scores.pop("masked NMF k=3")
    assert nmf < min(scores.values())
    assert scores["user + item"] < min(scores["user mean"], scores["item mean"])


@pytest.mark.slow
def test_example_runs_on_synthetic_zip(local_server, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NMFKIT_DATA", str(tmp_path / "cache"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    runpy.run_path(str(EXAMPLE), run_name="__main__")
    out = capsys.readouterr().out
    for name in ("global mean", "user mean", "item mean", "user + item", "masked NMF"):
        assert name in out
    assert "best masked NMF RMSE" in out
