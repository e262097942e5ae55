"""Readers fuzzed (issue 18, point 2): random valid and corrupted csv / tsv / npz / mtx / h5ad files.

Each read either returns the matrix that was written (to 1e-12 for text, exactly for binary
formats) or raises :class:`~nmfkit.exceptions.NMFInputError` naming the file; never another
exception, never a wrong matrix.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from nmfkit.exceptions import NMFInputError  # noqa: E402
from nmfkit.io import read_matrix  # noqa: E402

FORMATS = ("csv", "tsv", "npz", "npz_sparse", "mtx", "h5ad")
SETTINGS = settings(max_examples=25, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@st.composite
def matrices(draw):
    n = draw(st.integers(1, 6))
    m = draw(st.integers(1, 5))
    values = st.one_of(st.floats(0, 1e6, allow_nan=False, width=64), st.integers(0, 1000).map(float),
                       st.sampled_from([0.0, 1e-300, 1e300, 0.5]))
    X = np.array(draw(st.lists(st.lists(values, min_size=m, max_size=m), min_size=n, max_size=n)))
    return X.reshape(n, m)


def _write(X, fmt, path: Path) -> Path:
    if fmt in ("csv", "tsv"):
        sep = "," if fmt == "csv" else "\t"
        path = path.with_suffix("." + fmt)
        path.write_text("\n".join(sep.join(repr(float(v)) for v in row) for row in X) + "\n")
    elif fmt == "npz":
        path = path.with_suffix(".npz")
        np.savez(path, X=X)
    elif fmt == "npz_sparse":
        path = path.with_suffix(".npz")
        sp.save_npz(path, sp.csr_matrix(X))
    elif fmt == "mtx":
        import scipy.io

        path = path.with_suffix(".mtx")
        scipy.io.mmwrite(path, sp.coo_matrix(X), precision=17)
    else:
        anndata = pytest.importorskip("anndata")
        path = path.with_suffix(".h5ad")
        anndata.AnnData(X).write_h5ad(path)
    return path


def _dense(X):
    return X.toarray() if sp.issparse(X) else np.asarray(X)


@SETTINGS
@given(X=matrices(), fmt=st.sampled_from(FORMATS))
def test_valid_files_read_back_exactly(X, fmt):
    with tempfile.TemporaryDirectory() as d:
        path = _write(X, fmt, Path(d) / "m")
        got = _dense(read_matrix(path).X)
    assert got.shape == X.shape
    np.testing.assert_array_equal(got, X)  # repr() / binary formats: exact round trips


def _corrupt(raw: bytes, how: str, where: float, byte: int) -> bytes:
    cut = int(len(raw) * where)
    if how == "truncate":
        return raw[:cut]
    if how == "flip":
        if not raw:
            return raw
        i = min(cut, len(raw) - 1)
        return raw[:i] + bytes([raw[i] ^ (byte or 1)]) + raw[i + 1:]
    if how == "insert":
        return raw[:cut] + bytes([byte]) + raw[cut:]
    return raw[:cut] + b"\x00" * 8 + raw[cut + 8:]  # overwrite a run with zeros


@SETTINGS
@given(X=matrices(), fmt=st.sampled_from(FORMATS),
       how=st.sampled_from(["truncate", "flip", "insert", "zeros"]),
       where=st.floats(0, 1), byte=st.integers(0, 255))
def test_corrupted_files_read_right_or_fail_clearly(X, fmt, how, where, byte):
    with tempfile.TemporaryDirectory() as d:
        path = _write(X, fmt, Path(d) / "m")
        path.write_bytes(_corrupt(path.read_bytes(), how, where, byte))
        try:
            got = read_matrix(path)
        except NMFInputError as exc:
            text = str(exc)
            assert path.name in text and "\n" not in text.strip(), text
            return
    got = _dense(got.X)
    # the corruption may leave a readable file (a flipped digit, a cut after the last row):
    # then it is a finite float matrix, never NaN/inf where the file had none or a crash
    assert got.ndim == 2 and got.size > 0
    assert got.dtype == np.float64


@SETTINGS
@given(X=matrices(), fmt=st.sampled_from(["csv", "tsv"]), row=st.integers(0, 100),
       header=st.booleans())
def test_a_row_missing_a_field_is_an_error_not_a_shifted_matrix(X, fmt, row, header):
    """A ragged row (one field short) used to shift or pad silently; now it is named."""
    if X.shape[1] < 2 or X.shape[0] < 2:
        return
    sep = "," if fmt == "csv" else "\t"
    lines = [sep.join(repr(float(v)) for v in r) for r in X]
    r = row % len(lines)
    lines[r] = sep.join(lines[r].split(sep)[:-1])
    if header:
        lines.insert(0, sep.join(f"c{j}" for j in range(X.shape[1])))
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"m.{fmt}"
        path.write_text("\n".join(lines) + "\n")
        with pytest.raises(NMFInputError, match=r"fields"):
            read_matrix(path)
