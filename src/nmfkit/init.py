"""Initialisation of the factors: random, NNDSVD and its variants, or user-given.

All draws are made with NumPy from ``random_state`` and moved to the backend, so a
seed gives the same start on every backend.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .backends import Backend, is_sparse
from .backends._random import check_random_state
from .exceptions import NMFInputError

__all__ = ["INIT_METHODS", "initialize"]

INIT_METHODS = ("auto", "random", "nndsvd", "nndsvda", "nndsvdar", "custom")


def _observed_mean(X_np, weights_np) -> float:
    if is_sparse(X_np):
        return float(X_np.sum()) / (X_np.shape[0] * X_np.shape[1])
    if weights_np is None:
        return float(X_np.mean())
    total = float(weights_np.sum())
    return float((weights_np * X_np).sum()) / max(total, 1.0)


def _svd(X_np, k: int, rng):
    """Leading k singular triplets (randomised for speed, exact enough for a start)."""
    from sklearn.utils.extmath import randomized_svd

    seed = int(rng.integers(0, 2**31 - 1))
    return randomized_svd(X_np, k, n_iter=4, random_state=seed)


def _nndsvd(X_np, k: int, rng, variant: str, mean: float):
    """Boutsidis & Gallopoulos (2008) NNDSVD, with the 'a' / 'ar' zero fillings."""
    U, S, Vt = _svd(X_np, k, rng)
    W = np.zeros((X_np.shape[0], k))
    H = np.zeros((k, X_np.shape[1]))
    W[:, 0] = np.sqrt(S[0]) * np.abs(U[:, 0])
    H[0, :] = np.sqrt(S[0]) * np.abs(Vt[0, :])
    for j in range(1, k):
        x, y = U[:, j], Vt[j, :]
        xp, yp = np.maximum(x, 0), np.maximum(y, 0)
        xn, yn = np.abs(np.minimum(x, 0)), np.abs(np.minimum(y, 0))
        xpn, ypn = np.linalg.norm(xp), np.linalg.norm(yp)
        xnn, ynn = np.linalg.norm(xn), np.linalg.norm(yn)
        mp, mn = xpn * ypn, xnn * ynn
        if mp > mn:
            u, v, sigma = (xp / xpn if xpn else xp), (yp / ypn if ypn else yp), mp
        else:
            u, v, sigma = (xn / xnn if xnn else xn), (yn / ynn if ynn else yn), mn
        lbd = np.sqrt(S[j] * sigma)
        W[:, j] = lbd * u
        H[j, :] = lbd * v
    eps = 1e-6
    W[W < eps] = 0
    H[H < eps] = 0
    if variant == "nndsvda":
        W[W == 0] = mean
        H[H == 0] = mean
    elif variant == "nndsvdar":
        W[W == 0] = abs(mean * rng.standard_normal(int((W == 0).sum())) / 100)
        H[H == 0] = abs(mean * rng.standard_normal(int((H == 0).sum())) / 100)
    return W, H


def _check_custom(name, M, shape, backend: Backend, dtype):
    if M is None:
        raise NMFInputError(
            f"init='custom' needs both W and H; {name} is missing: pass {name}= with shape {shape}"
        )
    M = backend.asarray(M, dtype=dtype) if backend.name != "numpy" else np.array(M, dtype=dtype)
    if tuple(M.shape) != tuple(shape):
        raise NMFInputError(
            f"the initial {name} has shape {tuple(M.shape)} but must be {tuple(shape)} "
            "(n_samples x k for W, k x n_features for H)"
        )
    M_np = backend.to_numpy(M)
    if not np.all(np.isfinite(M_np)):
        raise NMFInputError(f"the initial {name} has NaN or inf entries; pass finite values")
    if (M_np < 0).any():
        raise NMFInputError(
            f"the initial {name} has {(M_np < 0).sum()} negative entries; NMF factors must be >= 0"
        )
    return M


def initialize(X_np, k: int, init: str, *, backend: Backend, dtype, weights_np=None,
               random_state=None, W=None, H=None):
    """Starting factors ``(W, H)`` for ``X ≈ W H``.

    Parameters
    ----------
    X_np : ndarray or scipy.sparse, shape (n_samples, n_features)
        The data on the CPU (unobserved entries 0), used for scale and the SVD.
    k : int
    init : {"auto", "random", "nndsvd", "nndsvda", "nndsvdar", "custom"}
        ``"auto"`` is ``"nndsvda"``. ``"random"`` draws ``|N(0,1)| * sqrt(mean(X) / k)``;
        ``"nndsvd"`` (sparse start, best for HALS), ``"nndsvda"`` (zeros filled with the
        mean of X, good for every solver), ``"nndsvdar"`` (zeros filled with small random
        values). ``"custom"`` uses ``W`` and ``H``.
    backend : Backend
        Where the returned factors live.
    dtype : dtype of the backend arrays.
    weights_np : ndarray or None
        Element weights (0 = missing), used for the mean.
    random_state : int, Generator or None

    Returns
    -------
    W, H : backend arrays of shapes (n_samples, k) and (k, n_features)
    """
    n, m = X_np.shape
    if init == "custom" or (init in (None, "auto") and W is not None and H is not None):
        return (_check_custom("W", W, (n, k), backend, dtype),
                _check_custom("H", H, (k, m), backend, dtype))
    if W is not None or H is not None:
        raise NMFInputError(
            f"W / H were given but init={init!r}; pass init='custom' to start from them"
        )
    rng = check_random_state(random_state)
    mean = _observed_mean(X_np, weights_np)
    if init in (None, "auto"):
        init = "nndsvda"
    if init == "random":
        avg = np.sqrt(mean / k)
        H0 = avg * np.abs(rng.standard_normal((k, m)))
        W0 = avg * np.abs(rng.standard_normal((n, k)))
    elif init in ("nndsvd", "nndsvda", "nndsvdar"):
        Xs = X_np
        if weights_np is not None and not is_sparse(X_np):
            # unobserved entries take the observed mean so they do not pull the SVD to 0
            Xs = np.where(weights_np > 0, X_np, mean)
        if is_sparse(Xs):
            Xs = sp.csr_matrix(Xs, dtype=np.float64)
        else:
            Xs = np.asarray(Xs, dtype=np.float64)
        W0, H0 = _nndsvd(Xs, k, rng, init, mean)
    else:
        raise NMFInputError(
            f"init={init!r} is not known; use one of {', '.join(repr(i) for i in INIT_METHODS)}"
        )
    return backend.from_numpy(W0, dtype=dtype), backend.from_numpy(H0, dtype=dtype)
