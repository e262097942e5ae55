"""Initialisation of the factors: random, NNDSVD and its variants, or user-given.

All draws are made with NumPy from ``random_state`` and moved to the backend, so a
seed gives the same draws on every backend. The data never leaves its device: for a
torch, CuPy or other array-API input the mean and the NNDSVD's randomised SVD are
computed in the array's own namespace (``_nndsvd_device``); only the small
``k × (n + m)`` draws travel to the device.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .backends import Backend, is_device_array, is_sparse
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
    b = backend
    M = b.asarray(M, dtype=dtype) if b.name != "numpy" else np.array(M, dtype=dtype)
    if tuple(M.shape) != tuple(shape):
        raise NMFInputError(
            f"the initial {name} has shape {tuple(M.shape)} but must be {tuple(shape)} "
            "(n_samples x k for W, k x n_features for H)"
        )
    if not bool(b.all(b.isfinite(M))):
        raise NMFInputError(f"the initial {name} has NaN or inf entries; pass finite values")
    n_neg = int(b.item(b.sum(M < 0)))
    if n_neg:
        raise NMFInputError(
            f"the initial {name} has {n_neg} negative entries; NMF factors must be >= 0"
        )
    if not b.item(b.sum(M)) > 0:
        raise NMFInputError(
            f"the initial {name} is all zeros: no update can leave a zero factor (W H = 0 stays "
            f"0); pass a start with positive entries, or init='nndsvda' / 'random'"
        )
    return M


def _mean_device(X, weights, b: Backend) -> float:
    if weights is None:
        return b.item(b.sum(X)) / max(b.size(X), 1)
    return b.item(b.sum(weights * X)) / max(b.item(b.sum(weights)), 1.0)


def _svd_device(X, k: int, rng, b: Backend):
    """Leading k singular triplets of a device array, computed on its device.

    scikit-learn's ``randomized_svd(X, k, n_iter=4, random_state=seed)`` with the same
    seed and the same Gaussian test matrix (drawn in NumPy), but QR instead of LU
    normalisation between power iterations (the array API has no LU): the same
    subspace, so the same factors up to round-off.
    """
    seed = int(rng.integers(0, 2**31 - 1))
    n, m = X.shape
    transpose = n < m
    A = b.mT(X) if transpose else X
    Q = np.random.RandomState(seed).normal(size=(A.shape[1], k + 10))
    Q = b.from_numpy(Q, dtype=X.dtype)
    At = b.mT(A)
    for _ in range(4):
        Q = b.qr(A @ Q)[0]
        Q = b.qr(At @ Q)[0]
    Q = b.qr(A @ Q)[0]
    Uh, S, Vt = b.svd(b.mT(Q) @ A)
    U = Q @ Uh
    if transpose:
        return b.mT(Vt[:k, :]), S[:k], b.mT(U[:, :k])
    return U[:, :k], S[:k], Vt[:k, :]


def _fill_device(M, value_draws, b: Backend):
    """``M[M == 0] = value_draws(count)`` on the device, in NumPy's (C) fill order."""
    zero = M == 0
    count = int(b.item(b.sum(zero)))
    if not count:
        return M
    vals = b.from_numpy(value_draws(count), dtype=M.dtype)
    pos = b.clamp_min(b.cumsum(b.reshape(zero, (-1,))) - 1, 0)
    return b.where(zero, b.reshape(b.take(vals, pos), M.shape), M)


def _nndsvd_device(X, k: int, rng, variant: str, mean: float, b: Backend):
    """:func:`_nndsvd` with the backend's operations, all components at once."""
    U, S, Vt = _svd_device(X, k, rng, b)
    xp, xn = b.clamp_min(U, 0.0), b.clamp_min(-U, 0.0)
    yp, yn = b.clamp_min(Vt, 0.0), b.clamp_min(-Vt, 0.0)
    norm = lambda a, axis: b.sqrt(b.sum(a * a, axis=axis))  # noqa: E731
    xpn, xnn, ypn, ynn = norm(xp, 0), norm(xn, 0), norm(yp, 1), norm(yn, 1)
    mp, mn = xpn * ypn, xnn * ynn
    pos = mp > mn
    safe = lambda d: b.where(d > 0, d, 1.0)  # noqa: E731
    u = b.where(pos[None, :], xp / safe(xpn)[None, :], xn / safe(xnn)[None, :])
    v = b.where(pos[:, None], yp / safe(ypn)[:, None], yn / safe(ynn)[:, None])
    lbd = b.sqrt(S * b.where(pos, mp, mn))
    first = b.arange(k) == 0  # the leading pair is taken in absolute value
    root = b.sqrt(S)
    W = b.where(first[None, :], root[None, :] * b.abs(U), u * lbd[None, :])
    H = b.where(first[:, None], root[:, None] * b.abs(Vt), v * lbd[:, None])
    W = b.where(W < 1e-6, 0.0, W)
    H = b.where(H < 1e-6, 0.0, H)
    if variant == "nndsvda":
        W, H = b.where(W == 0, mean, W), b.where(H == 0, mean, H)
    elif variant == "nndsvdar":
        draw = lambda c: np.abs(mean * rng.standard_normal(c) / 100)  # noqa: E731
        W = _fill_device(W, draw, b)
        H = _fill_device(H, draw, b)
    return W, H


def initialize(X, k: int, init: str, *, backend: Backend, dtype, weights=None,
               random_state=None, W=None, H=None, weights_np=None):
    """Starting factors ``(W, H)`` for ``X ≈ W H``.

    Parameters
    ----------
    X : array or scipy.sparse, shape (n_samples, n_features)
        The data (unobserved entries 0), used for scale and the SVD: a NumPy array or
        scipy.sparse matrix, or an array of ``backend`` (torch, CuPy, ...), which is
        then read on its own device and never copied to the host.
    k : int
    init : {"auto", "random", "nndsvd", "nndsvda", "nndsvdar", "custom"}
        ``"auto"`` is ``"nndsvda"``. ``"random"`` draws ``|N(0,1)| * sqrt(mean(X) / k)``;
        ``"nndsvd"`` (sparse start, best for HALS), ``"nndsvda"`` (zeros filled with the
        mean of X, good for every solver), ``"nndsvdar"`` (zeros filled with small random
        values). ``"custom"`` uses ``W`` and ``H``.
    backend : Backend
        Where the returned factors live.
    dtype : dtype of the backend arrays.
    weights : array or None
        Element weights (0 = missing) of the same kind as ``X``, used for the mean and
        to fill unobserved entries before the SVD. ``weights_np`` is an alias.
    random_state : int, Generator or None

    Returns
    -------
    W, H : backend arrays of shapes (n_samples, k) and (k, n_features)

    Notes
    -----
    The random draws are the same on every backend for one seed. NNDSVD on a device
    array uses a QR-normalised randomised SVD instead of scikit-learn's LU-normalised
    one: the same start up to round-off.

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit.backends import get_namespace
    >>> X = np.arange(12.0).reshape(4, 3)
    >>> W, H = initialize(X, 2, "random", backend=get_namespace(X), dtype=X.dtype,
    ...                   random_state=0)
    >>> W.shape, H.shape
    ((4, 2), (2, 3))
    """
    if weights is None:
        weights = weights_np
    n, m = X.shape
    if init == "custom" or (init in (None, "auto") and W is not None and H is not None):
        return (_check_custom("W", W, (n, k), backend, dtype),
                _check_custom("H", H, (k, m), backend, dtype))
    if W is not None or H is not None:
        raise NMFInputError(
            f"W / H were given but init={init!r}; pass init='custom' to start from them"
        )
    if init in (None, "auto"):
        init = "nndsvda"
    if init not in INIT_METHODS:
        raise NMFInputError(
            f"init={init!r} is not known; use one of {', '.join(repr(i) for i in INIT_METHODS)}"
        )
    rng = check_random_state(random_state)
    on_device = is_device_array(X)
    mean = _mean_device(X, weights, backend) if on_device else _observed_mean(X, weights)
    if init == "random":
        avg = np.sqrt(mean / k)
        H0 = avg * np.abs(rng.standard_normal((k, m)))
        W0 = avg * np.abs(rng.standard_normal((n, k)))
    elif on_device:
        b = backend
        Xs = X if weights is None else b.where(weights > 0, X, mean)
        W0, H0 = _nndsvd_device(b.astype(Xs, "float64"), k, rng, init, mean, b)
        return b.astype(W0, dtype), b.astype(H0, dtype)
    else:
        Xs = X
        if weights is not None and not is_sparse(X):
            # unobserved entries take the observed mean so they do not pull the SVD to 0
            Xs = np.where(weights > 0, X, mean)
        if is_sparse(Xs):
            Xs = sp.csr_matrix(Xs, dtype=np.float64)
        else:
            Xs = np.asarray(Xs, dtype=np.float64)
        W0, H0 = _nndsvd(Xs, k, rng, init, mean)
    return backend.from_numpy(W0, dtype=dtype), backend.from_numpy(H0, dtype=dtype)
