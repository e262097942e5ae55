"""MovieLens 100K (downloaded on first use, never bundled) and a synthetic ratings fixture."""

from __future__ import annotations

import io
import numbers
import os
import zipfile

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from ..backends._random import check_random_state
from ..exceptions import NMFInputError
from ._fetch import fetch_file

__all__ = ["fetch_movielens_100k", "make_ratings"]

URL = "https://files.grouplens.org/datasets/movielens/ml-100k.zip"
#: SHA-256 of ml-100k.zip (4,924,029 bytes), as recorded by tensorflow_datasets
#: (url_checksums/movielens.txt); the archive has not changed since 1998.
SHA256 = "50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229"
ARCHIVE = "ml-100k.zip"

ATTRIBUTION = (
    "MovieLens 100K, GroupLens Research, University of Minnesota: F. Maxwell Harper and Joseph A. "
    "Konstan (2015), The MovieLens Datasets: History and Context, ACM TiiS 5(4):19, "
    "doi:10.1145/2827872. Research use; cite; no redistribution without permission.")


def _read_archive(path: str | os.PathLike) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``u.data`` (tab-separated) and ``u.item`` (pipe-separated, latin-1) of the zip."""
    with zipfile.ZipFile(path) as archive:
        ratings = pd.read_csv(io.BytesIO(archive.read("ml-100k/u.data")), sep="\t", header=None,
                              names=["user", "item", "rating", "timestamp"], dtype="int64")
        names = list(archive.namelist())
        genres = None
        if "ml-100k/u.genre" in names:
            text = archive.read("ml-100k/u.genre").decode("latin-1")
            genres = [line.split("|")[0] for line in text.splitlines() if "|" in line]
        raw = archive.read("ml-100k/u.item").decode("latin-1")
    items = pd.read_csv(io.StringIO(raw), sep="|", header=None, dtype=str, keep_default_na=False)
    flags = items.iloc[:, 5:].astype(int).to_numpy(dtype=bool)
    genres = genres if genres is not None and len(genres) == flags.shape[1] else [
        f"genre{j}" for j in range(flags.shape[1])]
    table = pd.DataFrame({
        "title": items[1].to_numpy(),
        "release_date": pd.to_datetime(items[2], format="%d-%b-%Y", errors="coerce").to_numpy(),
        "genres": ["|".join(g for g, f in zip(genres, row) if f) for row in flags],
    }, index=pd.Index(items[0].astype(int).to_numpy(), name="item"))
    return ratings, table


def fetch_movielens_100k(data_home: str | os.PathLike | None = None, *,
                         download_if_missing: bool = True) -> Bunch:
    """Load MovieLens 100K: 100,000 ratings (1–5 stars) of 1,682 movies by 943 users.

    The archive (4.9 MB) is downloaded from GroupLens on first use into ``data_home``
    and its SHA-256 checked before every use; it is not bundled with nmfkit because
    the GroupLens terms do not allow redistribution.

    Parameters
    ----------
    data_home : str, os.PathLike or None, default=None
        The cache folder; None: ``$NMFKIT_DATA``, else ``~/.cache/nmfkit``
        (:func:`get_data_home`).
    download_if_missing : bool, default=True
        Download the archive if it is not cached; False raises instead.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``X`` : ndarray (943, 1682) float64, users × movies, the rating or NaN where
        unrated (6.3 % rated; dense because an unrated entry is *missing*, not zero:
        a sparse matrix would read it as 0 — ``NMF(handle_missing="mask")`` takes the
        NaNs as they are; build any other format from ``ratings``);
        ``ratings`` : DataFrame with int columns ``user``, ``item``, ``rating``,
        ``timestamp`` (Unix seconds), one row per rating, as in ``u.data``;
        ``user_ids``, ``item_ids`` : ndarray, the ids of the rows and columns of ``X``;
        ``movies`` : DataFrame indexed by ``item`` with ``title``, ``release_date``,
        ``genres`` (``"|"``-joined) (not ``items``, which a Bunch, a dict, already has);
        ``description``, ``attribution`` : str.

    Raises
    ------
    OSError
        The download failed (no network): the message says where to put the file.
    NMFInputError
        The file's SHA-256 is not the published one (the file is deleted), or it is
        not cached and ``download_if_missing=False``.

    Examples
    --------
    >>> from nmfkit.datasets import fetch_movielens_100k
    >>> data = fetch_movielens_100k()  # doctest: +SKIP
    >>> data.X.shape, len(data.ratings)  # doctest: +SKIP
    ((943, 1682), 100000)
    """
    path = fetch_file(URL, SHA256, ARCHIVE, data_home, bool(download_if_missing),
                      what="MovieLens 100K")
    ratings, items = _read_archive(path)
    user_ids = np.unique(ratings["user"].to_numpy())
    item_ids = np.asarray(items.index, dtype=np.int64)
    X = np.full((len(user_ids), len(item_ids)), np.nan)
    X[np.searchsorted(user_ids, ratings["user"]), np.searchsorted(item_ids, ratings["item"])] = (
        ratings["rating"].to_numpy(dtype=np.float64))
    return Bunch(
        X=X, ratings=ratings, user_ids=user_ids, item_ids=item_ids, movies=items,
        description=(f"MovieLens 100K: {len(ratings):,} ratings (1-5 stars) of {len(item_ids):,} "
                     f"movies by {len(user_ids):,} users, Sept 1997 - April 1998;\nX is users x "
                     "movies with NaN where unrated."),
        attribution=ATTRIBUTION,
    )


def _check_int(value, name, low):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise NMFInputError(f"{name}={value!r} is not an integer >= {low}; pass one "
                            f"(e.g. {name}={max(low, 3)})")
    return int(value)


def make_ratings(n_users: int = 200, n_items: int = 150, k: int = 3, density: float = 0.1,
                 random_state: int | np.random.Generator | None = 0) -> Bunch:
    """A synthetic 1–5 star ratings matrix from a planted non-negative rank-``k`` model.

    ``W`` (users × k) and ``H`` (k × items) have i.i.d. Gamma(2, 1) entries; ``W`` is
    scaled so that the mean of the true scores ``R = W @ H`` is 3.5 (the mean rating
    of MovieLens). The full star matrix is ``X_full = clip(round(R), 1, 5)``: scores
    are rounded to the nearest star and the few above 5 (or below 1) clipped — the
    only noise is this quantisation. Each entry is observed independently with
    probability ``density`` (missing completely at random); ``X`` holds NaN elsewhere.

    Parameters
    ----------
    n_users, n_items : int, default=200, 150
    k : int, default=3
        The planted rank.
    density : float in (0, 1], default=0.1
        The probability that a rating is observed.
    random_state : int, Generator or None, default=0

    Returns
    -------
    data : sklearn.utils.Bunch
        ``X`` : ndarray (n_users, n_items), stars or NaN; ``X_full`` : ndarray, every
        star; ``W``, ``H`` : the planted factors (``W @ H`` are the unrounded scores);
        ``description`` : str.

    Examples
    --------
    >>> from nmfkit.datasets import make_ratings
    >>> data = make_ratings(n_users=50, n_items=40, random_state=0)
    >>> data.X.shape, sorted(set(data.X_full.ravel()) - {1.0, 2.0, 3.0, 4.0, 5.0})
    ((50, 40), [])
    """
    n_users, n_items = _check_int(n_users, "n_users", 1), _check_int(n_items, "n_items", 1)
    k = _check_int(k, "k", 1)
    if not isinstance(density, numbers.Real) or not 0 < density <= 1:
        raise NMFInputError(f"density={density!r} is not in (0, 1]; pass the fraction of "
                            "observed ratings, e.g. density=0.1")
    rng = check_random_state(random_state)
    W = rng.gamma(2.0, 1.0, (n_users, k))
    H = rng.gamma(2.0, 1.0, (k, n_items))
    W *= 3.5 / (W @ H).mean()
    X_full = np.clip(np.rint(W @ H), 1.0, 5.0)
    X = np.where(rng.random((n_users, n_items)) < density, X_full, np.nan)
    return Bunch(X=X, X_full=X_full, W=W, H=H,
                 description=(f"Synthetic ratings: {n_users} users x {n_items} items, planted "
                              f"rank {k}, {np.isfinite(X).mean():.1%} observed (NaN elsewhere)."))
