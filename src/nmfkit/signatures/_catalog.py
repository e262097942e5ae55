"""SBS-96 mutation types and catalog reading (either orientation, either row order)."""

from __future__ import annotations

import os
import re
from typing import Union

import numpy as np
import pandas as pd

from ..exceptions import NMFInputError

__all__ = ["SBS96_TYPES", "sbs96_types", "read_catalog", "to_catalog"]

_BASES = "ACGT"
_SUBSTITUTIONS = ("C>A", "C>G", "C>T", "T>A", "T>C", "T>G")
_NAME = re.compile(r"^([ACGT])\[([ACGT])>([ACGT])\]([ACGT])$")
_ORIENTATIONS = ("auto", "types_x_samples", "samples_x_types")


def sbs96_types(order: str = "lexicographic") -> list[str]:
    """The 96 single-base-substitution types, named ``5'[REF>ALT]3'`` (e.g. ``A[C>A]A``).

    Parameters
    ----------
    order : {"lexicographic", "substitution"}
        "lexicographic": sorted by the full name, the order of COSMIC's and SigProfiler's
        text files (``A[C>A]A, A[C>A]C, …, T[T>G]T``). "substitution": the six blocks
        C>A … T>G, 5' base outer and 3' base inner, the order of the standard SBS-96 bar
        plot and of PCAWG/GEL tables (``A[C>A]A, A[C>A]C, A[C>A]G, A[C>A]T, C[C>A]A, …``).

    Examples
    --------
    >>> from nmfkit.signatures import sbs96_types
    >>> sbs96_types()[:2], sbs96_types("substitution")[4]
    (['A[C>A]A', 'A[C>A]C'], 'C[C>A]A')
    """
    names = [f"{a}[{s}]{b}" for s in _SUBSTITUTIONS for a in _BASES for b in _BASES]
    if order == "substitution":
        return names
    if order == "lexicographic":
        return sorted(names)
    raise NMFInputError(f"order={order!r} is not known; use 'lexicographic' or 'substitution'")


#: The 96 SBS types in lexicographic (COSMIC file) order: the columns of every catalog here.
SBS96_TYPES = tuple(sbs96_types())
_KNOWN = frozenset(SBS96_TYPES)


def _is_type(name) -> bool:
    return isinstance(name, str) and name.strip().upper() in _KNOWN


def _explain(names) -> str:
    bad = [str(n) for n in names if not _is_type(n)]
    shown = ", ".join(repr(n) for n in bad[:5]) + (" ..." if len(bad) > 5 else "")
    hint = ""
    for n in bad:
        m = _NAME.match(str(n).strip().upper())
        if m and m.group(2) in "AG":
            hint = (f" ({n!r} is named by the purine strand; SBS-96 names use the pyrimidine (C or T) "
                    "of the base pair: reverse-complement it, e.g. T[G>T]C -> G[C>A]A)")
            break
    return f"{len(bad)} unknown mutation-type name(s): {shown}{hint}"


def _combine_pcawg(df: pd.DataFrame) -> pd.DataFrame:
    """PCAWG-style tables: a substitution column (``C>A``) and a trinucleotide column (``ACA``)."""
    cols = {str(c).strip().lower(): c for c in df.columns}
    sub = next((cols[c] for c in ("mutation type", "mutation_type", "substitution") if c in cols), None)
    tri = next((cols[c] for c in ("trinucleotide", "context") if c in cols), None)
    if sub is None or tri is None:
        return df
    names = [f"{t[0]}[{s}]{t[2]}" if isinstance(t, str) and len(t) == 3 else f"{t}:{s}"
             for s, t in zip(df[sub].astype(str), df[tri].astype(str))]
    return df.drop(columns=[sub, tri]).set_axis(names, axis=0)


def _read(source) -> pd.DataFrame:
    path = os.fspath(source)
    if not os.path.isfile(path):
        raise NMFInputError(f"catalog file {path!r} does not exist; pass the path of a tab- or "
                            "comma-separated SBS-96 table")
    sep = "," if path.lower().endswith((".csv", ".csv.gz")) else "\t"
    df = pd.read_csv(path, sep=sep)
    combined = _combine_pcawg(df)
    if combined is not df:
        return combined
    first = df.columns[0]
    if df[first].dtype == object:  # a label column (e.g. "MutationType" / "Type")
        return df.set_index(first)
    return df  # pandas already used the first field as the index (header one field short)


def read_catalog(source: Union[str, os.PathLike, pd.DataFrame], *,
                 orientation: str = "auto") -> pd.DataFrame:
    """Read an SBS-96 catalog and return it as **samples × mutation types** (nmfkit's orientation).

    Mutational catalogs are usually stored as 96 mutation types × samples; this is the
    one place where that is converted: the result is its transpose, one row per
    sample and the 96 columns re-indexed by name into :data:`SBS96_TYPES` order, so
    files in either row order (lexicographic or substitution-major) give the same
    matrix. Use :func:`to_catalog` for the other orientation.

    Parameters
    ----------
    source : path or DataFrame
        A tab-separated (``.csv``: comma-separated) table with the type names in its
        first column (SigProfiler/COSMIC ``MutationType``/``Type``; GEL tables whose
        header lacks that column's name), or PCAWG-style ``Mutation type`` (``C>A``) and
        ``Trinucleotide`` (``ACA``) columns; or a DataFrame with the names as its index
        or its columns.
    orientation : {"auto", "types_x_samples", "samples_x_types"}
        Which axis holds the types; "auto" finds the one whose labels are type names.

    Returns
    -------
    DataFrame, shape (n_samples, 96), float64
        Counts, index = sample names, columns = :data:`SBS96_TYPES`.

    Raises
    ------
    NMFInputError
        Unknown, duplicated or missing type names (named in the message), not exactly 96
        types, non-numeric, NaN, infinite or negative counts.

    Examples
    --------
    >>> from nmfkit.datasets import load_breast_cancer_sbs96
    >>> from nmfkit.signatures import read_catalog, sbs96_types
    >>> catalog = load_breast_cancer_sbs96().catalog          # 96 x 21
    >>> shuffled = catalog.loc[sbs96_types("substitution")]   # the other row order
    >>> X = read_catalog(shuffled)
    >>> X.shape, X.columns[1], bool((X.to_numpy() == read_catalog(catalog).to_numpy()).all())
    ((21, 96), 'A[C>A]C', True)
    """
    if orientation not in _ORIENTATIONS:
        raise NMFInputError(f"orientation={orientation!r} is not known; use one of "
                            f"{', '.join(map(repr, _ORIENTATIONS))}")
    if isinstance(source, pd.DataFrame):
        df = _combine_pcawg(source)
    elif isinstance(source, (str, os.PathLike)):
        df = _read(source)
    else:
        raise NMFInputError(f"source must be a file path or a pandas DataFrame, not {type(source).__name__}; "
                            "wrap an array as pd.DataFrame(counts, index=mutation_types)")
    if orientation == "auto":
        rows = sum(map(_is_type, df.index))
        cols = sum(map(_is_type, df.columns))
        if max(rows, cols) == 0:
            axis = "rows" if len(df.index) == 96 or len(df.columns) != 96 else "columns"
            names = df.index if axis == "rows" else df.columns
            raise NMFInputError(
                f"no SBS-96 mutation-type names found in the catalog's rows or columns ({axis}: "
                f"{_explain(names)}); label the types as 5'[REF>ALT]3', e.g. A[C>A]A"
            )
        orientation = "types_x_samples" if rows >= cols else "samples_x_types"
    X = df.T if orientation == "types_x_samples" else df
    names = [str(c).strip().upper() for c in X.columns]
    if any(not _is_type(n) for n in names):
        raise NMFInputError(f"the catalog has {_explain(X.columns)}; SBS-96 types are named "
                            "5'[REF>ALT]3' with REF C or T, e.g. A[C>A]A (see nmfkit.signatures.sbs96_types())")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise NMFInputError(f"the catalog lists {len(dup)} mutation type(s) twice: {', '.join(dup[:5])}; "
                            "sum or drop the duplicated rows")
    missing = [t for t in SBS96_TYPES if t not in set(names)]
    if missing:
        raise NMFInputError(f"the catalog has {len(names)} mutation types, not 96: missing "
                            f"{', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}; add them "
                            "(with zero counts if none were observed)")
    X = X.set_axis(names, axis=1)[list(SBS96_TYPES)]
    try:
        values = X.to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise NMFInputError(f"the catalog has non-numeric counts ({exc}); pass numbers only") from exc
    if not np.isfinite(values).all():
        raise NMFInputError(f"the catalog has {int((~np.isfinite(values)).sum())} NaN or infinite counts; "
                            "fill them (0 for unobserved types) or drop those samples")
    if (values < 0).any():
        bad = X.index[(values < 0).any(axis=1)]
        raise NMFInputError(f"the catalog has {int((values < 0).sum())} negative counts (samples "
                            f"{', '.join(map(str, bad[:5]))}); mutation counts must be >= 0")
    out = pd.DataFrame(values, index=X.index, columns=list(SBS96_TYPES))
    out.columns.name = "MutationType"
    return out


def to_catalog(X) -> pd.DataFrame:
    """Samples × types (nmfkit) back to the literature's **types × samples** orientation.

    ``X`` is a DataFrame from :func:`read_catalog` (or signatures, k × 96); the result is
    its transpose with the types as index (``MutationType``), ready for ``to_csv(sep="\\t")``.
    """
    X = read_catalog(X, orientation="samples_x_types") if isinstance(X, pd.DataFrame) else X
    if not isinstance(X, pd.DataFrame):
        raise NMFInputError("to_catalog needs a DataFrame with the 96 mutation types as columns")
    out = X.T.copy()
    out.index.name = "MutationType"
    return out
