"""The row-source classes behind :func:`nmfkit.io.open_rows`: the :class:`RowSource` base
(range checks, per-block validation, ``blocks``), dense arrays sliced by rows, CSR parts read
by ``indptr`` ranges, and streams of blocks (one pass, or a callable returning fresh iterators).
"""

from __future__ import annotations

import collections

import abc

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
import scipy.sparse as sp

from ._io_formats import fail as _fail
from .exceptions import NMFInputError

__all__ = ["RowSource", "ArrayRows", "CSRRows", "StreamRows", "out_dtype", "check_batch"]

_NEGATIVE_FIX = ("NMF needs non-negative data: clip or shift the values (e.g. X[X < 0] = 0) "
                 "and write the data again")
_NONFINITE_FIX = "replace NaN/inf entries (e.g. with 0) and write the data again"


def out_dtype(dtype: Any, where: str) -> np.dtype:
    """float32 for float32 (or narrower float) storage, float64 for any other numeric storage."""
    dtype = np.dtype(dtype)
    if dtype.kind in "biu":
        return np.dtype(np.float64)
    if dtype.kind == "f":
        return np.dtype(np.float32 if dtype.itemsize <= 4 else np.float64)
    raise _fail(where, f"holds non-numeric entries (dtype {dtype})", "store the matrix as numbers")


class RowSource(abc.ABC):
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
    random_access: bool = True  # read(start, stop) works (False: a stream, read in order)
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
        batch_size, start = check_batch(batch_size, start, self._label)
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

    def count_rows(self) -> int | None:
        """``n_samples``; a re-iterable stream of unknown length is read once to learn it
        (a one-pass stream stays unknown: None)."""
        if self.shape[0] is None and self.reiterable:
            collections.deque(self.blocks(65536), maxlen=0)  # read through once: blocks() records the length
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

    @abc.abstractmethod
    def _read(self, start: int, stop: int):
        """Rows ``[start, stop)`` as stored (``read`` checks and converts them)."""

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


def check_batch(batch_size: Any, start: Any, label: str) -> tuple[int, int]:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise NMFInputError(f"{label}: batch_size={batch_size!r} is not a positive integer; "
                            "pass the number of rows per block, e.g. batch_size=1024")
    if isinstance(start, bool) or not isinstance(start, (int, np.integer)) or start < 0:
        raise NMFInputError(f"{label}: start={start!r} is not a non-negative integer; "
                            "pass the first row to read (0 for all)")
    return int(batch_size), int(start)


class ArrayRows(RowSource):
    """A dense 2-D array-like sliced by rows: ndarray, np.memmap, h5py.Dataset, zarr.Array."""

    def __init__(self, array: Any, *, path: str | None, label: str, copy: bool) -> None:
        super().__init__(path=path, label=label)
        shape = tuple(int(s) for s in array.shape)
        if len(shape) != 2:
            raise _fail(label, f"is a {len(shape)}-D array of shape {shape}, not 2-D",
                        "store the matrix as 2-D (n_samples, n_features); reshape one sample "
                        "with x.reshape(1, -1)")
        self.dtype = out_dtype(array.dtype, label)
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


class CSRRows(RowSource):
    """CSR parts (in-memory arrays or h5py datasets); only ``indptr`` is held whole.

    ``read(start, stop)`` reads ``indptr[start:stop + 1]`` and the matching
    slice of ``data``/``indices``.
    """

    def __init__(self, data: Any, indices: Any, indptr: Any, shape: tuple[int, int], *,
                 path: str | None, label: str, copy: bool) -> None:
        super().__init__(path=path, label=label)
        self.shape = (int(shape[0]), int(shape[1]))
        self.sparse = True
        self.dtype = out_dtype(data.dtype, label)
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


class StreamRows(RowSource):
    """Blocks from an iterable (one pass) or a zero-argument callable returning fresh iterators.

    Blocks are regrouped into ``batch_size`` rows by :meth:`blocks`; there is no
    random access (:meth:`read` raises). ``dtype``, ``sparse`` and (unless given)
    ``n_features`` come from the first block; later blocks are converted to them.
    Yielded blocks are copies.
    """

    random_access = False

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
        dtype = out_dtype(block.dtype, f"{self._label} (block {k})")
        if n_columns is not None and block.shape[1] != n_columns:
            origin = "n_features" if self._n_expected is not None else "block 0"
            raise NMFInputError(
                f"{self._label}: block {k} has {block.shape[1]} columns but the stream has {n_columns} "
                f"(from {origin}); yield blocks with the same features in the same order"
                + ("" if self._n_expected is None else ", or pass the right n_features"))
        return block.astype(dtype if k == 0 and n_columns is None else self.dtype, copy=False)

    def blocks(self, batch_size: int, start: int = 0) -> Iterator[tuple[int, Any]]:
        self._check_open()
        batch_size, start = check_batch(batch_size, start, self._label)
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
        """One block from the pieces: a copy, so changing it never changes the caller's arrays."""
        if len(pieces) == 1:
            return pieces[0].copy() if self.sparse else np.array(pieces[0], order="C", copy=True)
        return sp.vstack(pieces, format="csr") if self.sparse else np.concatenate(pieces)

    def _release(self) -> None:
        self._first = self._iter = self._factory = None
