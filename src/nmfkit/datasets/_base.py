"""Private helpers shared by the bundled-data loaders: locating and opening data files."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from importlib import resources
from typing import IO

import numpy as np
import scipy.sparse as sp

__all__ = ["open_data", "read_csr_npz"]

_PACKAGE = "nmfkit.datasets"


@contextlib.contextmanager
def open_data(name: str) -> Iterator[IO[bytes]]:
    """Open a bundled data file in binary mode.

    Works from a source checkout, an editable install and an installed wheel
    (``importlib.resources``), so loaders never depend on the working directory.
    """
    resource = resources.files(_PACKAGE).joinpath("_data", name)
    if not resource.is_file():  # pragma: no cover - broken installation
        raise FileNotFoundError(
            f"bundled data file {name!r} is missing from {_PACKAGE}/_data; "
            "reinstall nmfkit (the package data was not installed)"
        )
    with resource.open("rb") as handle:
        yield handle


def read_csr_npz(name: str) -> tuple[sp.csr_matrix, dict[str, np.ndarray]]:
    """Read a bundled ``.npz`` holding CSR parts plus label arrays.

    Returns
    -------
    X : scipy.sparse.csr_matrix of float64
        Built from ``data``, ``indices``, ``indptr`` and ``shape``.
    labels : dict of str to ndarray
        Every other array in the file (barcodes, genes, ...), as ``str`` arrays.
    """
    with open_data(name) as handle, np.load(handle, allow_pickle=False) as npz:
        parts = {key: npz[key] for key in npz.files}
    shape = tuple(int(n) for n in parts.pop("shape"))
    data = parts.pop("data").astype(np.float64)
    index_dtype = np.int32 if data.size < np.iinfo(np.int32).max else np.int64
    X = sp.csr_matrix(
        (data, parts.pop("indices").astype(index_dtype), parts.pop("indptr").astype(index_dtype)),
        shape=shape,
    )
    X.sort_indices()
    labels = {key: value.astype(str) for key, value in parts.items()}
    return X, labels
