"""Downloading a dataset once into a user cache, checked against a published SHA-256.

Like scikit-learn's ``fetch_*``: the cache folder is ``data_home``, else the
environment variable ``NMFKIT_DATA``, else ``~/.cache/nmfkit``; a file is
downloaded to a temporary name in that folder, its SHA-256 compared with the
published one, and only then renamed into place (a reader never sees a partial
or unverified file; a bad download is deleted).
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from ..exceptions import NMFInputError

__all__ = ["get_data_home", "fetch_file", "sha256_of"]

_CHUNK = 1 << 20


def get_data_home(data_home: str | os.PathLike | None = None) -> Path:
    """The folder where downloaded datasets are cached (created if missing).

    Parameters
    ----------
    data_home : str, os.PathLike or None, default=None
        The folder; None: ``$NMFKIT_DATA`` if set, else ``~/.cache/nmfkit``.

    Returns
    -------
    pathlib.Path
        The folder, which exists on return.

    Examples
    --------
    >>> import tempfile
    >>> from nmfkit.datasets import get_data_home
    >>> get_data_home(tempfile.mkdtemp()).is_dir()
    True
    """
    if data_home is None:
        data_home = os.environ.get("NMFKIT_DATA") or Path("~/.cache/nmfkit")
    path = Path(data_home).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise NMFInputError(f"data_home={str(path)!r} cannot be created ({exc}); pass a writable "
                            "folder as data_home= or set the NMFKIT_DATA environment variable") from exc
    return path


def sha256_of(path: str | os.PathLike) -> str:
    """The hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _download(url: str, folder: Path, name: str) -> tuple[Path, str]:
    """Stream ``url`` to a temp file in ``folder``; return it and its SHA-256."""
    digest = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=folder)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
            for chunk in iter(lambda: response.read(_CHUNK), b""):
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        os.unlink(tmp)
        raise
    return Path(tmp), digest.hexdigest()


def fetch_file(url: str, sha256: str, name: str, data_home: str | os.PathLike | None,
               download_if_missing: bool, *, what: str) -> Path:
    """The verified cached copy of ``url`` in ``data_home`` (downloaded on first use).

    A cached file whose checksum is wrong is deleted and downloaded again (or, with
    ``download_if_missing=False``, an error raised); a download whose checksum is wrong
    is deleted before it is ever renamed into place.
    """
    folder = get_data_home(data_home)
    path = folder / name
    if path.exists():
        if sha256_of(path) == sha256:
            return path
        path.unlink()  # a truncated or altered copy: never used; fetched again below
        if not download_if_missing:
            raise NMFInputError(
                f"the cached {what} file {str(path)!r} did not match its published SHA-256 "
                f"{sha256} (a truncated or altered file); it has been deleted: pass "
                "download_if_missing=True to download a fresh copy")
    if not download_if_missing:
        raise NMFInputError(
            f"{what} is not in the cache {str(folder)!r} and download_if_missing=False; pass "
            f"download_if_missing=True (needs the network), or put {name} from {url} there")
    try:
        tmp, digest = _download(url, folder, name)
    except (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException) as exc:
        raise OSError(
            f"could not download {what} from {url} ({getattr(exc, 'reason', exc)}); check the network connection (or "
            f"download the file yourself and put it at {str(path)!r}), then call again") from exc
    except OSError as exc:  # the disk, not the network: a full or read-only cache folder
        raise OSError(
            f"could not write {what} into the cache folder {str(folder)!r} ({exc}); free space or "
            "pass data_home= (or set NMFKIT_DATA to) a writable folder") from exc
    if digest != sha256:
        tmp.unlink()
        raise NMFInputError(
            f"the download of {what} from {url} has SHA-256 {digest}, not the published "
            f"{sha256}; the file was deleted. Try again later (an interrupted or altered "
            "download); if it persists the file on the server has changed: report it to nmfkit")
    os.replace(tmp, path)
    return path
