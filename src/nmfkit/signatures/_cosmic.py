"""The COSMIC reference signatures, read from an installed SigProfilerAssignment or a user file.

nmfkit does not ship COSMIC data (COSMIC's own terms apply to it). The
``SigProfilerAssignment`` package on PyPI carries the reference files under
``SigProfilerAssignment/data/Reference_Signatures/<genome>/COSMIC_v<version>_SBS_<genome>.txt``;
they are located without importing that package.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Optional, Union

import pandas as pd

from ._catalog import read_catalog

__all__ = ["load_cosmic", "cosmic_path"]

_HOWTO = (
    "nmfkit does not ship the COSMIC signatures (COSMIC's terms apply). Either install "
    "SigProfilerAssignment (pip install SigProfilerAssignment), which carries them, or download "
    "COSMIC_v3.4_SBS_GRCh37.txt from https://cancer.sanger.ac.uk/signatures/downloads/ and pass "
    "load_cosmic(path=...)"
)


def cosmic_path(version: str = "3.4", genome: str = "GRCh37", exome: bool = False) -> Optional[Path]:
    """The COSMIC SBS file inside an installed SigProfilerAssignment, or None if there is none."""
    spec = importlib.util.find_spec("SigProfilerAssignment")
    if spec is None or not spec.submodule_search_locations:
        return None
    name = f"COSMIC_v{version}_SBS_{genome}{'_exome' if exome else ''}.txt"
    for root in spec.submodule_search_locations:
        path = Path(root) / "data" / "Reference_Signatures" / genome / name
        if path.is_file():
            return path
    return None


def load_cosmic(path: Union[str, os.PathLike, None] = None, *, version: str = "3.4",
                genome: str = "GRCh37", exome: bool = False) -> pd.DataFrame:
    """The COSMIC SBS reference signatures as a DataFrame, **signatures × 96 types**.

    Parameters
    ----------
    path : path, optional
        A COSMIC SBS file (tab-separated, a ``Type`` column of mutation types and one
        column per signature). Without it the file is taken from an installed
        ``SigProfilerAssignment`` package.
    version, genome, exome
        Which file of the package: ``COSMIC_v{version}_SBS_{genome}[_exome].txt``
        (e.g. version "3.4", genome "GRCh37" or "GRCh38").

    Returns
    -------
    DataFrame (n_signatures, 96)
        One signature per row (index ``SBS1``, ``SBS2``, …), columns
        :data:`SBS96_TYPES`: the orientation of ``components_``, ready for
        :func:`match_signatures`. (The file itself is types × signatures; it is
        transposed here.)

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist, or no path is given and SigProfilerAssignment (or
        the requested file in it) is not installed; the message says how to get it.

    Examples
    --------
    >>> from nmfkit.signatures import load_cosmic
    >>> try:
    ...     cosmic = load_cosmic()
    ... except FileNotFoundError:
    ...     cosmic = None   # SigProfilerAssignment is not installed
    """
    if path is None:
        found = cosmic_path(version, genome, exome)
        if found is None:
            where = ("SigProfilerAssignment is not installed"
                     if importlib.util.find_spec("SigProfilerAssignment") is None else
                     f"the installed SigProfilerAssignment has no COSMIC v{version} SBS {genome}"
                     f"{' exome' if exome else ''} file")
            raise FileNotFoundError(f"COSMIC reference signatures are unavailable: {where}. {_HOWTO}")
        path = found
    elif not Path(path).is_file():
        raise FileNotFoundError(f"COSMIC file {os.fspath(path)!r} does not exist. {_HOWTO}")
    sigs = read_catalog(path, orientation="types_x_samples")
    sigs.index.name = "signature"
    return sigs
