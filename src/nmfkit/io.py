"""Read matrices from common file formats; save and load results without pickle.

- :func:`read_matrix` reads ``.csv``/``.tsv``/``.txt`` (optionally ``.gz``),
  ``.npz``, ``.mtx``/``.mtx.gz`` and ``.h5ad`` into a :class:`LabeledMatrix`.
- :func:`save_result` / :func:`load_result` store an :class:`~nmfkit.NMFResult`
  as ``.npz`` arrays plus a sibling ``.json`` of metadata.
- :func:`atomic_write` and :func:`write_table` write files atomically (temp file
  in the same folder, then :func:`os.replace`), refusing to overwrite by default.

Every failure raises :class:`~nmfkit.NMFInputError` naming the path, the problem
and the fix.
"""

from __future__ import annotations

import contextlib
import csv
import io as _stdio
import json
import os
import uuid
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp

from . import _io_formats as _fmt
from ._io_formats import SUPPORTED_EXTENSIONS
from ._io_formats import fail as _fail
from ._result import NMFResult
from ._rowsource import RowSource, as_row_source, open_rows
from .exceptions import NMFInputError

__all__ = [
    "LabeledMatrix", "read_matrix", "save_result", "load_result", "atomic_write", "write_table",
    "RowSource", "open_rows", "as_row_source",
]

PathLike = str | os.PathLike


class LabeledMatrix(NamedTuple):
    """A matrix with optional row and column names, as returned by :func:`read_matrix`."""

    X: Any
    """float64 ndarray (dense sources) or scipy.sparse CSR matrix (sparse sources)."""
    row_names: list[str] | None
    """One name per row, or None when the source has none."""
    col_names: list[str] | None
    """One name per column, or None when the source has none."""

    def to_frame(self) -> pd.DataFrame:
        """Return the dense matrix as a DataFrame labelled with the names (if any)."""
        if sp.issparse(self.X):
            raise NMFInputError(
                "to_frame() needs a dense matrix but X is sparse; densify explicitly with "
                "LabeledMatrix(X.toarray(), row_names, col_names).to_frame() if it fits in memory"
            )
        return pd.DataFrame(self.X, index=self.row_names, columns=self.col_names)


def read_matrix(
    path: PathLike, *, sep: str | None = None, transpose: bool = False, layer: str | None = None
) -> LabeledMatrix:
    """Read a numeric matrix and its row/column names from a file.

    The format is chosen by extension (case-insensitive):

    - ``.csv``, ``.tsv``, ``.txt`` (each optionally ``.gz``): delimited text.
      With ``sep=None`` the separator is detected among ``,``, tab, ``;``,
      ``|`` and runs of whitespace (the one splitting the first lines into a
      constant number of fields). The first row is a header when any of its data
      cells is non-numeric; the first column holds row names when any of its
      cells is non-numeric, or when the header's first cell is empty (as pandas
      writes it). A header one field shorter than the data rows (R's
      ``write.table``) names the data columns. Empty cells and tokens such as
      ``NA``/``nan`` become NaN. A UTF-8 BOM is ignored.
    - ``.npz`` (read with ``allow_pickle=False``): a dense 2-D array under key
      ``X``, or CSR parts ``data, indices, indptr, shape`` (also as written by
      :func:`scipy.sparse.save_npz`), with optional 1-D label arrays: rows from
      the first of ``row_names, obs_names, barcodes, cells, samples``, columns
      from the first of ``col_names, var_names, genes, gene_symbol, gene_names,
      features, gene_ids``.
    - ``.mtx``, ``.mtx.gz``: Matrix Market via :func:`scipy.io.mmread` (no names).
    - ``.h5ad``: AnnData (needs the optional ``anndata``); ``adata.X`` or
      ``adata.layers[layer]``, names from ``obs_names`` / ``var_names``.

    Parameters
    ----------
    path : str or os.PathLike
        File to read.
    sep : str, optional
        Separator for text files (a character, or a regular expression such as
        ``r"\\s+"``); detected when None. Ignored for other formats.
    transpose : bool, default=False
        Return the transpose, with row and column names swapped (e.g. for genes ×
        cells files, to get samples as rows).
    layer : str, optional
        For ``.h5ad`` only: read ``adata.layers[layer]`` instead of ``adata.X``.

    Returns
    -------
    LabeledMatrix
        ``(X, row_names, col_names)``: X is a float64 ndarray for dense sources
        (missing values as NaN) or a float64 CSR matrix for sparse sources; names
        are lists of str, or None.

    Raises
    ------
    NMFInputError
        If the file is missing, is a folder, has an unsupported extension, cannot
        be parsed, has non-numeric data columns, or holds an empty matrix.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from nmfkit.io import read_matrix
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "counts.csv"
    >>> _ = path.write_text("gene,s1,s2\\ng1,1,2\\ng2,3,4\\n")
    >>> m = read_matrix(path, transpose=True)
    >>> m.X.tolist(), m.row_names, m.col_names
    ([[1.0, 3.0], [2.0, 4.0]], ['s1', 's2'], ['g1', 'g2'])
    """
    p = Path(path)
    if not p.exists():
        raise _fail(path, "file not found", "check the path and the working directory")
    if p.is_dir():
        raise _fail(path, "is a directory, not a file", "pass the path of a matrix file inside it")
    ext = _fmt.extension(p)
    if ext not in SUPPORTED_EXTENSIONS:
        raise _fail(
            path,
            f"unknown extension {ext!r}",
            f"use one of {', '.join(SUPPORTED_EXTENSIONS)} (rename the file if its content fits)",
        )
    if layer is not None and ext != ".h5ad":
        raise _fail(path, f"layer={layer!r} applies only to .h5ad files", "drop the layer argument")
    try:
        if ext == ".npz":
            X, rows, cols = _fmt.read_npz(p)
        elif ext.startswith(".mtx"):
            X, rows, cols = _fmt.read_mtx(p)
        elif ext == ".h5ad":
            X, rows, cols = _fmt.read_h5ad(p, layer)
        else:
            X, rows, cols = _fmt.read_text(p, sep, ext)
    except NMFInputError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, UnicodeDecodeError, csv.Error) as exc:
        raise _fail(
            path, f"could not parse the content as {ext} ({' '.join(str(exc).split())})",
            "check that the file is a valid " + ext
        ) from None
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise _fail(path, f"holds an empty matrix (shape {X.shape})",
                    "check that the file has data rows and columns")
    if transpose:
        X = X.T.tocsr() if sp.issparse(X) else np.ascontiguousarray(X.T)
        rows, cols = cols, rows
    return LabeledMatrix(X, rows, cols)


# --------------------------------------------------------------------------- writing


def _check_target(path: Path, overwrite: bool) -> None:
    if path.is_dir():
        raise _fail(path, "is a directory", "pass a file path")
    if path.exists() and not overwrite:
        raise _fail(path, "already exists", "pass overwrite=True to replace it, or choose another path")
    if not path.parent.is_dir():
        raise _fail(path, f"the folder {os.fspath(path.parent)} does not exist", "create it first")


@contextlib.contextmanager
def atomic_write(
    path: PathLike, *, overwrite: bool = False, mode: str = "w", encoding: str = "utf-8"
) -> Iterator[IO]:
    """Write a file atomically: a temp file in the same folder, renamed on success.

    Readers never see a half-written file, and an exception inside the block
    deletes the temp file and leaves any existing ``path`` untouched.

    Parameters
    ----------
    path : str or os.PathLike
        Final file path; its folder must exist.
    overwrite : bool, default=False
        Replace an existing ``path``; otherwise refuse with :class:`NMFInputError`.
    mode : {"w", "wt", "wb"}, default="w"
        Text or binary.
    encoding : str, default="utf-8"
        Encoding for text mode.

    Yields
    ------
    file object
        Open on the temp file (created with the usual permissions, honouring the
        umask).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from nmfkit.io import atomic_write
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "notes.txt"
    >>> with atomic_write(path) as f:
    ...     _ = f.write("hello")
    >>> path.read_text()
    'hello'
    """
    if mode not in ("w", "wt", "wb"):
        raise NMFInputError(f"mode={mode!r} is not supported by atomic_write; pass mode='w' or mode='wb'")
    target = Path(path)
    _check_target(target, overwrite)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": encoding})) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        if target.exists() and not overwrite:
            raise _fail(target, "appeared while writing", "pass overwrite=True to replace it")
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_table(
    df: pd.DataFrame | pd.Series | np.ndarray, path: PathLike, *, overwrite: bool = False
) -> None:
    """Write a table as tab-separated text, atomically (index and header included).

    Parameters
    ----------
    df : DataFrame, Series or 2-D ndarray
        The table; an array gets integer row and column labels.
    path : str or os.PathLike
        Output file (conventionally ``.tsv``).
    overwrite : bool, default=False
        Replace an existing file; otherwise raise :class:`NMFInputError`.
    """
    if not isinstance(df, (pd.DataFrame, pd.Series)):
        df = pd.DataFrame(np.asarray(df))
    with atomic_write(path, overwrite=overwrite, mode="w") as handle:
        df.to_csv(handle, sep="\t", lineterminator="\n")


# --------------------------------------------------------------------------- results


def _result_paths(path: PathLike) -> tuple[Path, Path]:
    p = Path(path)
    if p.suffix.lower() == ".json":
        p = p.with_suffix(".npz")
    if p.suffix.lower() != ".npz":
        raise _fail(path, "a result path must end in .npz",
                    "use e.g. 'result.npz' (its metadata goes to 'result.json')")
    return p, p.with_suffix(".json")


def save_result(
    result: NMFResult,
    path: PathLike,
    *,
    overwrite: bool = False,
    row_names: list | None = None,
    col_names: list | None = None,
) -> None:
    """Save an :class:`~nmfkit.NMFResult` as ``.npz`` arrays plus a sibling ``.json``, never pickle.

    ``path`` (ending in ``.npz``) receives ``W``, ``H`` and ``loss_history``
    (torch / CuPy tensors and DataFrames converted to NumPy, dtypes kept); the
    ``.json`` beside it (same stem) receives ``loss``, ``n_iter``, ``converged``,
    ``stop_reason``, ``elapsed``, ``beta``, ``solver``, ``info``, the names and
    the nmfkit version. Both files are written atomically and together: if either
    write fails, no existing file is replaced.

    Parameters
    ----------
    result : NMFResult
        The result to save.
    path : str or os.PathLike
        Output ``.npz`` path; the metadata goes to ``path`` with suffix ``.json``.
    overwrite : bool, default=False
        Replace existing files; otherwise refuse with :class:`NMFInputError`.
    row_names, col_names : list, optional
        Sample and feature names; taken from ``W.index`` / ``H.columns`` when
        those are DataFrames and the argument is None.

    Warns
    -----
    UserWarning
        When entries of ``result.info`` are not JSON-serialisable; they are left
        out (listed under ``info_skipped`` in the ``.json``).

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> from nmfkit import NMFResult
    >>> from nmfkit.io import save_result, load_result
    >>> res = NMFResult(W=np.ones((3, 2)), H=np.ones((2, 4)), loss=0.5, loss_history=(1.0, 0.5),
    ...                 n_iter=2, converged=True, stop_reason="tol", elapsed=0.01)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "result.npz"
    >>> save_result(res, path)
    >>> load_result(path).loss_history
    (1.0, 0.5)
    """
    from . import __version__

    npz_path, json_path = _result_paths(path)
    for p in (npz_path, json_path):
        _check_target(p, overwrite)
    frames = isinstance(result.W, pd.DataFrame) and isinstance(result.H, pd.DataFrame)
    if row_names is None and isinstance(result.W, pd.DataFrame):
        row_names = result.W.index
    if col_names is None and isinstance(result.H, pd.DataFrame):
        col_names = result.H.columns
    arrays = _fmt.result_arrays(result, row_names, col_names)
    info, skipped = _fmt.json_info(result.info)
    if skipped:
        warnings.warn(f"save_result: info entries {skipped} are not JSON-serialisable and were not saved",
                      UserWarning, stacklevel=2)
    meta = _fmt.result_meta(result, (info, skipped), (row_names, col_names), frames,
                            version=__version__, arrays_name=npz_path.name)
    buffer = _stdio.BytesIO()
    np.savez(buffer, **arrays)
    with atomic_write(npz_path, overwrite=overwrite, mode="wb") as f_npz, \
            atomic_write(json_path, overwrite=overwrite, mode="w") as f_json:
        f_npz.write(buffer.getvalue())
        json.dump(meta, f_json, indent=2)


def load_result(path: PathLike) -> NMFResult:
    """Load a result written by :func:`save_result` (pass the ``.npz`` or the ``.json``).

    Arrays come back as NumPy (a torch result is not moved back to its device).
    When the saved ``W`` and ``H`` were DataFrames they are rebuilt as DataFrames
    with their labels; otherwise names given to :func:`save_result` are returned
    in ``info["row_names"]`` / ``info["col_names"]``.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.npz`` file (or its sibling ``.json``).

    Returns
    -------
    NMFResult
    """
    npz_path, json_path = _result_paths(path)
    for p in (npz_path, json_path):
        if not p.is_file():
            raise _fail(p, "result file not found",
                        "pass the .npz written by save_result, with its .json beside it")
    try:
        with np.load(npz_path, allow_pickle=False) as npz:
            W, H, history = npz["W"], npz["H"], npz["loss_history"]
        meta = json.loads(json_path.read_text(encoding="utf-8"))
        info = dict(meta["info"])
        keys = ("loss", "n_iter", "converged", "stop_reason", "elapsed", "beta", "solver")
        fields = {k: meta[k] for k in keys}
    except (KeyError, TypeError, ValueError, OSError, zipfile.BadZipFile) as exc:
        raise _fail(npz_path, f"with {json_path.name} is not a valid nmfkit result ({exc!r})",
                    "re-save it with save_result") from None
    rows, cols = meta.get("row_names"), meta.get("col_names")
    if meta.get("frames"):
        comps = meta.get("component_names")
        W = pd.DataFrame(W, index=rows, columns=comps)
        H = pd.DataFrame(H, index=comps, columns=cols)
    else:
        info.update({k: v for k, v in (("row_names", rows), ("col_names", cols)) if v is not None})
    return NMFResult(W=W, H=H, loss_history=tuple(float(v) for v in history), info=info, **fields)
