"""Optional dependencies: import one, or fail with one message that names the extra.

``import nmfkit`` needs none of them; a feature that does calls :func:`require`
when it is used::

    zarr = require("zarr", "read a .zarr array")
"""

from __future__ import annotations

import importlib

__all__ = ["require", "EXTRAS"]

# module -> (pip distribution, nmfkit extra that installs it)
EXTRAS = {
    "anndata": ("anndata", "anndata"),
    "h5py": ("h5py", "out-of-core"),
    "zarr": ("zarr", "out-of-core"),
    "dask": ("dask[distributed]", "distributed"),
    "dask.array": ("dask[distributed]", "distributed"),
    "distributed": ("dask[distributed]", "distributed"),
    "torch": ("torch", "torch"),
    "soundfile": ("soundfile", "audio"),
    "scanpy": ("scanpy", "scanpy"),
}


def require(module: str, purpose: str):
    """``importlib.import_module(module)``, or an ImportError saying how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        dist, extra = EXTRAS.get(module, (module.split(".")[0], None))
        how = f"pip install '{dist}'" + (f" (or pip install 'nmfkit[{extra}]')" if extra else "")
        raise ImportError(f"to {purpose}, nmfkit needs the optional package {dist!r}, which is not "
                          f"installed: {how}") from exc
