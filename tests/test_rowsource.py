"""Row sources (nmfkit.io.open_rows / as_row_source): exact blocks per format, checks, memory bound."""

from __future__ import annotations

import gc
import os
import sys
import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp

from nmfkit import NMFInputError
from nmfkit.io import RowSource, as_row_source, open_rows

anndata = pytest.importorskip("anndata")
h5py = pytest.importorskip("h5py")
zarr = pytest.importorskip("zarr")


def _matrix(n=23, m=7, dtype=np.float64, density=0.4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, m)) * (rng.random((n, m)) < density) * 10
    if np.dtype(dtype).kind in "iu":
        X = np.round(X)
    return X.astype(dtype)


def _write_h5ad(path, X, *, layer=None, names=True):
    kw = {"layers": {layer: X}, "X": None} if layer else {"X": X}
    adata = anndata.AnnData(**kw, shape=X.shape if layer else None)
    if names:
        adata.obs_names = [f"cell{i}" for i in range(X.shape[0])]
        adata.var_names = [f"gene{j}" for j in range(X.shape[1])]
    adata.write_h5ad(path)
    return path


def _write_zarr(path, X):
    arr = zarr.open_array(store=str(path), mode="w", shape=X.shape, dtype=X.dtype, chunks=(5, X.shape[1]))
    arr[:] = X
    return path


def _stack(blocks, sparse):
    blocks = list(blocks)
    starts = [s for s, _ in blocks]
    mats = [b for _, b in blocks]
    return starts, (sp.vstack(mats, format="csr") if sparse else np.concatenate(mats))


def _equal(A, B):
    if sp.issparse(A) or sp.issparse(B):
        assert sp.issparse(A) and sp.issparse(B)
        assert A.shape == B.shape and (A != B).nnz == 0
    else:
        np.testing.assert_array_equal(A, B)


def _sources(tmp_path, X):
    """(name, factory) for every kind of source, each holding X."""
    Xs = sp.csr_matrix(X)

    def h5ad_csr():
        return open_rows(_write_h5ad(tmp_path / "csr.h5ad", Xs))

    def h5ad_dense():
        return open_rows(_write_h5ad(tmp_path / "dense.h5ad", X))

    def h5ad_layer():
        return open_rows(_write_h5ad(tmp_path / "layer.h5ad", Xs, layer="counts"), layer="counts")

    def zarr_dir():
        return open_rows(_write_zarr(tmp_path / "X.zarr", X))

    def npy():
        np.save(tmp_path / "X.npy", X)
        return open_rows(tmp_path / "X.npy")

    def memmap():
        mm = np.lib.format.open_memmap(tmp_path / "mm.npy", mode="w+", dtype=X.dtype, shape=X.shape)
        mm[:] = X
        mm.flush()
        return open_rows(np.load(tmp_path / "mm.npy", mmap_mode="r"))

    def h5py_dataset():
        with h5py.File(tmp_path / "raw.h5", "w") as f:
            f["X"] = X
        return open_rows(h5py.File(tmp_path / "raw.h5", "r")["X"])

    def zarr_array():
        return open_rows(zarr.open_array(store=str(_write_zarr(tmp_path / "obj.zarr", X)), mode="r"))

    def iterable():
        return open_rows(iter([X[:4], sp.csr_matrix(X[4:5]), X[5:17], X[17:]]))

    def iterable_sparse():
        return open_rows(Xs[i:i + 6] for i in range(0, X.shape[0], 6))

    def callable_():
        return open_rows(lambda: (X[i:i + 5] for i in range(0, X.shape[0], 5)))

    def dense():
        return as_row_source(X)

    def sparse():
        return as_row_source(sp.csc_matrix(X))

    return {f.__name__.rstrip("_"): f for f in (h5ad_csr, h5ad_dense, h5ad_layer, zarr_dir, npy, memmap,
                                                   h5py_dataset, zarr_array, iterable, iterable_sparse,
                                                   callable_, dense, sparse)}


KINDS = ["h5ad_csr", "h5ad_dense", "h5ad_layer", "zarr_dir", "npy", "memmap", "h5py_dataset", "zarr_array",
         "iterable", "iterable_sparse", "callable", "dense", "sparse"]
SPARSE = {"h5ad_csr", "h5ad_layer", "iterable_sparse", "sparse"}
RANDOM_ACCESS = set(KINDS) - {"iterable", "iterable_sparse", "callable"}


# --------------------------------------------------------------------------- exact content per format


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int32])
def test_blocks_and_read_reproduce_the_matrix(tmp_path, kind, dtype):
    X = _matrix(dtype=dtype)
    want = np.dtype(np.float32 if dtype == np.float32 else np.float64)
    with _sources(tmp_path, X)[kind]() as src:
        assert isinstance(src, RowSource)
        assert src.sparse == (kind in SPARSE)
        assert src.dtype == want
        assert src.shape[1] == X.shape[1]
        assert src.reiterable == (kind not in ("iterable", "iterable_sparse"))
        starts, got = _stack(src.blocks(4), src.sparse)
        assert starts == list(range(0, X.shape[0], 4))
        assert src.shape == X.shape  # a stream learns n_samples after one pass
        assert got.dtype == want
        expected = X.astype(want)
        _equal(got, sp.csr_matrix(expected) if src.sparse else expected)
        if kind in RANDOM_ACCESS:
            for lo, hi in [(0, 23), (3, 11), (22, 23), (5, 5)]:
                block = src.read(lo, hi)
                assert block.dtype == want and block.shape == (hi - lo, X.shape[1])
                _equal(block, sp.csr_matrix(expected[lo:hi]) if src.sparse else expected[lo:hi])
            n_bytes = (np.count_nonzero(X) * (want.itemsize + 4) + (X.shape[0] + 1) * 4 if src.sparse
                       else X.size * want.itemsize)  # int32 indices and indptr
            assert src.nbytes_estimate == n_bytes


@pytest.mark.parametrize("kind", ["h5ad_csr", "npy", "callable", "iterable", "dense"])
def test_blocks_from_a_start_row_and_batch_sizes(tmp_path, kind):
    X = _matrix()
    with _sources(tmp_path, X)[kind]() as src:
        starts, got = _stack(src.blocks(6, start=9), src.sparse)
        assert starts == [9, 15, 21]
        _equal(got, sp.csr_matrix(X[9:]) if src.sparse else X[9:])


def test_callable_source_rereads_and_learns_n_samples(tmp_path):
    X = _matrix()
    calls = []

    def fresh():
        calls.append(1)
        return iter([X[:10], X[10:]])

    src = open_rows(fresh)
    assert src.reiterable and src.shape == (None, 7)
    first = _stack(src.blocks(8), False)[1]
    assert src.shape == X.shape
    second = _stack(src.blocks(3), False)[1]
    np.testing.assert_array_equal(first, X)
    np.testing.assert_array_equal(second, X)
    assert len(calls) == 2  # the peeked iterator is the first pass


def test_h5ad_names_and_blocks_are_private_copies(tmp_path):
    X = _matrix()
    path = _write_h5ad(tmp_path / "a.h5ad", sp.csr_matrix(X))
    before = path.read_bytes()
    with open_rows(str(path)) as src:
        assert src.path == str(path)
        assert src.row_names() == [f"cell{i}" for i in range(23)]
        assert src.col_names() == [f"gene{j}" for j in range(7)]
        block = src.read(0, 5)
        block.data[:] = -1  # a caller modifying a block never touches the file
    assert path.read_bytes() == before
    arr = _matrix()
    block = as_row_source(arr).read(0, 3)
    block[:] = 99
    for _, block in open_rows([arr[:2], arr[2:]]).blocks(2):
        block[:] = 99
    np.testing.assert_array_equal(arr, _matrix())
    assert as_row_source(arr).row_names() is None


def test_h5ad_categorical_obs_names(tmp_path):
    X = _matrix(n=4, m=2)
    path = tmp_path / "c.h5ad"
    _write_h5ad(path, X)
    with h5py.File(path, "r+") as f:  # store obs_names as an anndata categorical
        del f["obs/_index"]
        g = f["obs"].create_group("_index")
        g.attrs["encoding-type"], g.attrs["encoding-version"] = "categorical", "0.2.0"
        g["categories"] = np.array([b"a", b"b"], dtype=h5py.string_dtype())
        g["codes"] = np.array([1, 0, 1, 0], dtype=np.int8)
    with open_rows(path) as src:
        assert src.row_names() == ["b", "a", "b", "a"]


def test_anndata_objects_and_h5py_groups(tmp_path):
    X = _matrix()
    path = _write_h5ad(tmp_path / "a.h5ad", sp.csr_matrix(X), layer="counts")
    backed = anndata.read_h5ad(path, backed="r")
    try:
        with open_rows(backed, layer="counts") as src:  # read from the backing file, by rows
            assert src.path == str(path) and src.sparse
            _equal(src.read(3, 9), sp.csr_matrix(X[3:9]))
    finally:
        backed.file.close()
    adata = anndata.read_h5ad(path)
    with open_rows(adata, layer="counts") as src:
        assert src.row_names()[:2] == ["cell0", "cell1"] and src.col_names()[-1] == "gene6"
        _equal(_stack(src.blocks(10), True)[1], sp.csr_matrix(X))
    with pytest.raises(NMFInputError, match="has no layer 'raw'"):
        open_rows(adata, layer="raw")
    with pytest.raises(NMFInputError, match="adata.X is None"):
        open_rows(adata)
    with h5py.File(path, "r") as f:
        with open_rows(f["layers/counts"]) as src:  # a CSR group object
            _equal(src.read(0, 23), sp.csr_matrix(X))
        with pytest.raises(NMFInputError, match=r"whole AnnData file.*f\['X'\]"):
            open_rows(f)


def test_row_source_passes_through_and_closes(tmp_path):
    src = as_row_source(_matrix())
    assert open_rows(src) is src and as_row_source(src) is src
    path = _write_h5ad(tmp_path / "a.h5ad", sp.csr_matrix(_matrix()))
    with open_rows(path) as s:
        file = s._file
    assert not file  # the h5py file is closed
    with pytest.raises(NMFInputError, match="closed"):
        s.read(0, 1)
    s.close()


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("kind", ["h5ad_csr", "h5ad_dense", "zarr_dir", "npy", "iterable", "callable",
                                  "sparse"])
@pytest.mark.parametrize("bad", [-3.0, np.nan, np.inf])
def test_bad_values_name_the_rows_and_the_entry(tmp_path, kind, bad):
    X = _matrix()
    X[13, 5] = bad
    with _sources(tmp_path, X)[kind]() as src:
        with pytest.raises(NMFInputError) as err:
            list(src.blocks(4))
    msg = str(err.value)
    if kind in ("iterable", "callable"):  # the stream's own blocks: X[5:17] / X[10:15]
        rows = "rows 5..16 (block 2)" if kind == "iterable" else "rows 10..14 (block 2)"
    else:
        rows = "rows 12..15"
    assert rows in msg
    assert "at row 13, column 5" in msg
    if bad < 0:
        assert "negative value (-3 at row 13" in msg and "non-negative" in msg
    else:
        assert "NaN or infinite" in msg and "replace" in msg
    if kind.startswith(("h5ad", "zarr", "npy")):
        assert str(tmp_path) in msg


def test_read_checks_only_the_rows_it_reads(tmp_path):
    X = _matrix()
    X[20, 1] = -1
    np.save(tmp_path / "X.npy", X)
    with open_rows(tmp_path / "X.npy") as src:
        np.testing.assert_array_equal(src.read(0, 20), X[:20])
        with pytest.raises(NMFInputError, match=r"rows 18\.\.22 .*row 20, column 1"):
            src.read(18, 23)
        with pytest.raises(NMFInputError, match="out of range"):
            src.read(5, 24)


def test_csc_h5ad_is_refused_with_the_rewrite(tmp_path):
    X = sp.csc_matrix(_matrix())
    path = _write_h5ad(tmp_path / "csc.h5ad", X)
    with pytest.raises(NMFInputError, match=r"CSC.*adata\.X = adata\.X\.tocsr\(\); adata\.write_h5ad"):
        open_rows(path)
    _write_h5ad(tmp_path / "csc_layer.h5ad", X, layer="raw")
    with pytest.raises(NMFInputError, match=r"adata\.layers\['raw'\] = adata\.layers\['raw'\]\.tocsr\(\)"):
        open_rows(tmp_path / "csc_layer.h5ad", layer="raw")


def test_missing_layer_and_missing_x(tmp_path):
    path = _write_h5ad(tmp_path / "l.h5ad", sp.csr_matrix(_matrix()), layer="counts")
    with pytest.raises(NMFInputError, match=r"has no layer 'spliced' \(layers: \['counts'\]\)"):
        open_rows(path, layer="spliced")
    with pytest.raises(NMFInputError, match=r"has no X.*layer= one of the layers \['counts'\]"):
        open_rows(path)


@pytest.mark.parametrize("name", ["X.npz", "X.csv", "X.tsv.gz", "X.mtx", "X.mtx.gz", "X.txt"])
def test_whole_file_formats_point_to_read_matrix(tmp_path, name):
    with pytest.raises(NMFInputError, match=r"read_matrix reads them whole.*\.h5ad.*\.zarr.*\.npy"):
        open_rows(tmp_path / name)


def test_other_paths_are_refused_clearly(tmp_path):
    with pytest.raises(NMFInputError, match="does not exist"):
        open_rows(tmp_path / "nope.h5ad")
    (tmp_path / "empty").mkdir()
    with pytest.raises(NMFInputError, match="without zarr metadata"):
        open_rows(tmp_path / "empty")
    (tmp_path / "X.parquet").write_bytes(b"x")
    with pytest.raises(NMFInputError, match=r"does not stream.*\.h5ad"):
        open_rows(tmp_path / "X.parquet")
    (tmp_path / "bad.h5ad").write_bytes(b"not hdf5")
    with pytest.raises(NMFInputError, match="could not be opened as HDF5"):
        open_rows(tmp_path / "bad.h5ad")
    np.save(tmp_path / "v.npy", np.arange(5.0))
    with pytest.raises(NMFInputError, match="1-D array"):
        open_rows(tmp_path / "v.npy")
    np.save(tmp_path / "s.npy", np.array([["a", "b"]]))
    with pytest.raises(NMFInputError, match="non-numeric"):
        open_rows(tmp_path / "s.npy")
    with pytest.raises(NMFInputError, match="layer='x' applies only to .h5ad"):
        open_rows(tmp_path / "s.npy", layer="x")
    g = zarr.open_group(store=str(tmp_path / "g.zarr"), mode="w")
    g.create_array("X", shape=(2, 2), dtype="f8")
    with pytest.raises(NMFInputError, match=r"zarr group, not an array.*\['X'\]"):
        open_rows(tmp_path / "g.zarr")
    with pytest.raises(NMFInputError, match="pass a path"):
        open_rows(3.5)
    with pytest.raises(NMFInputError, match="1-D array"):
        as_row_source(np.ones(3))


@pytest.mark.parametrize("module, name", [("h5py", "a.h5ad"), ("zarr", "X.zarr")])
def test_a_missing_optional_package_is_one_clear_import_error(tmp_path, monkeypatch, module, name):
    X = _matrix()
    path = _write_h5ad(tmp_path / name, X) if module == "h5py" else _write_zarr(tmp_path / name, X)
    monkeypatch.setitem(sys.modules, module, None)  # import fails as if not installed
    with pytest.raises(ImportError, match=rf"optional package '{module}'.*pip install"):
        open_rows(path)


def test_stream_errors(tmp_path):
    X = _matrix()
    once = open_rows(iter([X[:5], X[5:]]))
    assert len(list(once.blocks(4))) == 6
    with pytest.raises(NMFInputError, match=r"already read once.*partial_fit.*callable returning a fresh"):
        once.blocks(4)
    with pytest.raises(NMFInputError, match="no random access"):
        once.read(0, 1)
    with pytest.raises(NMFInputError, match=r"block 1 has 6 columns but the stream has 7 \(from block 0\)"):
        list(open_rows([X[:5], X[5:, :6]]).blocks(4))
    with pytest.raises(NMFInputError, match=r"block 0 has 7 columns but n_features=8"):
        open_rows([X], n_features=8)
    with pytest.raises(NMFInputError, match="block 0 is 1-D"):
        open_rows([X[0]])
    with pytest.raises(NMFInputError, match="holds no blocks"):
        open_rows(iter([]))
    with pytest.raises(NMFInputError, match="batch_size=0"):
        as_row_source(X).blocks(0)
    sizes = iter([10, 12])
    changing = open_rows(lambda: iter([X[:next(sizes)]]))
    list(changing.blocks(5))
    with pytest.raises(NMFInputError, match="must return the same blocks"):
        list(changing.blocks(5))


# --------------------------------------------------------------------------- memory bound

BOUND = 12 * 2**20  # bytes of traced (numpy / Python) allocations allowed while streaming


def _peak(fn):
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _stream_checksum(src, batch_size):
    total, nnz, rows = 0.0, 0, 0
    for start, block in src.blocks(batch_size):
        assert start == rows
        rows += block.shape[0]
        total += float(block.sum(dtype=np.float64))
        nnz += block.nnz if sp.issparse(block) else int(np.count_nonzero(block))
    return rows, nnz, total


def test_streaming_a_large_csr_h5ad_stays_under_the_bound(tmp_path):
    n, m, per_row = 400_000, 1000, 20
    rng = np.random.default_rng(1)
    indices = (np.arange(per_row, dtype=np.int32) * (m // per_row))[None, :] \
        + rng.integers(0, m // per_row, size=(n, 1), dtype=np.int32)
    data = rng.random(n * per_row, dtype=np.float32) + 0.5
    X = sp.csr_matrix((data, indices.ravel(), np.arange(0, n * per_row + 1, per_row)), shape=(n, m))
    expected = (n, X.nnz, float(X.sum(dtype=np.float64)))
    path = tmp_path / "big.h5ad"
    anndata.AnnData(X=X).write_h5ad(path)
    del X, data, indices
    whole = X_bytes = n * per_row * (4 + 4) + (n + 1) * 4  # data + indices + indptr (int32)
    assert whole >= 4 * BOUND
    assert os.path.getsize(path) >= 4 * BOUND
    result = []

    def stream():  # opening holds indptr (O(n_samples)); each block O(batch_size x n_features)
        with open_rows(path) as src:
            result.append(_stream_checksum(src, 2000))

    peak = _peak(stream)
    with open_rows(path) as src:
        assert src.nbytes_estimate >= X_bytes
        # the same measurement sees a whole-file read, so the bound above can fail
        whole_peak = _peak(lambda: src.read(0, n))
    assert result[0][:2] == expected[:2]
    assert result[0][2] == pytest.approx(expected[2], rel=1e-9)
    assert peak < BOUND, f"streaming peak {peak / 2**20:.1f} MiB >= bound {BOUND / 2**20:.0f} MiB"
    assert whole_peak > BOUND
    print(f"csr h5ad: file {os.path.getsize(path) / 2**20:.1f} MiB, streaming peak {peak / 2**20:.2f} MiB, "
          f"whole read peak {whole_peak / 2**20:.1f} MiB, bound {BOUND / 2**20:.0f} MiB")


def test_streaming_a_large_npy_stays_under_the_bound(tmp_path):
    n, m = 25_000, 800
    path = tmp_path / "big.npy"
    mm = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, m))
    for lo in range(0, n, 5000):
        mm[lo:lo + 5000] = np.random.default_rng(lo).random((min(5000, n - lo), m), dtype=np.float32)
    expected_sum = float(sum(float(mm[lo:lo + 5000].sum(dtype=np.float64)) for lo in range(0, n, 5000)))
    mm.flush()
    del mm
    assert os.path.getsize(path) >= 4 * BOUND
    result = []

    def stream():
        with open_rows(path) as src:
            result.append(_stream_checksum(src, 500))

    peak = _peak(stream)
    assert result[0][0] == n
    assert result[0][2] == pytest.approx(expected_sum, rel=1e-9)
    assert peak < BOUND, f"streaming peak {peak / 2**20:.1f} MiB >= bound {BOUND / 2**20:.0f} MiB"
    with open_rows(path) as src:
        assert src.nbytes_estimate == n * m * 4 >= 4 * BOUND
        whole_peak = _peak(lambda: src.read(0, n))
    assert whole_peak > BOUND
    print(f"npy: file {os.path.getsize(path) / 2**20:.1f} MiB, streaming peak {peak / 2**20:.2f} MiB, "
          f"whole read peak {whole_peak / 2**20:.1f} MiB, bound {BOUND / 2**20:.0f} MiB")
