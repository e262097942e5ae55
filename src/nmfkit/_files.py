"""Files a run writes: an output folder built atomically (staged in a hidden sibling, then
renamed into place), strict JSON, bare matplotlib figures, versions, and the reports' CSS.

Used by the command line and by the report writers of ``nmfkit.signatures``; nothing here
imports either of them.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .exceptions import NMFInputError

__all__ = ["check_out_dir", "staged_dir", "versions", "write_json", "figure", "save_figure",
           "REPORT_CSS"]

REPORT_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 60rem;
       margin: 2rem auto; padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .5rem 0; }
td, th { padding: .25rem .9rem .25rem 0; text-align: left; vertical-align: top; }
th { font-weight: 600; color: #555; }
img { max-width: 100%; border: 1px solid #eee; margin: .5rem 0; }
code { background: #f4f4f4; padding: 0 .25rem; border-radius: 3px; }
.small { font-size: .85rem; color: #666; }
"""


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
    block raises, the staging directory is removed and ``out`` is unchanged. A process
    killed outright (SIGKILL, power loss) cannot clean up: its staging folder is removed
    by the next run that writes the same ``out`` (:func:`sweep_stale_stages`).

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
    tag = f"{os.getpid()}-{secrets.token_hex(4)}"
    stage = parent / f".{out.name}.tmp-{tag}"
    try:
        parent.mkdir(parents=True, exist_ok=True)
        sweep_stale_stages(parent, out.name)
        stage.mkdir()  # honours the umask, unlike tempfile.mkdtemp's 0700
    except OSError as exc:  # read-only or missing permissions: name the folder asked for
        from .exceptions import NMFInputError

        raise NMFInputError(
            f"cannot create the output folder '{out}': its parent '{parent}' is not writable "
            f"({exc.strerror or exc}); choose another --out / output path, or fix the permissions"
        ) from None
    try:
        yield stage
        _swap_into_place(stage, out, force, tag)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


def _process_alive(pid: int) -> bool:
    if os.name != "posix":  # no signal-0 probe: never remove another live run's folder
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: alive, another user's
        return True
    return True


def sweep_stale_stages(parent: Path, name: str) -> list:
    """Remove ``parent/.{name}.tmp-{pid}-{tag}`` staging folders whose process is gone.

    Returns the removed paths. Folders of live processes (a concurrent run) are kept.
    """
    removed = []
    for p in parent.glob(f".{name}.tmp-*"):
        pid = p.name.rsplit(".tmp-", 1)[1].split("-", 1)[0]
        if p.is_dir() and pid.isdigit() and not _process_alive(int(pid)):
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
    return removed


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


def versions() -> dict[str, str]:
    """Versions of nmfkit, Python and the core dependencies."""
    import matplotlib
    import pandas
    import scipy
    import sklearn

    import nmfkit

    return {
        "nmfkit": nmfkit.__version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
        "pandas": pandas.__version__,
        "matplotlib": matplotlib.__version__,
    }


def _jsonable(value: Any) -> Any:
    """Make ``value`` strict-JSON safe (NaN / inf -> None, NumPy scalars -> Python)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(obj: dict, path: Path) -> None:
    """Write ``obj`` as indented, strict JSON."""
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(_jsonable(obj), handle, indent=2, allow_nan=False)
        handle.write("\n")


def save_figure(fig, path: Path) -> None:
    """Save a figure made outside pyplot (no global backend is touched)."""
    fig.savefig(path, dpi=110)


def figure(width: float, height: float):
    """A bare constrained-layout Figure (not registered with pyplot, so nothing leaks)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")
