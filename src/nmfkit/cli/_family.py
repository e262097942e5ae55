"""``nmfkit fit --model M``: the NMF family through one command.

Every model is called through its function form (which returns an ``NMFResult`` or a
subclass), so ``fit`` writes the same folder for all of them (``W.tsv``, ``H.tsv``,
``result.npz``, ``summary.json``, figures) plus ``labels.tsv`` for the clustering
models. Model-specific parameters come from ``--set NAME=VALUE`` (repeatable; values are
Python literals, ``10,5`` is a tuple); a per-sample vector (JointNMF's data-set labels,
SupervisedNMF's class labels, with empty / NA for unlabelled) from ``--sample-labels FILE``.
"""

from __future__ import annotations

import ast
import importlib

import numpy as np

from ..exceptions import NMFInputError

__all__ = ["MODELS", "parse_set", "fit_model", "read_sample_labels", "labels_of"]

#: model name -> (module, function, how -k is passed, uses --sample-labels as)
MODELS = {
    "sparse": ("nmfkit.models.sparse", "sparse_nmf", "n_components", None),
    "symmetric": ("nmfkit.models.symmetric", "symmetric_nmf", "n_components", None),
    "tri": ("nmfkit.models.tri", "tri_nmf", "n_row_clusters", None),
    "archetypal": ("nmfkit.models.archetypal", "archetypal_analysis", "n_archetypes", None),
    "deep": ("nmfkit.models.deep", "deep_nmf", "layer_sizes", None),
    "joint": ("nmfkit.models.joint", "joint_nmf", "n_components", "batch"),
    "supervised": ("nmfkit.models.supervised", "supervised_nmf", "n_components", "y"),
}
#: models whose function takes ``loss=``
_TAKES_LOSS = {"deep", "supervised"}


def parse_set(text: str):
    """argparse type: ``NAME=VALUE`` with VALUE a Python literal (else a string)."""
    import argparse

    name, sep, value = text.partition("=")
    if not sep or not name.strip().isidentifier():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, e.g. lam=5 or layer_sizes=10,5; got {text!r}")
    try:
        parsed = ast.literal_eval(value.strip())
    except (ValueError, SyntaxError):
        parsed = value.strip()
    return name.strip(), parsed


def read_sample_labels(path, n_rows: int, row_names):
    """One label per sample from a text/TSV file: a single column, or two (name, label)
    matched to the input's row names; empty / NA / -1 mean unlabelled."""
    import pandas as pd

    with open(path, encoding="utf-8") as handle:
        lines = [line.rstrip("\r\n") for line in handle if line.strip()]
    sep = "\t" if any("\t" in line for line in lines) else ("," if any("," in line for line in lines)
                                                             else None)
    rows = [line.split(sep) if sep else [line] for line in lines]
    df = pd.DataFrame(rows, dtype=str)
    names = [str(n) for n in row_names] if row_names is not None else None
    if df.shape[1] >= 2 and names is not None and set(names) <= set(df.iloc[:, 0]):
        labels = df.set_index(0).iloc[:, -1].reindex(names)
    else:
        labels = df.iloc[:, -1]
        if len(labels) == n_rows + 1:  # a header line
            labels = labels.iloc[1:]
    if len(labels) != n_rows:
        raise NMFInputError(f"--sample-labels {path}: {len(labels)} labels for {n_rows} samples; give "
                            "one label per input row (or two columns: row name, label)")
    values = labels.to_numpy(dtype=object)
    missing = np.isin(values, ["", "NA", "NaN", "nan", "-1"])
    return values, missing


def fit_model(name: str, X, k: int, *, common: dict, settings: dict, sample_labels=None):
    """Call model ``name``'s function form; returns its result."""
    if name not in MODELS:
        raise NMFInputError(f"--model {name!r} is not known; use nmf or one of {', '.join(MODELS)}")
    module, func, k_arg, labels_as = MODELS[name]
    try:
        fn = getattr(importlib.import_module(module), func)
    except (ImportError, AttributeError) as err:
        raise NMFInputError(f"--model {name} is not available in this version ({err})") from err
    kw = {key: v for key, v in common.items() if v is not None}
    if name not in _TAKES_LOSS:
        loss = kw.pop("loss", "frobenius")
        if loss not in ("frobenius", 2, 2.0):
            raise NMFInputError(f"--model {name} fits the Frobenius loss only; drop --loss")
    kw.update(settings)
    if labels_as is not None:
        if sample_labels is None:
            raise NMFInputError(f"--model {name} needs --sample-labels FILE "
                                f"({'the data set of each sample' if labels_as == 'batch' else 'class labels, empty for unlabelled'})")
        values, missing = sample_labels
        if labels_as == "y":
            values = values.copy()
            values[missing] = None
        elif missing.any():
            raise NMFInputError("--model joint needs a data-set label for every sample")
        kw[labels_as] = values
    if k_arg == "layer_sizes":
        kw.setdefault("layer_sizes", (k,))
        return fn(X, **kw)
    kw[k_arg] = k
    return fn(X, **kw)


def labels_of(result):
    """Cluster labels a result carries (rows and, for co-clustering, columns), else None."""
    rows = getattr(result, "row_labels", None)
    if rows is None:
        rows = result.info.get("labels") if isinstance(getattr(result, "info", None), dict) else None
    return rows, getattr(result, "column_labels", None)
