"""Helpers of :mod:`nmfkit.models.supervised`: labels, the label term, ``B``'s start and refit.

No update rule: the refit of ``B`` runs the engine on the label term alone.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d

from ..exceptions import NMFInputError
from ..losses import Target, Term
from ..solvers import LoopOptions, nnls_codes, run_terms

__all__ = ["LABEL_BETA", "encode_labels", "data_mass", "label_target", "start_B", "refit_B"]

LABEL_BETA = {"frobenius": 2.0, "kl": 1.0}


def encode_labels(y, n_samples: int):
    """``(classes, index)``: the sorted classes of the labelled samples and each sample's
    class index, ``-1`` for an unlabelled sample (``y == -1``, NaN or None)."""
    y = column_or_1d(y, warn=True)
    if y.shape[0] != n_samples:
        raise NMFInputError(f"y has {y.shape[0]} labels but X has {n_samples} samples; pass one "
                            "label per sample (-1 or NaN for an unlabelled sample)")
    if y.dtype.kind in "fc":
        missing = np.isnan(y) | (y == -1)
    elif y.dtype.kind in "iu":
        missing = y == -1
    elif y.dtype.kind == "O":
        import pandas as pd

        missing = np.asarray(pd.isna(y), dtype=bool) | np.array([v is not None and not isinstance(
            v, str) and np.ndim(v) == 0 and v == -1 for v in y], dtype=bool)
    else:
        missing = np.zeros(y.shape[0], dtype=bool)
    if missing.all():
        raise NMFInputError("y has no labelled sample (every label is -1 or NaN); label some "
                            "samples, or use nmfkit.NMF for an unsupervised fit")
    check_classification_targets(y[~missing])
    classes, idx = np.unique(y[~missing], return_inverse=True)
    index = np.full(y.shape[0], -1, dtype=np.int64)
    index[~missing] = idx
    return classes, index


def data_mass(target: Target, beta: float) -> float:
    """``Σ M X²`` (Frobenius) or ``Σ M X`` (KL): the data's mass in its loss's units."""
    if beta == 2:
        return float(target.norm2)
    if target.sparse:
        return float(target.X.sum())
    b = target.backend
    return float(b.item(b.sum(target.MX)))


def label_target(index, n_classes: int, b, dtype):
    """The one-hot ``Y`` and its weights ``L`` (rows of unlabelled samples weight 0)."""
    n = index.shape[0]
    Y = np.zeros((n, n_classes))
    labelled = index >= 0
    Y[np.flatnonzero(labelled), index[labelled]] = 1.0
    L = np.repeat(labelled[:, None].astype(np.float64), n_classes, axis=1)
    return Target(b.from_numpy(Y, dtype=dtype), b.from_numpy(L, dtype=dtype), b)


def start_B(W0, index, n_classes: int, b, dtype):
    """``B`` from the least-squares fit of the labelled rows of ``Y`` on ``W0`` (floored > 0)."""
    W = np.asarray(b.to_numpy(W0), dtype=np.float64)[index >= 0]
    Y = np.eye(n_classes)[index[index >= 0]]
    B = np.asarray(nnls_codes(W.T, W.T @ Y)).T  # argmin_{B>=0} ‖Y − W B‖, k × c
    floor = max(B.mean(), 1e-12) * 1e-2
    return b.from_numpy(np.maximum(B, floor), dtype=dtype)


def refit_B(label_term: Term, codes, B, label_beta: float):
    """The label factor for prediction: the label term minimised over ``B`` alone, on the
    label-free codes (``transform``) of the training samples, from the joint fit's ``B``."""
    b = label_term.target.backend
    B = b.clamp_min_(B + 0, 1e-12)  # a strictly positive start (MU cannot leave zeros)
    solver = "hals" if label_beta == 2 else "mu"
    options = LoopOptions(max_iter=500, tol=1e-8, loss_every=1 if solver == "hals" else 10,
                          warn=False, desc="label factor")
    loop, _ = run_terms([label_term.unit()], {"W": codes[None], "B": B[None]}, b,
                        solver=solver, options=options, blocks=("B",))
    return b.contiguous(loop.state["B"][0])
