"""Tests for nmfkit.io: read_matrix, save/load_result, atomic_write, write_table."""

from __future__ import annotations

import gzip
import json
import os
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.io
import scipy.sparse as sp

from nmfkit import NMFInputError, NMFResult
from nmfkit.io import LabeledMatrix, atomic_write, load_result, read_matrix, save_result, write_table

VALUES = np.array([[1.5, 0.0, 2.0], [3.0, 4.25, np.nan]])
ROWS, COLS = ["g1", "g2"], ["s1", "s2", "s3"]


def _write(path, text, compress=False):
    if compress:
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _table(sep, header=True, index=True, na="NA"):
    lines = []
    if header:
        lines.append(sep.join((["gene"] if index else []) + COLS))
    for name, row in zip(ROWS, VALUES):
        cells = [na if np.isnan(v) else repr(float(v)) for v in row]
        lines.append(sep.join(([name] if index else []) + cells))
    return "\n".join(lines) + "\n"


def _assert_matrix(m, rows=ROWS, cols=COLS):
    assert isinstance(m, LabeledMatrix)
    assert isinstance(m.X, np.ndarray) and m.X.dtype == np.float64
    np.testing.assert_array_equal(m.X, VALUES)
    assert m.row_names == rows and m.col_names == cols


# --------------------------------------------------------------------------- text formats


@pytest.mark.parametrize(
    "name, sep",
    [("m.csv", ","), ("m.tsv", "\t"), ("m.txt", ";"), ("m.csv", ";"), ("m.txt", "|"), ("m.txt", "\t")],
)
def test_text_round_trip_detects_separator(tmp_path, name, sep):
    _assert_matrix(read_matrix(_write(tmp_path / name, _table(sep))))


@pytest.mark.parametrize("header, index", [(True, False), (False, True), (False, False)])
def test_text_with_and_without_header_and_index(tmp_path, header, index):
    m = read_matrix(_write(tmp_path / "m.csv", _table(",", header=header, index=index)))
    _assert_matrix(m, rows=ROWS if index else None, cols=COLS if header else None)


def test_gzip_tsv_with_bom_and_explicit_sep(tmp_path):
    path = _write(tmp_path / "m.tsv.gz", "\ufeff" + _table("\t"), compress=True)
    _assert_matrix(read_matrix(path))
    _assert_matrix(read_matrix(path, sep="\t"))


def test_whitespace_and_r_style_short_header(tmp_path):
    text = "s1 s2 s3\ng1 1.5   0 2\ng2 3 4.25 NA\n"  # write.table: header lacks the row-name field
    _assert_matrix(read_matrix(_write(tmp_path / "m.txt", text)))


def test_pandas_to_csv_integer_index_and_missing_cells(tmp_path):
    df = pd.DataFrame(VALUES, columns=COLS)
    df.to_csv(tmp_path / "m.csv")  # header starts with an empty cell, index 0, 1
    m = read_matrix(tmp_path / "m.csv")
    _assert_matrix(m, rows=["0", "1"])
    np.testing.assert_array_equal(m.to_frame().to_numpy(), VALUES)
    assert list(m.to_frame().columns) == COLS


def test_semicolon_with_decimal_comma(tmp_path):
    text = "gene;s1;s2;s3\ng1;1,5;0;2\ng2;3;4,25;\n"
    _assert_matrix(read_matrix(_write(tmp_path / "m.csv", text)))


def test_quoted_names_with_separator_inside(tmp_path):
    text = '"id","a, b","c"\n"r 1",1,2\n"r,2",3,4\n'
    m = read_matrix(_write(tmp_path / "m.csv", text))
    assert m.col_names == ["a, b", "c"] and m.row_names == ["r 1", "r,2"]
    np.testing.assert_array_equal(m.X, [[1, 2], [3, 4]])


def test_transpose_swaps_names(tmp_path):
    m = read_matrix(_write(tmp_path / "m.csv", _table(",")), transpose=True)
    np.testing.assert_array_equal(m.X, VALUES.T)
    assert m.row_names == COLS and m.col_names == ROWS and m.X.flags.c_contiguous


def test_single_column(tmp_path):
    m = read_matrix(_write(tmp_path / "m.txt", "value\n1\n2.5\n"))
    np.testing.assert_array_equal(m.X, [[1.0], [2.5]])
    assert m.col_names == ["value"] and m.row_names is None


# --------------------------------------------------------------------------- binary formats


def test_npz_dense_with_names(tmp_path):
    np.savez(tmp_path / "d.npz", X=VALUES, row_names=np.array(ROWS), col_names=np.array(COLS))
    _assert_matrix(read_matrix(tmp_path / "d.npz"))
    np.savez(tmp_path / "plain.npz", X=np.arange(6).reshape(2, 3).astype(np.int32))
    m = read_matrix(tmp_path / "plain.npz")
    assert m.X.dtype == np.float64 and m.row_names is None and m.col_names is None


def test_npz_sparse_parts_like_shared_data_and_save_npz(tmp_path):
    A = sp.random(30, 12, density=0.2, format="csr", random_state=0, dtype=np.float64)
    A.data = np.ceil(A.data * 10)
    barcodes, genes = np.array([f"c{i}" for i in range(30)]), np.array([f"g{j}" for j in range(12)])
    np.savez(tmp_path / "s.npz", data=A.data.astype(np.uint16), indices=A.indices, indptr=A.indptr,
             shape=np.array(A.shape), barcodes=barcodes, genes=genes)
    m = read_matrix(tmp_path / "s.npz")
    assert sp.isspmatrix_csr(m.X) and m.X.dtype == np.float64 and m.X.nnz == A.nnz
    np.testing.assert_array_equal(m.X.toarray(), A.toarray())
    assert m.row_names == barcodes.tolist() and m.col_names == genes.tolist()
    t = read_matrix(tmp_path / "s.npz", transpose=True)
    assert sp.isspmatrix_csr(t.X) and t.X.shape == (12, 30) and t.row_names == genes.tolist()
    sp.save_npz(tmp_path / "csc.npz", A.tocsc())
    sp.save_npz(tmp_path / "coo.npz", A.tocoo())
    np.testing.assert_array_equal(read_matrix(tmp_path / "coo.npz").X.toarray(), A.toarray())
    np.testing.assert_array_equal(read_matrix(tmp_path / "csc.npz").X.toarray(), A.toarray())


def test_shared_pbmc_file_reads_with_labels():
    from importlib import resources

    path = resources.files("nmfkit.datasets").joinpath("_data", "pbmc68k_reduced_counts.npz")
    m = read_matrix(os.fspath(path))
    assert m.X.shape == (700, 765) and m.X.nnz == 174_400
    assert m.row_names[0] == "AAAGCCTGGCTAAC-1" and m.col_names[:2] == ["HES4", "TNFRSF4"]


def test_bundled_text_files_read_like_the_loaders():
    from importlib import resources

    from nmfkit.datasets import load_breast_cancer_sbs96

    data_dir = resources.files("nmfkit.datasets").joinpath("_data")
    m = read_matrix(os.fspath(data_dir.joinpath("sigprofiler_21BRCA_SBS96.txt")), transpose=True)
    expected = load_breast_cancer_sbs96().X
    np.testing.assert_array_equal(m.X, expected.to_numpy())
    assert m.row_names == list(expected.index) and m.col_names == list(expected.columns)
    # MouseIDs like "309_1" are labels (float() would accept them as 3091.0); the four
    # label columns are reported as non-numeric, the BOM does not leak into the names
    mice = data_dir.joinpath("uci_mice_protein_Data_Cortex_Nuclear.csv.gz")
    with pytest.raises(NMFInputError, match="4 data column.*'Genotype', 'Treatment', 'Behavior', 'class'"):
        read_matrix(os.fspath(mice))


@pytest.mark.parametrize("name", ["m.mtx", "m.mtx.gz"])
def test_mtx(tmp_path, name):
    A = sp.random(8, 5, density=0.4, format="coo", random_state=1)
    scipy.io.mmwrite(str(tmp_path / "m.mtx"), A)
    if name.endswith(".gz"):
        (tmp_path / name).write_bytes(gzip.compress((tmp_path / "m.mtx").read_bytes()))
    m = read_matrix(tmp_path / name)
    assert sp.isspmatrix_csr(m.X) and m.X.dtype == np.float64
    np.testing.assert_allclose(m.X.toarray(), A.toarray())
    assert m.row_names is None and m.col_names is None


def test_h5ad_x_and_layer(tmp_path):
    anndata = pytest.importorskip("anndata")
    X = sp.csr_matrix(np.array([[1.0, 0, 2], [0, 3, 0]], dtype=np.float32))
    adata = anndata.AnnData(X=X, obs=pd.DataFrame(index=["c1", "c2"]), var=pd.DataFrame(index=COLS))
    adata.layers["counts"] = np.array([[5, 0, 7], [0, 9, 0]], dtype=np.int64)
    adata.write_h5ad(tmp_path / "a.h5ad")
    m = read_matrix(tmp_path / "a.h5ad")
    assert sp.isspmatrix_csr(m.X) and m.X.dtype == np.float64
    np.testing.assert_array_equal(m.X.toarray(), X.toarray())
    assert m.row_names == ["c1", "c2"] and m.col_names == COLS
    layer = read_matrix(tmp_path / "a.h5ad", layer="counts", transpose=True)
    assert isinstance(layer.X, np.ndarray) and layer.X.dtype == np.float64
    np.testing.assert_array_equal(layer.X, [[5, 0], [0, 9], [7, 0]])
    assert layer.row_names == COLS
    with pytest.raises(NMFInputError, match="no layer 'raw'.*counts"):
        read_matrix(tmp_path / "a.h5ad", layer="raw")


def test_h5ad_without_anndata_says_how_to_install(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "anndata":
            raise ImportError("no anndata")
        return real_import(name, *args, **kwargs)

    (tmp_path / "a.h5ad").write_bytes(b"\x89HDF")
    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(NMFInputError, match="pip install anndata") as err:
        read_matrix(tmp_path / "a.h5ad")
    assert str(tmp_path / "a.h5ad") in str(err.value)


# --------------------------------------------------------------------------- read errors


def _error_cases(tmp_path):
    (tmp_path / "folder.csv").mkdir()
    (tmp_path / "data.xlsx").write_bytes(b"PK")
    _write(tmp_path / "empty.csv", "")
    _write(tmp_path / "header_only.csv", "a,b,c\n")
    _write(tmp_path / "text.csv", "id,age,sex,city,x\nr1,3,m,Oslo,1\nr2,4,f,Rome,2\n")
    _write(tmp_path / "ragged.csv", "1,2,3\n4,5\n6,7,8,9,10\n")
    _write(tmp_path / "long_header.csv", "a,b,c,d\n1,2\n3,4\n")
    (tmp_path / "junk.npz").write_bytes(b"not a zip file")
    np.savez(tmp_path / "nokey.npz", Y=np.ones((2, 2)))
    np.savez(tmp_path / "objects.npz", X=np.array([{"a": 1}], dtype=object))
    np.savez(tmp_path / "badnames.npz", X=np.ones((2, 2)), row_names=np.array(["a", "b", "c"]))
    (tmp_path / "junk.mtx").write_text("hello\n")
    np.savez(tmp_path / "zero.npz", X=np.ones((0, 3)))
    return [
        ("missing.csv", "file not found"),
        ("folder.csv", "is a directory"),
        ("data.xlsx", "unknown extension '.xlsx'.*\\.csv.*\\.h5ad"),
        ("empty.csv", "empty matrix"),
        ("header_only.csv", "empty matrix"),
        ("text.csv", "2 data column\\(s\\) are not numeric: 'sex', 'city'"),
        ("ragged.csv", "ragged rows"),
        ("long_header.csv", "header has 4 fields but the data rows have 2"),
        ("junk.npz", "could not parse"),
        ("nokey.npz", "neither key 'X' nor CSR parts.*'Y'"),
        ("objects.npz", "pickled object arrays"),
        ("badnames.npz", "'row_names' has shape \\(3,\\) but X has 2 rows"),
        ("junk.mtx", "could not parse"),
        ("zero.npz", "empty matrix"),
    ]


def test_every_read_error_names_path_problem_and_fix(tmp_path):
    for name, match in _error_cases(tmp_path):
        path = tmp_path / name
        with pytest.raises(NMFInputError, match=match) as err:
            read_matrix(path)
        assert str(path) in str(err.value), name
        assert ";" in str(err.value), name  # "<path>: <problem>; <fix>"


def test_non_numeric_lists_at_most_five_columns(tmp_path):
    header = ",".join(f"c{j}" for j in range(8))
    path = _write(tmp_path / "t.csv", f"id,{header}\nr1,{','.join('x' * 8)}\n")
    with pytest.raises(NMFInputError, match="8 data column.*'c4' and 3 more"):
        read_matrix(path)


def test_layer_on_non_h5ad_and_sparse_to_frame(tmp_path):
    path = _write(tmp_path / "m.csv", _table(","))
    with pytest.raises(NMFInputError, match="layer='counts' applies only to .h5ad"):
        read_matrix(path, layer="counts")
    with pytest.raises(NMFInputError, match="sparse"):
        LabeledMatrix(sp.eye(2, format="csr"), None, None).to_frame()


# --------------------------------------------------------------------------- writing


def test_atomic_write_text_binary_and_refusal(tmp_path):
    path = tmp_path / "out.txt"
    with atomic_write(path) as f:
        f.write("héllo\n")
    assert path.read_text(encoding="utf-8") == "héllo\n"
    with pytest.raises(NMFInputError, match="already exists.*overwrite=True") as err:
        with atomic_write(path):
            pass
    assert str(path) in str(err.value)
    with atomic_write(path, overwrite=True, mode="wb") as f:
        f.write(b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_atomic_write_cleans_up_after_exception(tmp_path):
    path = tmp_path / "plot.png"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_write(path, overwrite=True, mode="wb") as f:
            f.write(b"partial")
            raise RuntimeError("boom")
    assert path.read_bytes() == b"old"  # untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plot.png"]  # no temp file left
    with pytest.raises(NMFInputError, match="does not exist.*create it"):
        with atomic_write(tmp_path / "nope" / "x.txt"):
            pass
    with pytest.raises(NMFInputError, match="mode='a'"):
        with atomic_write(tmp_path / "x.txt", mode="a"):
            pass


def test_write_table_round_trips_through_read_matrix(tmp_path):
    df = pd.DataFrame(VALUES, index=pd.Index(ROWS, name="gene"), columns=COLS)
    path = tmp_path / "table.tsv"
    write_table(df, path)
    back = pd.read_csv(path, sep="\t", index_col=0)
    pd.testing.assert_frame_equal(back, df)
    _assert_matrix(read_matrix(path))
    with pytest.raises(NMFInputError, match="overwrite=True"):
        write_table(df, path)
    write_table(df * 2, path, overwrite=True)
    assert pd.read_csv(path, sep="\t", index_col=0).iloc[0, 0] == 3.0


def _result(W, H, **info):
    return NMFResult(W=W, H=H, loss=0.25, loss_history=(2.0, 0.5, np.float64(0.25)), n_iter=3,
                     converged=True, stop_reason="tol", elapsed=0.125, beta=1.0, solver="mu", info=info)


def test_save_load_result_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    W, H = rng.random((5, 2)), rng.random((2, 4)).astype(np.float32)
    res = _result(W, H, evaluated_at=np.arange(3), tol=np.float64(1e-4), note="ok")
    path = tmp_path / "res.npz"
    save_result(res, path, row_names=list("abcde"), col_names=["f1", "f2", "f3", "f4"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res.json", "res.npz"]
    meta = json.loads((tmp_path / "res.json").read_text())
    assert meta["solver"] == "mu" and meta["nmfkit_version"] and meta["row_names"] == list("abcde")
    with np.load(path, allow_pickle=False) as npz:  # plain arrays, no pickle needed
        assert set(npz.files) == {"W", "H", "loss_history"}
    back = load_result(path)
    np.testing.assert_array_equal(back.W, W)
    np.testing.assert_array_equal(back.H, H)
    assert back.H.dtype == np.float32
    assert back.loss_history == (2.0, 0.5, 0.25)
    for field in ("loss", "n_iter", "converged", "stop_reason", "elapsed", "beta", "solver"):
        assert getattr(back, field) == getattr(res, field)
    assert back.info["evaluated_at"] == [0, 1, 2] and back.info["tol"] == 1e-4
    assert back.info["row_names"] == list("abcde") and back.info["col_names"][-1] == "f4"
    assert load_result(tmp_path / "res.json").loss == 0.25


def test_save_result_dataframes_torch_and_unserialisable_info(tmp_path):
    W = pd.DataFrame(np.ones((3, 2)), index=["x", "y", "z"], columns=[0, 1])
    H = pd.DataFrame(np.full((2, 2), 0.5), index=[0, 1], columns=["u", "v"])
    with pytest.warns(UserWarning, match="callback"):
        save_result(_result(W, H, callback=print, k=2), tmp_path / "r.npz")
    back = load_result(tmp_path / "r.npz")
    pd.testing.assert_frame_equal(back.W, W)
    pd.testing.assert_frame_equal(back.H, H)
    assert back.info == {"k": 2}
    torch = pytest.importorskip("torch")
    res = _result(torch.ones(3, 2, dtype=torch.float64), torch.zeros(2, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        save_result(res, tmp_path / "t.npz")
    back = load_result(tmp_path / "t.npz")
    assert isinstance(back.W, np.ndarray) and back.W.shape == (3, 2) and back.H.dtype == np.float32


def test_save_result_refuses_overwrite_and_bad_paths(tmp_path):
    res = _result(np.ones((2, 2)), np.ones((2, 2)))
    path = tmp_path / "r.npz"
    save_result(res, path)
    before = path.read_bytes()
    with pytest.raises(NMFInputError, match="already exists.*overwrite=True") as err:
        save_result(_result(np.zeros((2, 2)), np.ones((2, 2))), path)
    assert str(path) in str(err.value) and path.read_bytes() == before
    (tmp_path / "r.npz").unlink()  # the .json alone also blocks a new save
    with pytest.raises(NMFInputError, match=r"r\.json: already exists"):
        save_result(res, path)
    save_result(res, path, overwrite=True)
    with pytest.raises(NMFInputError, match="must end in .npz"):
        save_result(res, tmp_path / "r.pkl")
    with pytest.raises(NMFInputError, match="row_names has 3 entries"):
        save_result(res, tmp_path / "s.npz", row_names=["a", "b", "c"])
    with pytest.raises(NMFInputError, match="result file not found") as err:
        load_result(tmp_path / "missing.npz")
    assert "missing.npz" in str(err.value)
    (tmp_path / "r.json").write_text("{not json")
    with pytest.raises(NMFInputError, match="not a valid nmfkit result"):
        load_result(path)
