"""Private helpers behind :mod:`nmfkit.io`: one reader per file format, JSON conversion.

Each reader takes a :class:`~pathlib.Path` and returns ``(X, row_names,
col_names)``; every problem becomes an :class:`~nmfkit.NMFInputError` naming
the path, the problem and the fix (built by :func:`fail`).
"""

from __future__ import annotations

import csv
import gzip
import os
import re
import zipfile
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import scipy.io
import scipy.sparse as sp

from .backends import to_numpy
from .exceptions import NMFInputError

__all__ = [
    "SUPPORTED_EXTENSIONS", "fail", "extension", "read_npz", "read_mtx", "read_h5ad", "read_text",
    "jsonable", "label_list", "result_arrays", "json_info", "result_meta",
]

_TEXT_EXT = (".csv", ".tsv", ".txt")
SUPPORTED_EXTENSIONS = (*_TEXT_EXT, *(e + ".gz" for e in _TEXT_EXT), ".npz", ".mtx", ".mtx.gz", ".h5ad")
_NA = ("", "na", "nan", "n/a", "null", "none", "-", "?", "#n/a", "<na>")
_NA_VALUES = sorted({*_NA, *(v.upper() for v in _NA), *(v.capitalize() for v in _NA)})
_ROW_KEYS = ("row_names", "obs_names", "barcodes", "cells", "samples")
_COL_KEYS = ("col_names", "var_names", "genes", "gene_symbol", "gene_names", "features", "gene_ids")
_SEPARATORS = ("\t", ";", ",", "|", r"\s+")
_DECIMAL_COMMA = re.compile(r"^[+-]?\d*,\d+([eE][+-]?\d+)?$")

Names = list[str] | None


def fail(path: str | os.PathLike, problem: str, fix: str) -> NMFInputError:
    """Build the error every reader raises: ``'<path>: <problem>; <fix>'``."""
    return NMFInputError(f"{os.fspath(path)}: {problem}; {fix}")


def extension(path: Path) -> str:
    """The supported extension ``path`` ends with (lower case), else its last suffixes."""
    name = path.name.lower()
    for ext in sorted(SUPPORTED_EXTENSIONS, key=len, reverse=True):
        if name.endswith(ext):
            return ext
    return "".join(path.suffixes[-2:]).lower() or "(none)"


def _names(values: Any) -> list[str]:
    return [str(v) for v in values]


# --------------------------------------------------------------------------- binary formats


def read_npz(path: Path) -> tuple[Any, Names, Names]:
    """Dense ``X`` or CSR parts (or any scipy ``save_npz``), plus 1-D label arrays; never unpickles."""
    if not zipfile.is_zipfile(path):
        raise fail(path, "could not parse the content as .npz (not a zip archive)",
                   "write it with numpy.savez or scipy.sparse.save_npz")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise fail(path, "holds pickled object arrays",
                       "store names as str arrays (nmfkit never loads pickles)") from None
        raise
    if "X" in arrays:
        X = np.asarray(arrays["X"])
        if X.ndim != 2:
            raise fail(path, f"array 'X' is {X.ndim}-D, not 2-D",
                       "store the matrix as a 2-D array under key 'X'")
        if X.dtype.kind not in "biuf":
            raise fail(path, f"array 'X' has non-numeric dtype {X.dtype}", "store numbers under key 'X'")
        X = X.astype(np.float64)
    elif "format" in arrays and "shape" in arrays:  # written by scipy.sparse.save_npz (any format)
        X = sp.csr_matrix(sp.load_npz(path), dtype=np.float64)
    elif {"data", "indices", "indptr", "shape"} <= arrays.keys():  # CSR parts, as in the shared data
        shape = tuple(int(n) for n in arrays["shape"])
        parts = (arrays["data"].astype(np.float64), arrays["indices"], arrays["indptr"])
        X = sp.csr_matrix(parts, shape=shape)
        X.check_format(full_check=True)
    else:
        raise fail(
            path,
            f"has neither key 'X' nor CSR parts data/indices/indptr/shape (keys: {sorted(arrays)})",
            "save a dense matrix with np.savez(path, X=X) or a sparse one with scipy.sparse.save_npz",
        )
    names = []
    for keys, n, axis in ((_ROW_KEYS, X.shape[0], "row"), (_COL_KEYS, X.shape[1], "column")):
        key = next((k for k in keys if k in arrays), None)
        if key is not None and arrays[key].shape != (n,):
            raise fail(path, f"label array {key!r} has shape {arrays[key].shape} but X has {n} {axis}s",
                       f"store exactly one name per {axis}")
        names.append(None if key is None else _names(arrays[key]))
    return X, names[0], names[1]


def read_mtx(path: Path) -> tuple[Any, None, None]:
    """Matrix Market (coordinate -> CSR, array -> dense); the format has no names."""
    M = scipy.io.mmread(str(path))
    if sp.issparse(M):
        return sp.csr_matrix(M, dtype=np.float64), None, None
    return np.asarray(M, dtype=np.float64), None, None


def read_h5ad(path: Path, layer: str | None) -> tuple[Any, list[str], list[str]]:
    """AnnData: ``adata.X`` or ``adata.layers[layer]``; names from obs/var names."""
    try:
        import anndata
    except ImportError:
        raise fail(path, "reading .h5ad needs the optional package anndata",
                   "pip install anndata (or nmfkit[anndata])") from None
    try:
        adata = anndata.read_h5ad(path)
    except (OSError, ValueError, EOFError):
        raise
    except Exception as exc:  # an HDF5 file that is not AnnData: anndata raises TypeError, KeyError...
        raise fail(path, f"is not an AnnData .h5ad file (anndata could not read it: "
                         f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]})",
                   "write it with adata.write_h5ad(path), or pass a .csv/.tsv/.npz/.mtx file") from None
    if layer is not None:
        if layer not in adata.layers:
            raise fail(path, f"has no layer {layer!r} (layers: {sorted(adata.layers)})",
                       "pass one of the listed layers, or layer=None for adata.X")
        X = adata.layers[layer]
    else:
        X = adata.X
    if X is None:
        raise fail(path, "adata.X is empty (None)", "pass layer= to read one of the layers")
    X = sp.csr_matrix(X, dtype=np.float64) if sp.issparse(X) else np.asarray(X, dtype=np.float64)
    return X, _names(adata.obs_names), _names(adata.var_names)


# --------------------------------------------------------------------------- delimited text


def _open_text(path: Path) -> IO[str]:
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


def _is_number(cell: str, decimal: str = ".") -> bool:
    cell = cell.strip()
    if cell.lower() in _NA:
        return True
    if "_" in cell:  # float() accepts digit separators ("309_1"); data files do not
        return False
    try:
        float(cell.replace(",", ".") if decimal == "," else cell)
    except ValueError:
        return False
    return True


def _split(line: str, sep: str) -> list[str]:
    if sep == r"\s+":
        return line.split()
    if len(sep) == 1:
        return next(csv.reader([line], delimiter=sep))
    return re.split(sep, line)


def _decimal(rows: list[list[str]], sep: str) -> str:
    """``','`` when the body uses decimal commas (only possible when sep is not a comma)."""
    cells = [c.strip() for r in rows for c in r[1:]]
    if sep != "," and any(_DECIMAL_COMMA.match(c) for c in cells) and not any("." in c for c in cells):
        return ","
    return "."


def _detect_sep(lines: list[str], ext: str) -> str:
    """The separator giving a constant field count > 1 and the most numeric cells.

    The header may be one field shorter (R's ``write.table``). Ties go to the
    extension's usual separator, then tab, ``;``, ``,``, ``|``, whitespace.
    """
    preferred = {".tsv": "\t", ".csv": ","}.get(ext.removesuffix(".gz"), "")
    best, best_score = None, -1.0
    for cand in sorted(_SEPARATORS, key=lambda c: c != preferred):
        rows = [_split(line, cand) for line in lines]
        widths = [len(r) for r in rows]
        body = widths[1:] or widths
        if body[0] < 2 or any(w != body[0] for w in body) or widths[0] not in (body[0], body[0] - 1):
            continue
        cells = [c for r in rows[1:] for c in r[1:]] or rows[0]
        decimal = _decimal(rows[1:], cand)
        score = sum(_is_number(c, decimal) for c in cells) / len(cells)
        if score > best_score:
            best, best_score = cand, score
    return best if best is not None else (preferred or ",")


def read_text(path: Path, sep: str | None, ext: str) -> tuple[np.ndarray, Names, Names]:
    """Delimited text with detected separator, header and row-name column."""
    with _open_text(path) as handle:
        lead, sample = 0, []
        while len(sample) < 50:
            line = handle.readline()
            if not line:
                break
            line = line.rstrip("\r\n")
            if line.strip():
                sample.append(line)
            elif not sample:
                lead += 1
        if not sample:
            raise fail(path, "holds an empty matrix (no data lines)", "check that the file is not empty")
        sep = sep or _detect_sep(sample, ext)
        first = _split(sample[0], sep)
        rest = [_split(line, sep) for line in sample[1:]]
        decimal = _decimal(rest or [first], sep)
        width = len(rest[0]) if rest else len(first)
        _check_ragged(path, first, rest, width, all(_is_number(c, decimal) for c in first))
        short_header = bool(rest) and len(first) == width - 1
        header = short_header or not all(_is_number(c, decimal) for c in first[1 if width > 1 else 0:])
        col0 = [r[0] for r in rest if r] + ([] if header else [first[0]])
        index = width > 1 and (
            short_header
            or not all(_is_number(c, decimal) for c in col0)
            or (header and first[0].strip() == "")
        )
        handle.seek(0)
        engine = "python" if len(sep) > 1 and sep != r"\s+" else "c"
        frame = pd.read_csv(
            handle,
            sep=sep,
            header=None,
            skiprows=lead + (1 if header else 0),
            names=range(width),
            index_col=0 if index else False,  # False: a longer row is an error, not row names
            na_values=_NA_VALUES,
            keep_default_na=True,
            decimal=decimal,
            engine=engine,
            # correctly rounded: what a file holds is what is read (pandas' default parser
            # can be one ulp off, e.g. 900720.6252303779 -> 900720.625230378)
            **({"float_precision": "round_trip"} if engine == "c" else {}),
        )
    col_names = None
    if header:
        col_names = [c.strip() for c in (first if short_header else first[1 if index else 0:])]
        if len(col_names) != frame.shape[1]:
            raise fail(path, f"the header has {len(first)} fields but the data rows have {width}",
                       "give the header one name per column (optionally one fewer, for row names)")
    labels = col_names or [f"#{j + 1 + index}" for j in range(frame.shape[1])]
    bad = []
    for j, name in enumerate(frame.columns):
        col = frame[name]
        if not pd.api.types.is_numeric_dtype(col):
            text = col.astype(str).str.strip()
            if decimal == ",":
                text = text.str.replace(",", ".", regex=False)
            numeric = pd.to_numeric(text.where(col.notna()), errors="coerce")
            failed = numeric.isna() & col.notna()
            if failed.any():
                _refuse_overflow(path, text[failed], labels[j])
                bad.append(labels[j])
            frame[name] = numeric
    if bad:
        shown = ", ".join(map(repr, bad[:5])) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise fail(
            path,
            f"{len(bad)} data column(s) are not numeric: {shown}",
            "remove or encode them (only the first column may hold text, as row names)",
        )
    row_names = _names(frame.index) if index else None
    return frame.to_numpy(dtype=np.float64), row_names, col_names


def _check_ragged(path, first, rest, width, numeric_first: bool) -> None:
    """Every sampled data line has ``width`` fields (the first may be a header one shorter,
    R's ``write.table``, but then it holds names, not only numbers)."""
    for i, row in enumerate(rest):
        if len(row) != width:
            raise fail(path, f"data line {i + 2} has {len(row)} fields but line 2 has {width} "
                             "(ragged rows)",
                       "give every row the same number of fields (an empty cell marks a missing value)")
    if rest and len(first) == width - 1 and numeric_first:
        raise fail(path, f"line 1 has {len(first)} numeric fields but the lines below have {width} "
                         "(ragged rows)",
                   "give every row the same number of fields (an empty cell marks a missing value)")


def _refuse_overflow(path, cells, column) -> None:
    """Cells that are numbers too large for float64 (``1e999``): an error that says so."""
    import math

    for cell in cells:
        try:
            value = float(cell)
        except ValueError:
            continue
        if math.isinf(value):
            raise fail(path, f"the cell {cell!r} in column {column!r} overflows float64 (it is "
                             "larger than 1.8e308)",
                       "replace it with a finite number, or leave the cell empty to mark it missing")


# --------------------------------------------------------------------------- result serialisation


def jsonable(value: Any) -> Any:
    """Convert NumPy scalars/arrays and tuples to JSON types; raise TypeError otherwise."""
    if isinstance(value, (str, bool, int, float)) or value is None:
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: jsonable(v) for k, v in value.items()}
    raise TypeError(type(value).__name__)


def label_list(labels: Any) -> list | None:
    """Labels as JSON-friendly str/int/float values (others via str), or None."""
    if labels is None:
        return None
    out = []
    for v in list(labels):
        v = v.item() if isinstance(v, np.generic) else v
        out.append(v if isinstance(v, (str, int, float)) and not isinstance(v, bool) else str(v))
    return out


def result_arrays(result: Any, row_names: Any, col_names: Any) -> dict:
    """``W``, ``H`` (host NumPy, dtypes kept) and ``loss_history`` (float64) of a result.

    Checks that W and H are numeric and that the names (if any) fit their shapes.
    """
    arrays = {
        "W": to_numpy(result.W),
        "H": to_numpy(result.H),
        "loss_history": np.asarray([float(v) for v in result.loss_history], dtype=np.float64),
    }
    for key in ("W", "H"):
        if arrays[key].dtype.kind not in "biuf":
            raise NMFInputError(f"result.{key} has dtype {arrays[key].dtype}; save_result stores "
                                "numeric arrays only: pass a result with numeric W and H")
    n_rows, n_cols = arrays["W"].shape[0], arrays["H"].shape[-1]
    for names, n, what in ((row_names, n_rows, "row_names"), (col_names, n_cols, "col_names")):
        if names is not None and len(names) != n:
            axis = "row of W" if what == "row_names" else "column of H"
            raise NMFInputError(f"{what} has {len(names)} entries but the result has {n}; "
                                f"pass one name per {axis}")
    return arrays


def json_info(info: Any) -> tuple[dict, list]:
    """The JSON-serialisable entries of ``info`` (converted) and the keys left out."""
    out, skipped = {}, []
    for key, value in dict(info).items():
        try:
            out[str(key)] = jsonable(value)
        except TypeError:
            skipped.append(str(key))
    return out, skipped


def result_meta(result: Any, info: tuple[dict, list], names: tuple, frames: bool, *,
                version: str, arrays_name: str) -> dict:
    """The ``.json`` metadata of a saved result: ``info`` is ``(entries, skipped keys)``,
    ``names`` is ``(row_names, col_names)``."""
    (info, skipped), (row_names, col_names) = info, names
    return {
        "format": "nmfkit.NMFResult",
        "format_version": 1,
        "nmfkit_version": version,
        "arrays": arrays_name,
        "loss": float(result.loss),
        "n_iter": int(result.n_iter),
        "converged": bool(result.converged),
        "stop_reason": str(result.stop_reason),
        "elapsed": float(result.elapsed),
        "beta": float(result.beta),
        "solver": str(result.solver),
        "info": info,
        "info_skipped": skipped,
        "row_names": label_list(row_names),
        "col_names": label_list(col_names),
        "frames": frames,
        "component_names": label_list(result.H.index) if frames else None,
    }
