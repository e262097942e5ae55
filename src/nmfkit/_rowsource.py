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
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from ._io_formats import SUPPORTED_EXTENSIONS, extension
from ._io_formats import fail as _fail
from ._optional import require
from .exceptions import NMFInputError

__all__ = ["RowSource", "open_rows", "as_row_source"]

PathLike = str | os.PathLike

_STREAMING = ".h5ad (X or a layer, CSR or dense), a .zarr directory holding one 2-D array, or .npy"
_NEGATIVE_FIX = ("NMF needs non-negative data: clip or shift the values (e.g. X[X < 0] = 0) "
                 "and write the data again")
_NONFINITE_FIX = "replace NaN/inf entries (e.g. with 0) and write the data again"


def _out_dtype(dtype: Any, where: str) -> np.dtype:
    """float32 for float32 (or narrower float) storage, float64 for any other numeric storage."""
    dtype = np.dtype(dtype)
    if dtype.kind in "biu":
        return np.dtype(np.float64)
    if dtype.kind == "f":
        return np.dtype(np.float32 if dtype.itemsize <= 4 else np.float64)
    raise _fail(where, f"holds non-numeric entries (dtype {dtype})", "store the matrix as numbers")


class RowSource:
    """A samples x features matrix read one block of rows at a time.

    Subclasses implement ``_read(start, stop)``; :meth:`read` checks the range,
    converts and validates. Attributes:

    - ``shape``: ``(n_samples, n_features)``; ``n_samples`` is None for a stream
      of blocks until one pass has been read.
    - ``sparse``: blocks are ``scipy.sparse.csr_matrix`` (True) or ``np.ndarray``.
    - ``dtype``: float32 or float64, the dtype of every block.
    - ``reiterable``: False for a one-pass iterable of blocks.
    - ``path``: the file read, or None.
    """

    shape: tuple[int | None, int]
    sparse: bool = False
    dtype: np.dtype = np.dtype(np.float64)
    reiterable: bool = True
    path: str | None = None

    def __init__(self, *, path: str | None = None, label: str | None = None) -> None:
        self.path = path
        self._label = label or path or "X"
        self._closed = False
        self._file: Any = None
        self._names: tuple[Callable[[], list[str] | None], Callable[[], list[str] | None]] | None = None

    # ------------------------------------------------------------------ public API

    def read(self, start: int, stop: int):
        """Rows ``[start, stop)`` as an ndarray or csr_matrix of ``self.dtype``, validated."""
        self._check_open()
        n = self.shape[0]
        start, stop = int(start), int(stop)
        if n is None or not 0 <= start <= stop <= n:
            raise NMFInputError(
                f"{self._label}: read({start}, {stop}) is out of range for {n} rows; "
                f"pass 0 <= start <= stop <= {n}")
        block = self._read(start, stop)
        self._validate(block, start)
        return block

    def blocks(self, batch_size: int, start: int = 0) -> Iterator[tuple[int, Any]]:
        """Yield ``(row_start, block)`` for consecutive blocks of ``batch_size`` rows from ``start``.

        The last block may be shorter; blocks are contiguous and in order.
        """
        self._check_open()
        batch_size, start = _check_batch(batch_size, start, self._label)
        return self._blocks(batch_size, start)

    def _blocks(self, batch_size: int, start: int) -> Iterator[tuple[int, Any]]:
        n = self.shape[0]
        for lo in range(start, n, batch_size):
            yield lo, self.read(lo, min(lo + batch_size, n))

    def row_names(self) -> list[str] | None:
        """Sample names (``obs_names`` of an ``.h5ad``), read on demand; None when the source has none."""
        self._check_open()
        return self._names[0]() if self._names else None

    def col_names(self) -> list[str] | None:
        """Feature names (``var_names`` of an ``.h5ad``), read on demand; None when the source has none."""
        self._check_open()
        return self._names[1]() if self._names else None

    @property
    def n_samples(self) -> int | None:
        return self.shape[0]

    @property
    def n_features(self) -> int:
        return self.shape[1]

    @property
    def nbytes_estimate(self) -> int | None:
        """Bytes the whole matrix would take in memory (as blocks of ``dtype``); None if unknown."""
        n, m = self.shape
        return None if n is None else int(n) * int(m) * self.dtype.itemsize

    def close(self) -> None:
        """Close the underlying file (if any); later reads raise. Safe to call twice."""
        if not self._closed:
            self._closed = True
            if self._file is not None:
                self._file.close()
                self._file = None
            self._release()

    def __enter__(self) -> RowSource:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        kind = "sparse" if self.sparse else "dense"
        return f"<{type(self).__name__} {self._label!s} shape={self.shape} {kind} {self.dtype}>"

    # ------------------------------------------------------------------ helpers

    def _read(self, start: int, stop: int):  # pragma: no cover - abstract
        raise NotImplementedError

    def _release(self) -> None:
        """Drop references to the data (subclasses)."""

    def _check_open(self) -> None:
        if self._closed:
            raise NMFInputError(f"{self._label}: the row source is closed; open it again with open_rows")

    def _validate(self, block: Any, start: int, what: str = "") -> None:
        """Raise naming the row range and the first NaN/inf or negative entry of ``block``."""
        values = block.data if sp.issparse(block) else block
        if values.size == 0:
            return
        finite = np.isfinite(values)
        if finite.all():
            if values.min() >= 0:
                return
            bad, problem, fix = values < 0, "a negative value", _NEGATIVE_FIX
        else:
            bad, problem, fix = ~finite, "a NaN or infinite value", _NONFINITE_FIX
        del finite
        if sp.issparse(block):
            k = int(np.flatnonzero(bad)[0])
            row = int(np.searchsorted(block.indptr, k, side="right")) - 1
            col, value = int(block.indices[k]), block.data[k]
        else:
            row, col = (int(i) for i in np.argwhere(bad)[0])
            value = block[row, col]
        stop = start + block.shape[0] - 1
        raise _fail(self._label, f"rows {start}..{stop}{what} hold {problem} "
                                 f"({value:g} at row {start + row}, column {col})", fix)


def _check_batch(batch_size: Any, start: Any, label: str) -> tuple[int, int]:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise NMFInputError(f"{label}: batch_size={batch_size!r} is not a positive integer; "
                            "pass the number of rows per block, e.g. batch_size=1024")
    if isinstance(start, bool) or not isinstance(start, (int, np.integer)) or start < 0:
        raise NMFInputError(f"{label}: start={start!r} is not a non-negative integer; "
                            "pass the first row to read (0 for all)")
    return int(batch_size), int(start)


class _ArrayRows(RowSource):
    """A dense 2-D array-like sliced by rows: ndarray, np.memmap, h5py.Dataset, zarr.Array."""

    def __init__(self, array: Any, *, path: str | None, label: str, copy: bool) -> None:
        super().__init__(path=path, label=label)
        shape = tuple(int(s) for s in array.shape)
        if len(shape) != 2:
            raise _fail(label, f"is a {len(shape)}-D array of shape {shape}, not 2-D",
                        "store the matrix as 2-D (n_samples, n_features); reshape one sample "
                        "with x.reshape(1, -1)")
        self.dtype = _out_dtype(array.dtype, label)
        self.shape = shape
        self.sparse = False
        self._array = array
        self._copy = copy

    def _read(self, start: int, stop: int) -> np.ndarray:
        block = self._array[start:stop]
        if self._copy:  # memmap / in-memory: hand back a private, writable, C-ordered copy
            return np.array(block, dtype=self.dtype, order="C", copy=True)
        return np.ascontiguousarray(np.asarray(block), dtype=self.dtype)

    def _release(self) -> None:
        self._array = None


class _CSRRows(RowSource):
    """CSR parts (in-memory arrays or h5py datasets); only ``indptr`` is held whole.

    ``read(start, stop)`` reads ``indptr[start:stop + 1]`` and the matching
    slice of ``data``/``indices``.
    """

    def __init__(self, data: Any, indices: Any, indptr: Any, shape: tuple[int, int], *,
                 path: str | None, label: str, copy: bool) -> None:
        super().__init__(path=path, label=label)
        self.shape = (int(shape[0]), int(shape[1]))
        self.sparse = True
        self.dtype = _out_dtype(data.dtype, label)
        indptr = np.asarray(indptr[()] if not isinstance(indptr, np.ndarray) else indptr)
        n = self.shape[0]
        corrupt = None
        if indptr.ndim != 1 or indptr.shape[0] != n + 1:
            corrupt = f"indptr has shape {indptr.shape}, expected ({n + 1},)"
        elif indptr[0] != 0 or indptr[-1] != data.shape[0] or indices.shape[0] != data.shape[0]:
            corrupt = (f"indptr runs {indptr[0]}..{indptr[-1]} but data has {data.shape[0]} "
                       f"and indices {indices.shape[0]} entries")
        elif n and np.any(indptr[1:] < indptr[:-1]):
            corrupt = "indptr decreases"
        if corrupt:
            raise _fail(label, f"is not a valid CSR matrix ({corrupt})",
                        "write it again (e.g. with anndata's write_h5ad)")
        self._data, self._indices, self._indptr = data, indices, indptr
        self._index_itemsize = np.dtype(indices.dtype).itemsize
        self._copy = copy

    def _read(self, start: int, stop: int) -> sp.csr_matrix:
        lo, hi = int(self._indptr[start]), int(self._indptr[stop])
        data = np.array(self._data[lo:hi], dtype=self.dtype, copy=self._copy or None)
        indices = np.array(self._indices[lo:hi], copy=self._copy or None)
        m = self.shape[1]
        if indices.size and (indices.min() < 0 or indices.max() >= m):
            raise _fail(self._label, f"rows {start}..{stop - 1} hold column indices outside 0..{m - 1}",
                        "the CSR matrix is corrupt; write it again")
        indptr = self._indptr[start:stop + 1] - lo
        return sp.csr_matrix((data, indices, indptr), shape=(stop - start, m))

    @property
    def nbytes_estimate(self) -> int:
        nnz = int(self._indptr[-1])
        return (nnz * (self.dtype.itemsize + self._index_itemsize)
                + (self.shape[0] + 1) * self._indptr.dtype.itemsize)

    def _release(self) -> None:
        self._data = self._indices = None


class _StreamRows(RowSource):
    """Blocks from an iterable (one pass) or a zero-argument callable returning fresh iterators.

    Blocks are regrouped into ``batch_size`` rows by :meth:`blocks`; there is no
    random access (:meth:`read` raises). ``dtype``, ``sparse`` and (unless given)
    ``n_features`` come from the first block; later blocks are converted to them.
    """

    def __init__(self, source: Any, *, factory: Callable[[], Iterable] | None,
                 n_features: int | None, label: str) -> None:
        super().__init__(path=None, label=label)
        self._factory = factory
        self.reiterable = factory is not None
        self._iter: Iterator | None = self._fresh(source if factory is None else factory())
        try:
            first = next(self._iter)
        except StopIteration:
            raise NMFInputError(f"{label}: holds no blocks; pass an iterable yielding at least one "
                                "2-D block of rows") from None
        self._n_expected = None if n_features is None else int(n_features)
        self.sparse = sp.issparse(first)
        first = self._coerce(first, 0)
        m = first.shape[1]
        if self._n_expected is not None and m != self._n_expected:
            raise NMFInputError(f"{label}: block 0 has {m} columns but n_features={self._n_expected}; "
                                "pass n_features equal to the number of columns of every block")
        self.dtype = first.dtype
        self.shape = (None, m)
        self._first: Any = first
        self._used = False

    def _fresh(self, iterable: Any) -> Iterator:
        try:
            return iter(iterable)
        except TypeError:
            raise NMFInputError(f"{self._label}: the callable returned {type(iterable).__name__}, not an "
                                "iterable; return a fresh iterator of 2-D row blocks") from None

    def _read(self, start: int, stop: int):
        raise NMFInputError(f"{self._label}: a stream of row blocks has no random access, so "
                            f"read({start}, {stop}) is not possible; iterate blocks(batch_size), or save "
                            "the matrix as .npy/.h5ad/.zarr and open that with open_rows")

    def read(self, start: int, stop: int):
        self._check_open()
        return self._read(int(start), int(stop))

    def _coerce(self, raw: Any, k: int, n_columns: int | None = None):
        """Block ``k`` as 2-D CSR (sparse stream) or ndarray, checked against ``n_columns`` and cast."""
        if sp.issparse(raw):
            block = raw.tocsr() if self.sparse else raw.toarray()
        else:
            block = np.asarray(raw)
            if block.ndim == 2 and self.sparse:
                block = sp.csr_matrix(block)
        if block.ndim != 2:
            raise NMFInputError(f"{self._label}: block {k} is {block.ndim}-D (shape {block.shape}), not "
                                "2-D; yield 2-D blocks (rows = samples), e.g. x.reshape(1, -1) for one row")
        dtype = _out_dtype(block.dtype, f"{self._label} (block {k})")
        if n_columns is not None and block.shape[1] != n_columns:
            origin = "n_features" if self._n_expected is not None else "block 0"
            raise NMFInputError(
                f"{self._label}: block {k} has {block.shape[1]} columns but the stream has {n_columns} "
                f"(from {origin}); yield blocks with the same features in the same order"
                + ("" if self._n_expected is None else ", or pass the right n_features"))
        return block.astype(dtype if k == 0 and n_columns is None else self.dtype, copy=False)

    def blocks(self, batch_size: int, start: int = 0) -> Iterator[tuple[int, Any]]:
        self._check_open()
        batch_size, start = _check_batch(batch_size, start, self._label)
        if self._used and not self.reiterable:
            raise NMFInputError(
                f"{self._label}: this one-pass stream of blocks was already read once; fit a one-pass "
                "stream with partial_fit (one call per block), or pass a callable returning a fresh "
                "iterator (e.g. lambda: make_blocks()) so the blocks can be read again")
        self._used = True
        if self._first is not None:
            first, it = self._first, self._iter
            self._first, self._iter = None, None
        else:
            it, first = self._fresh(self._factory()), None
        return self._rebatch(first, it, batch_size, start)

    def _rebatch(self, first: Any, it: Iterator, batch_size: int, start: int):
        m = self.shape[1]
        pending: list = []
        n_pending = 0  # rows in pending
        row = 0  # rows of the stream seen so far
        out = start  # first row of the next block to yield

        def incoming():
            if first is not None:
                yield 0, first
            for k, raw in enumerate(it, start=0 if first is None else 1):
                yield k, self._coerce(raw, k, m)

        for k, block in incoming():
            self._validate(block, row, f" (block {k})")
            lo, row = row, row + block.shape[0]
            pos, nb = max(start - lo, 0), block.shape[0]
            while pos < nb:  # slice pieces of the block, never copying its remainder
                take = min(batch_size - n_pending, nb - pos)
                pending.append(block[pos:pos + take] if (pos, take) != (0, nb) else block)
                n_pending += take
                pos += take
                if n_pending == batch_size:
                    yield out, self._join(pending)
                    out += batch_size
                    pending, n_pending = [], 0
        if n_pending:
            yield out, self._join(pending)
        if self.shape[0] is not None and row != self.shape[0]:
            raise NMFInputError(f"{self._label}: this pass yielded {row} rows but the first pass "
                                f"{self.shape[0]}; the callable must return the same blocks every time")
        self.shape = (row, m)

    def _join(self, pieces: list):
        if len(pieces) == 1:
            return pieces[0]
        return sp.vstack(pieces, format="csr") if self.sparse else np.concatenate(pieces)

    def _release(self) -> None:
        self._first = self._iter = self._factory = None


# --------------------------------------------------------------------------- openers


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
        return _ArrayRows(elem, path=path, label=label, copy=False)
    encoding = _attr_str(elem.attrs.get("encoding-type", "(none)"))
    if encoding == "csr_matrix":
        missing = {"data", "indices", "indptr"} - set(elem.keys())
        if missing or "shape" not in elem.attrs:
            raise _fail(label, f"{what} is a csr_matrix group without {sorted(missing) or 'a shape'}",
                        "write the file again with anndata (adata.write_h5ad)")
        shape = tuple(int(s) for s in elem.attrs["shape"])
        return _CSRRows(elem["data"], elem["indices"], elem["indptr"], shape,
                        path=path, label=label, copy=False)
    if encoding == "csc_matrix":
        name = what.strip("/")
        target = ("adata.X" if name == "X" else f"adata.layers[{name.split('/', 1)[1]!r}]"
                  if name.startswith("layers/") else f"adata.{name}" if name.startswith("layers[")
                  else "the matrix")
        raise _fail(label, f"{what} is stored as CSC (column-compressed), which cannot be read by rows",
                    f"rewrite it as CSR once: adata = anndata.read_h5ad(path); {target} = "
                    f"{target}.tocsr(); adata.write_h5ad(new_path)")
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
    return _ArrayRows(node, path=str(path), label=str(path), copy=False)


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
        return _ArrayRows(array, path=str(path), label=str(path), copy=True)
    raise _fail(path, f"has extension {ext!r}, which open_rows does not stream",
                f"use one of the streaming formats: {_STREAMING}")


def open_rows(source: Any, *, layer: str | None = None, n_features: int | None = None) -> RowSource:
    """Open a matrix (rows = samples) to be read one block of rows at a time.

    ``source`` may be:

    - a path to an ``.h5ad`` file: ``adata.X`` or ``adata.layers[layer]``, stored
      CSR or dense (read with h5py; CSC cannot be read by rows and is refused);
      ``row_names()``/``col_names()`` give ``obs_names``/``var_names``;
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
        return _open_path(Path(source), layer)
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
        return _ArrayRows(source, path=path, label=label, copy=False)
    if callable(source):
        return _StreamRows(None, factory=source, n_features=n_features, label="the row stream")
    if isinstance(source, (list, tuple)):  # a sequence can be read again
        return _StreamRows(None, factory=lambda: iter(source), n_features=n_features,
                           label="the row stream")
    if isinstance(source, Iterable):
        return _StreamRows(source, factory=None, n_features=n_features, label="the row stream")
    raise NMFInputError(
        f"open_rows got a {type(source).__name__}; pass a path ({_STREAMING}), an array object "
        "(np.memmap, h5py.Dataset, zarr.Array), an iterable of row blocks or a callable returning one")


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
        return _CSRRows(X.data, X.indices, X.indptr, X.shape, path=None, label="X", copy=True)
    if isinstance(X, np.ndarray):
        path = getattr(X, "filename", None) if isinstance(X, np.memmap) else None
        return _ArrayRows(X, path=path, label=path or "X", copy=True)
    raise NMFInputError(f"as_row_source got a {type(X).__name__}; pass an np.ndarray, a scipy.sparse "
                        "matrix or a RowSource (open files and streams with nmfkit.io.open_rows)")
