"""Row sources: read a samples x features matrix one block of rows at a time.

A :class:`RowSource` never loads the whole matrix. :func:`open_rows` opens one
from a file (``.h5ad`` CSR or dense, a ``.zarr`` array directory, a ``.npy``
file), an array object (``np.memmap``, ``h5py.Dataset``, ``zarr.Array``) or an
iterable of row blocks; :func:`as_row_source` wraps an in-memory matrix. Every
block is checked as it is read (2-D, finite, non-negative) and comes back as a
C-ordered ``np.ndarray`` or a ``scipy.sparse.csr_matrix`` of float32 (float32
storage) or float64 (any other numeric storage). Files are opened read-only.

Errors raise :class:`~nmfkit.NMFInputError` naming the source, the problem (for
bad values, the row range and the first bad entry) and the fix.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from ._io_formats import SUPPORTED_EXTENSIONS, extension
from ._io_formats import fail as _fail
from ._optional import require
from ._rowblocks import RowSource, ArrayRows, CSRRows, StreamRows
from .exceptions import NMFInputError

__all__ = ["RowSource", "open_rows", "as_row_source"]

_STREAMING = ".h5ad (X or a layer, CSR or dense), a .zarr directory holding one 2-D array, or .npy"


def _h5_names(file: Any, group: str) -> list[str] | None:
    """``obs_names`` / ``var_names`` of an open .h5ad (the dataframe's ``_index`` column)."""
    h5py = require("h5py", "read names from a .h5ad file")
    if group not in file:
        return None
    g = file[group]
    key = _attr_str(g.attrs.get("_index", "_index"))
    if key not in g:
        return None
    elem = g[key]
    if isinstance(elem, h5py.Group):  # categorical: codes into categories
        cats = _h5_values(elem["categories"])
        return [cats[c] if c >= 0 else "nan" for c in elem["codes"][()]]
    return _h5_values(elem)


def _h5_values(ds: Any) -> list[str]:
    h5py = require("h5py", "read names from a .h5ad file")
    if h5py.check_string_dtype(ds.dtype) is not None or ds.dtype.kind in "OS":
        return [str(v) for v in ds.asstr()[()]]
    return [str(v) for v in ds[()]]


def _attr_str(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _from_h5(elem: Any, *, path: str | None, label: str, what: str) -> RowSource:
    """A row source over an h5py Dataset (dense) or an anndata-encoded CSR group."""
    h5py = require("h5py", "stream rows from an HDF5 file")
    if isinstance(elem, h5py.Dataset):
        return ArrayRows(elem, path=path, label=label, copy=False)
    encoding = _attr_str(elem.attrs.get("encoding-type", "(none)"))
    if encoding == "csr_matrix":
        missing = {"data", "indices", "indptr"} - set(elem.keys())
        if missing or "shape" not in elem.attrs:
            raise _fail(label, f"{what} is a csr_matrix group without {sorted(missing) or 'a shape'}",
                        "write the file again with anndata (adata.write_h5ad)")
        shape = tuple(int(s) for s in elem.attrs["shape"])
        return CSRRows(elem["data"], elem["indices"], elem["indptr"], shape,
                        path=path, label=label, copy=False)
    if encoding == "csc_matrix":
        name = what.strip("/")
        target = ("adata.X" if name == "X" else f"adata.layers[{name.split('/', 1)[1]!r}]"
                  if name.startswith("layers/") else f"adata.{name}" if name.startswith("layers[")
                  else "the matrix")
        raise _fail(label, f"{what} is stored as CSC (column-compressed), which cannot be read by rows",
                    f"rewrite it as CSR once: adata = anndata.read_h5ad(path); {target} = "
                    f"{target}.tocsr(); adata.write_h5ad(new_path)")
    if encoding == "anndata" or "X" in elem:
        raise _fail(label, f"{what or '/'} is a whole AnnData file, not one matrix",
                    "pass the file's path (open_rows(path, layer=...)) or one element, e.g. f['X']")
    raise _fail(label, f"{what} has encoding {encoding!r}, which cannot be read by rows",
                "store it as a dense array or a CSR matrix (anndata's write_h5ad does)")


def _open_h5ad(path: Path, layer: str | None) -> RowSource:
    h5py = require("h5py", "stream rows from a .h5ad file")
    try:
        file = h5py.File(path, "r")
    except OSError as exc:
        raise _fail(path, f"could not be opened as HDF5 ({exc})",
                    "check that it is an .h5ad file written by anndata (adata.write_h5ad)") from None
    try:
        layers = sorted(file["layers"].keys()) if "layers" in file else []
        if layer is None:
            if "X" not in file:
                raise _fail(path, "has no X (adata.X is None)",
                            f"pass layer= one of the layers {layers}" if layers else "store a matrix in X")
            elem, what = file["X"], "X"
        else:
            if layer not in layers:
                raise _fail(path, f"has no layer {layer!r} (layers: {layers})",
                            "pass one of the listed layers, or layer=None for adata.X")
            elem, what = file["layers"][layer], f"layers[{layer!r}]"
        source = _from_h5(elem, path=str(path), label=str(path), what=what)
        n, m = source.shape
        for group, size, axis in (("obs", n, "rows"), ("var", m, "columns")):
            g = file.get(group)
            elem = None if g is None else g.get(_attr_str(g.attrs.get("_index", "_index")))
            if isinstance(elem, h5py.Dataset) and elem.shape[0] != size:
                raise _fail(path, f"{group} has {elem.shape[0]} names but {what} has {size} {axis}",
                            "write the file again with anndata")
    except BaseException:
        file.close()
        raise
    source._file = file
    source._names = (lambda: _h5_names(file, "obs"), lambda: _h5_names(file, "var"))
    return source


def _open_zarr(path: Path) -> RowSource:
    zarr = require("zarr", "stream rows from a .zarr array")
    if not any((path / meta).exists() for meta in ("zarr.json", ".zarray", ".zgroup")):
        raise _fail(path, "is a directory without zarr metadata (no zarr.json, .zarray or .zgroup)",
                    "pass a .zarr array directory (written e.g. with zarr.save_array(path, X)) "
                    f"or another streaming format: {_STREAMING}")
    node = zarr.open(store=str(path), mode="r")
    if not hasattr(node, "dtype"):  # a group
        arrays = sorted(node.array_keys())
        raise _fail(path, f"is a zarr group, not an array (arrays in it: {arrays})",
                    "pass the path of one 2-D array inside it, e.g. " + os.path.join(path, arrays[0])
                    if arrays else "pass the path of a 2-D zarr array")
    return ArrayRows(node, path=str(path), label=str(path), copy=False)


def is_streamable(path) -> bool:
    """Whether :func:`open_rows` reads the file at ``path`` by rows (``.h5ad``, ``.npy`` or a
    ``.zarr`` directory), judged by its name and kind only."""
    path = Path(path).expanduser()
    return extension(path) in (".h5ad", ".npy", ".zarr") or path.is_dir()


def _open_path(path: Path, layer: str | None) -> RowSource:
    ext = extension(path)
    if layer is not None and ext != ".h5ad":
        raise _fail(path, f"layer={layer!r} applies only to .h5ad files", "drop the layer argument")
    if ext in SUPPORTED_EXTENSIONS and ext != ".h5ad":
        raise _fail(path, f"{ext} files cannot be read by rows: nmfkit.io.read_matrix reads them whole",
                    f"use read_matrix if the matrix fits in memory, or convert it to a streaming format: "
                    f"{_STREAMING}")
    if not path.exists():
        raise _fail(path, "does not exist", "check the path (relative paths start from "
                                           f"{os.getcwd()})")
    if path.is_dir():
        return _open_zarr(path)
    if ext == ".h5ad":
        return _open_h5ad(path, layer)
    if ext == ".npy":
        try:
            array = np.load(path, mmap_mode="r", allow_pickle=False)
        except ValueError as exc:
            raise _fail(path, f"could not be read as .npy ({exc})",
                        "save a numeric array with np.save(path, X)") from None
        return ArrayRows(array, path=str(path), label=str(path), copy=True)
    raise _fail(path, f"has extension {ext!r}, which open_rows does not stream",
                f"use one of the streaming formats: {_STREAMING}")


def open_rows(source: Any, *, layer: str | None = None, n_features: int | None = None) -> RowSource:
    """Open a matrix (rows = samples) to be read one block of rows at a time.

    ``source`` may be:

    - a path to an ``.h5ad`` file: ``adata.X`` or ``adata.layers[layer]``, stored
      CSR or dense (read with h5py; CSC cannot be read by rows and is refused);
      ``row_names()``/``col_names()`` give ``obs_names``/``var_names``;
    - an ``anndata.AnnData``: backed (``read_h5ad(path, backed="r")``), its file
      is read by rows as above; in memory, its ``X`` (or layer) as
      :func:`as_row_source`, with its names;
    - a path to a ``.zarr`` directory holding one 2-D array (dense);
    - a path to a ``.npy`` file (memory-mapped read-only);
    - an array object sliced by rows: ``np.memmap``, ``h5py.Dataset``,
      ``zarr.Array`` (or an in-memory ndarray / scipy.sparse matrix, as
      :func:`as_row_source`);
    - an iterable of row blocks (ndarrays or scipy.sparse matrices with the same
      number of columns), read once (``reiterable=False``); ``n_features`` is
      taken from the first block unless given;
    - a zero-argument callable returning a fresh iterable of blocks each time
      (``reiterable=True``; ``shape[0]`` is known after the first pass).

    ``.npz``, ``.csv``/``.tsv``/``.txt`` and ``.mtx`` are refused: read them
    whole with :func:`nmfkit.io.read_matrix`. Nothing is written to the source.

    >>> import os, tempfile
    >>> import numpy as np
    >>> from nmfkit.io import open_rows
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "X.npy")
    ...     np.save(path, np.arange(12, dtype=np.int64).reshape(6, 2))
    ...     with open_rows(path) as rows:
    ...         print(rows.shape, rows.dtype, [(i, b.shape) for i, b in rows.blocks(4)])
    (6, 2) float64 [(0, (4, 2)), (4, (2, 2))]
    """
    if isinstance(source, RowSource):
        return source
    if isinstance(source, (str, os.PathLike)):
        return _open_path(Path(source).expanduser(), layer)
    if type(source).__name__ == "AnnData" and type(source).__module__.startswith("anndata"):
        return _from_anndata(source, layer)
    if layer is not None:
        raise NMFInputError(f"layer={layer!r} applies only to .h5ad paths; drop the layer argument")
    if isinstance(source, np.ndarray) or sp.issparse(source):
        return as_row_source(source)
    module = type(source).__module__.split(".")[0]
    if module == "h5py":
        file = getattr(source, "file", None)
        path = getattr(file, "filename", None)
        name = getattr(source, "name", "")
        return _from_h5(source, path=path, label=f"{path}:{name}" if path else str(name), what=str(name))
    if hasattr(source, "shape") and hasattr(source, "dtype") and hasattr(source, "__getitem__"):
        store = getattr(source, "store", None)
        path = getattr(store, "root", None) or getattr(store, "path", None)
        path = os.fspath(path) if isinstance(path, (str, os.PathLike)) else None
        label = path or f"the {type(source).__name__}"
        return ArrayRows(source, path=path, label=label, copy=False)
    if callable(source):
        return StreamRows(None, factory=source, n_features=n_features, label="the row stream")
    if isinstance(source, (list, tuple)):  # a sequence can be read again
        return StreamRows(None, factory=lambda: iter(source), n_features=n_features,
                           label="the row stream")
    if isinstance(source, Iterable):
        return StreamRows(source, factory=None, n_features=n_features, label="the row stream")
    raise NMFInputError(
        f"open_rows got a {type(source).__name__}; pass a path ({_STREAMING}), an array object "
        "(np.memmap, h5py.Dataset, zarr.Array), an iterable of row blocks or a callable returning one")


def _from_anndata(adata: Any, layer: str | None) -> RowSource:
    """A backed AnnData is read from its file; an in-memory one wraps X (or the layer) and its names."""
    if adata.isbacked:
        return _open_path(Path(adata.filename), layer)
    if layer is not None and layer not in adata.layers:
        raise NMFInputError(f"the AnnData has no layer {layer!r} (layers: {sorted(adata.layers)}); "
                            "pass one of the listed layers, or layer=None for adata.X")
    X = adata.X if layer is None else adata.layers[layer]
    if X is None:
        raise NMFInputError("adata.X is None; pass layer= to read one of the layers")
    source = as_row_source(X)
    rows, cols = [str(v) for v in adata.obs_names], [str(v) for v in adata.var_names]
    source._names = (lambda: list(rows), lambda: list(cols))
    return source


def as_row_source(X: Any) -> RowSource:
    """An in-memory ndarray or scipy.sparse matrix as a :class:`RowSource` (a RowSource is returned as is).

    Blocks are copies (modifying one leaves ``X`` unchanged); sparse input is
    converted to CSR once.

    >>> import numpy as np
    >>> from nmfkit.io import as_row_source
    >>> [(i, b.tolist()) for i, b in as_row_source(np.eye(3, dtype=np.float32)).blocks(2)]
    [(0, [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]), (2, [[0.0, 0.0, 1.0]])]
    """
    if isinstance(X, RowSource):
        return X
    if sp.issparse(X):
        if X.ndim != 2:
            raise NMFInputError(f"X is a {X.ndim}-D sparse array; pass a 2-D matrix")
        X = X.tocsr() if X.format != "csr" else X
        return CSRRows(X.data, X.indices, X.indptr, X.shape, path=None, label="X", copy=True)
    if isinstance(X, np.ndarray):
        path = getattr(X, "filename", None) if isinstance(X, np.memmap) else None
        return ArrayRows(X, path=path, label=path or "X", copy=True)
    raise NMFInputError(f"as_row_source got a {type(X).__name__}; pass an np.ndarray, a scipy.sparse "
                        "matrix or a RowSource (open files and streams with nmfkit.io.open_rows)")
