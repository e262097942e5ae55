"""Build an output folder atomically: stage it in a hidden sibling, then rename it into place."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

from ..exceptions import NMFInputError

__all__ = ["check_out_dir", "staged_dir"]


def check_out_dir(out: str | os.PathLike, force: bool) -> Path:
    """Fail early when ``out`` cannot be (re)placed; return it as a Path.

    Raises
    ------
    NMFInputError
        When ``out`` exists and ``force`` is False, or when it exists and is not
        a directory (a file is never replaced).
    """
    out = Path(os.path.abspath(out))
    cwd = Path.cwd()
    if out == cwd or out in cwd.parents:
        raise NMFInputError(
            f"output directory {str(out)!r} is the current directory or one of its parents; "
            "choose a new folder for --out"
        )
    if out.exists() or out.is_symlink():
        if not out.is_dir() or out.is_symlink():
            raise NMFInputError(
                f"output path {str(out)!r} exists and is not a directory; choose another --out"
            )
        if not force:
            raise NMFInputError(
                f"output directory {str(out)!r} already exists; pass --force to replace it "
                "or choose another --out"
            )
    return out


@contextlib.contextmanager
def staged_dir(out: str | os.PathLike, force: bool) -> Iterator[Path]:
    """Yield a fresh staging directory that becomes ``out`` when the block succeeds.

    The staging directory is a hidden sibling of ``out`` (same file system, so the
    final step is a rename). Without ``force`` an existing ``out`` is never
    touched. With ``force`` the old folder is moved aside only after the new one is
    complete, then deleted; if the swap fails the old folder is put back. When the
    block raises, the staging directory is removed and ``out`` is unchanged.

    Parameters
    ----------
    out : path-like
        The folder to produce.
    force : bool
        Replace an existing folder.

    Yields
    ------
    pathlib.Path
        The staging directory to write into.
    """
    out = check_out_dir(out, force)
    parent = out.parent
    parent.mkdir(parents=True, exist_ok=True)
    tag = f"{os.getpid()}-{secrets.token_hex(4)}"
    stage = parent / f".{out.name}.tmp-{tag}"
    stage.mkdir()  # honours the umask, unlike tempfile.mkdtemp's 0700
    try:
        yield stage
        _swap_into_place(stage, out, force, tag)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


def _swap_into_place(stage: Path, out: Path, force: bool, tag: str) -> None:
    check_out_dir(out, force)  # it may have appeared while we were working
    if not out.exists():
        os.rename(stage, out)
        return
    backup = out.parent / f".{out.name}.old-{tag}"
    os.rename(out, backup)
    try:
        os.rename(stage, out)
    except BaseException:
        os.rename(backup, out)
        raise
    shutil.rmtree(backup, ignore_errors=True)
