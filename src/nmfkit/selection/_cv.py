r"""Cross-validation of the rank: speckled (masked) hold-out and bi-cross-validation.

Both score a rank k by the mean β-divergence of entries the fit never saw,

.. math::
    \mathrm{CV}(k) = \frac{1}{|T|} \sum_{(i,j) \in T} d_\beta\big(X_{ij} \mid \hat X^{(k)}_{ij}\big),

with the divergence of the fit's own loss (any β), so the score speaks the model's
language (squared error for Frobenius, Poisson deviance / 2 for KL). For the negative
binomial (``loss="nb"``, speckled only) the score is the **negative NB log-likelihood**
per held-out entry, ``−log NB(x_ij; (WH)_ij, α_i)`` with the α the training fit
estimated: the NB divergence's α differs between ranks, the likelihood does not depend
on how α is parametrised, so ranks stay comparable.

**Speckled** (Wold 1978; RcppML's ``test_fraction``): every observed entry is held out
independently with probability ``fraction``; NMF is fitted to the rest with those
entries masked (element weight 0, the missing-value support of :func:`nmfkit.nmf`)
and :math:`\hat X = W H` predicts them. Too small a k misses structure; too large a k
fits the noise of the training entries and predicts the held-out ones worse.

**Bi-cross-validation** (Owen & Perry 2009, for NMF as in cvanmf): rows and columns
are split into groups; for each pair (row group I, column group J) the block
:math:`A = X_{IJ}` is held out of

.. math::
    X = \begin{pmatrix} A & B \\ C & D \end{pmatrix},

NMF is fitted to :math:`D \approx W_D H_D`, the held-out rows and columns are folded
in with the other factor fixed, :math:`W_A = \arg\min_{W \ge 0} D_\beta(B \mid W H_D)`,
:math:`H_A = \arg\min_{H \ge 0} D_\beta(C \mid W_D H)`, and :math:`\hat A = W_A H_A`.
Every entry is held out once per repeat (implemented in :mod:`nmfkit.selection._bicv`).

The same held-out entries serve every k, so two ranks can be compared entry by entry:
:func:`one_se_rule` picks the smallest k whose error is within one standard error of
the minimum, the standard error being that of the paired per-entry differences.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from .._validation import check_data, check_nonneg_float, check_positive_int
from ..backends import get_namespace, is_sparse, to_numpy
from ..backends._random import check_random_state
from ..exceptions import ConvergenceWarning, NMFInputError
from ..losses import as_loss, elementwise_divergence, loss_to_beta, nb_loglik_entries, resolve_loss
from ._cv_result import CVResult, one_se_rule

__all__ = ["CVResult", "heldout_divergence", "one_se_rule", "speckled_cv", "speckled_mask"]

_NP = get_namespace()


def check_ks(ks, shape, name: str = "ks") -> tuple:
    """Candidate ranks: positive ints, no duplicates, each <= min(shape); sorted."""
    if isinstance(ks, (int, np.integer)) and not isinstance(ks, bool):
        ks = [ks]
    try:
        ks = list(ks)
    except TypeError:
        raise NMFInputError(f"{name}={ks!r} must be a list of ranks, e.g. {name}=range(2, 11)") from None
    if not ks:
        raise NMFInputError(f"{name} is empty; pass at least one rank, e.g. {name}=range(2, 11)")
    bad = [k for k in ks if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1]
    if bad:
        raise NMFInputError(
            f"{name} must hold positive integers (ranks); got {bad[:5]!r}: pass e.g. "
            f"{name}=range(2, 11)"
        )
    limit = min(shape)
    big = sorted(int(k) for k in ks if k > limit)
    if big:
        shown = str(big) if len(big) <= 5 else f"[{big[0]}, ..., {big[-1]}] ({len(big)} ranks)"
        raise NMFInputError(
            f"{name} has ranks {shown} larger than min(n_samples, n_features) = {limit} of X with "
            f"shape {tuple(shape)}; pass ranks <= {limit}"
        )
    if len(set(int(k) for k in ks)) != len(ks):
        raise NMFInputError(f"{name}={ks!r} repeats a rank; pass each rank once")
    return tuple(sorted(int(k) for k in ks))


def _check_fraction(fraction, name: str = "fraction"):
    if isinstance(fraction, bool) or not isinstance(fraction, (float, int, np.floating)) or not 0 < fraction < 1:
        raise NMFInputError(f"{name}={fraction!r} must be a number in (0, 1), e.g. 0.1 (10% held out)")
    return float(fraction)


def _host_dense(X):
    """Validated data as a dense float NumPy array (NaN = missing) and its observed mask."""
    data = check_data(X, allow_nan=True)
    vals = data.values
    if is_sparse(vals):
        vals = vals.toarray()
    vals = np.asarray(to_numpy(vals))
    return vals, ~np.isnan(vals)


def _check_beta_zeros(X, observed, beta):
    if beta <= 0:
        n0 = int(((X == 0) & observed).sum())
        if n0:
            raise NMFInputError(
                f"X has {n0} zero entries but loss beta={beta:g} <= 0 (Itakura-Saito) is undefined "
                "at X = 0; add a small offset, mark them missing (NaN), or use loss='kl'"
            )


def speckled_mask(shape, fraction: float = 0.1, *, observed=None, random_state=None) -> np.ndarray:
    """A random "speckled" hold-out set: each observed entry is held out with probability ``fraction``.

    Parameters
    ----------
    shape : tuple of int
        ``X.shape``.
    fraction : float in (0, 1)
    observed : bool array of that shape, optional
        Entries that may be held out (default all; pass ``~np.isnan(X)``).
    random_state : int, Generator or None

    Returns
    -------
    ndarray of bool
        True for a held-out entry.

    Examples
    --------
    >>> from nmfkit.selection import speckled_mask
    >>> m = speckled_mask((100, 50), 0.2, random_state=0)
    >>> m.shape, round(float(m.mean()), 1)
    ((100, 50), 0.2)
    """
    fraction = _check_fraction(fraction)
    rng = check_random_state(random_state)
    test = rng.random(tuple(shape)) < fraction
    if observed is not None:
        test &= np.asarray(observed, dtype=bool)
    return test


def heldout_divergence(X, W, H, test, loss="frobenius", *, reduce: bool = True):
    r"""Divergence of the held-out entries: :math:`\frac1{|T|}\sum_{(i,j)\in T} d_\beta(X_{ij} \mid (WH)_{ij})`.

    Parameters
    ----------
    X : array-like, shape (n, m)
    W, H : arrays, shapes (n, k) and (k, m)
    test : bool array, shape (n, m)
        The held-out entries T.
    loss : {"frobenius", "kl", "is"} or float
    reduce : bool
        Return the mean (default) or the per-entry values (in row-major order of T).

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit.selection import heldout_divergence
    >>> X = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> W, H = np.eye(2), np.array([[1.0, 2.0], [3.0, 5.0]])
    >>> heldout_divergence(X, W, H, np.array([[False, False], [False, True]]))
    0.5
    """
    beta = loss_to_beta(loss)
    X = to_numpy(X)
    if is_sparse(X):
        X = X.toarray()
    X = np.asarray(X, dtype=np.float64)
    test = np.asarray(test, dtype=bool)
    if test.shape != X.shape:
        raise NMFInputError(f"test has shape {test.shape} but X has {X.shape}; pass one flag per entry")
    d = _entry_losses(X, np.asarray(to_numpy(W), float), np.asarray(to_numpy(H), float),
                      np.nonzero(test), beta)
    return float(d.mean()) if reduce else d


def _entry_losses(X, W, H, idx, beta, alpha=None):
    """Per-entry held-out loss: ``d_β`` for a β, ``−log NB`` (α per row or one) for "nb"."""
    rows, cols = idx
    y = np.einsum("ik,ik->i", W[rows], H.T[cols])
    loss = as_loss(beta)
    if loss.nb:
        a = alpha if np.ndim(alpha) == 0 else np.asarray(alpha, dtype=np.float64)[rows]
        return -nb_loglik_entries(X[rows, cols], y, a)
    return np.asarray(elementwise_divergence(X[rows, cols], y, loss.beta, _NP), dtype=np.float64)


def _quiet_fit(X, k, **kw):
    from ..models.nmf import nmf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return nmf(X, k, **kw)


def _check_observed_lines(observed) -> None:
    """Rows or columns of X with no observed entry cannot be cross-validated."""
    rows, cols = np.flatnonzero(~observed.any(axis=1)), np.flatnonzero(~observed.any(axis=0))
    if rows.size or cols.size:
        what = " and ".join(f"{len(v)} {w}(s) {v[:5].tolist()}{' ...' if len(v) > 5 else ''}"
                            for v, w in ((rows, "row"), (cols, "column")) if len(v))
        raise NMFInputError(
            f"X has {what} with no observed entry (all NaN); cross-validation has nothing to hold "
            "out or predict there: drop them, e.g. X[~np.isnan(X).all(axis=1)] (rows) or "
            "X[:, ~np.isnan(X).all(axis=0)] (columns)"
        )


class _Speckled:
    """Held-out masks drawn once, evaluated for any k."""

    method = "speckled"

    def __init__(self, X, loss, fraction, n_repeats, rng, name: str = "fraction"):
        self.X, observed = _host_dense(X)
        self.loss = as_loss(loss)
        self.beta = self.loss.beta
        _check_beta_zeros(self.X, observed, self.beta)
        _check_observed_lines(observed)
        self.tests = [speckled_mask(self.X.shape, fraction, observed=observed, random_state=rng)
                      for _ in range(n_repeats)]
        n_obs = int(observed.sum())
        for t in self.tests:
            train = observed & ~t
            if not t.any():
                raise NMFInputError(
                    f"{name}={fraction:g} held out none of the {n_obs} observed entries of X (shape "
                    f"{self.X.shape}): X is too small for speckled cross-validation at this "
                    f"fraction; raise {name} (e.g. {name}={min(0.5, max(2 * fraction, 3 / n_obs)):.2g}) "
                    "or pass more data"
                )
            if not (train.any(axis=0).all() and train.any(axis=1).all()):
                raise NMFInputError(
                    f"{name}={fraction:g} held out every observed entry of some row or column of X "
                    f"(shape {self.X.shape}); lower {name} (e.g. {name}={fraction / 2:.2g}) or drop "
                    "rows/columns with few observed entries"
                )
        self.params = {"fraction": fraction, "n_repeats": n_repeats}

    def max_rank(self):
        return min(self.X.shape)

    def evaluate(self, k, *, fit_kw, seed, max_time=None):
        losses, train, conv = [], [], 0
        per = None if max_time is None else max_time / len(self.tests)
        for t in self.tests:
            res = _quiet_fit(self.X, k, mask=(~t).astype(self.X.dtype), random_state=seed,
                             max_time=per, **fit_kw)
            W, H = np.asarray(to_numpy(res.W), float), np.asarray(to_numpy(res.H), float)
            alpha = res.info.get("dispersion")
            losses.append(_entry_losses(self.X, W, H, np.nonzero(t), self.loss, alpha))
            fitted = ~t & ~np.isnan(self.X)
            if self.loss.nb:  # the training error in the held-out error's units
                train.append(float(_entry_losses(self.X, W, H, np.nonzero(fitted), self.loss,
                                                 alpha).mean()))
            else:
                train.append(res.info["divergence"] / float(fitted.sum()))
            conv += bool(res.converged)
        return np.concatenate(losses), float(np.mean(train)), conv, len(self.tests)


def cv_fit_defaults(beta: float, max_iter=None, tol=None):
    """``(max_iter, tol)`` of a CV fit: (200, 1e-4) for Frobenius (HALS), (500, 1e-5) otherwise.

    Multiplicative updates (every β but 2) converge slowly; stopped at the looser
    setting, a rank's masked fit can stop far enough from its optimum to be misranked.
    """
    hals = beta == 2
    max_iter = (200 if hals else 500) if max_iter is None else max_iter
    tol = (1e-4 if hals else 1e-5) if tol is None else tol
    return check_positive_int(max_iter, "max_iter"), check_nonneg_float(tol, "tol")


def _fit_kw(loss, init, max_iter, tol, verbose):
    """Keyword arguments of :func:`nmfkit.nmf` for the CV fits of ``loss`` (a LossSpec or β)."""
    loss = as_loss(loss)
    max_iter, tol = cv_fit_defaults(loss.beta, max_iter, tol)
    return dict(**loss.arguments(), init=init, max_iter=max_iter, tol=tol, loss_every=10,
                verbose=verbose)


def _run(plan, ks, fit_kw, rng, max_time):
    big = [k for k in ks if k > plan.max_rank()]
    if big:
        raise NMFInputError(
            f"ks {big} exceed the largest rank the {plan.method} training blocks allow "
            f"({plan.max_rank()}); pass smaller ranks or fewer splits"
        )
    seed = int(rng.integers(2**31 - 1))
    start = time.perf_counter()
    err, se, tr, el, entries = [], [], [], [], {}
    for i, k in enumerate(ks):
        t0 = time.perf_counter()
        left = None if max_time is None else max(max_time - (t0 - start), 0.0) / (len(ks) - i)
        d, train, _, _ = plan.evaluate(k, fit_kw=fit_kw, seed=seed, max_time=left)
        entries[k] = d
        err.append(d.mean())
        se.append(d.std(ddof=1) / np.sqrt(d.size) if d.size > 1 else np.nan)
        tr.append(train)
        el.append(time.perf_counter() - t0)
    return CVResult(plan.method, tuple(ks), np.array(err), np.array(se), np.array(tr), entries,
                    np.array(el), dict(plan.params))


def speckled_cv(X, ks, *, loss="frobenius", fraction: float = 0.1, n_repeats: int = 1,
                init: str = "nndsvda", max_iter: int | None = None, tol: float | None = None,
                max_time: float | None = None, random_state=None, verbose: int = 0,
                dispersion="per_sample") -> CVResult:
    r"""Speckled (masked) cross-validation error of each rank in ``ks``.

    For each of ``n_repeats`` random hold-out sets T (each observed entry with
    probability ``fraction``, the same sets for every k), fits

    .. math:: \min_{W, H \ge 0} \sum_{(i,j) \notin T} d_\beta(X_{ij} \mid (WH)_{ij})

    and reports :math:`\frac1{|T|} \sum_{(i,j) \in T} d_\beta(X_{ij} \mid (WH)_{ij})`.

    Parameters
    ----------
    X : array-like, DataFrame or scipy.sparse, shape (n_samples, n_features)
        Non-negative data; NaN entries are missing (never held out, never fitted).
        Sparse X is densified (the mask weights every entry).
    ks : int or sequence of int
        Candidate ranks.
    loss : {"frobenius", "kl", "is", "nb"} or float
        The β-divergence fitted and scored; or "nb": negative-binomial fits scored by the
        negative NB log-likelihood per held-out entry (module docstring).
    fraction : float in (0, 1)
        Share of entries held out.
    n_repeats : int
        Independent hold-out sets (their entries are pooled).
    init, max_iter, tol
        Of each masked fit (:func:`nmfkit.nmf`, loss checked every 10 iterations);
        the default "nndsvda" start is deterministic, so one fit per k and repeat is
        enough. ``max_iter`` / ``tol`` default to 200 / 1e-4 for Frobenius (HALS) and
        500 / 1e-5 for other losses (multiplicative updates converge more slowly).
    max_time : float, optional
        Budget in seconds for all fits.
    random_state : int, Generator or None
    verbose : int
    dispersion : {"per_sample", "global"}, float or array
        The NB α with ``loss="nb"`` (as in :func:`nmfkit.nmf`).

    Returns
    -------
    CVResult

    Examples
    --------
    >>> import nmfkit
    >>> from nmfkit.selection import speckled_cv
    >>> X = nmfkit.datasets.make_low_rank(100, 60, 3, noise=0.2, random_state=0).X
    >>> cv = speckled_cv(X, [2, 3, 4, 5], random_state=0)
    >>> cv.best_k
    3
    """
    loss = resolve_loss(loss, dispersion)
    rng = check_random_state(random_state)
    plan = _Speckled(X, loss, _check_fraction(fraction), check_positive_int(n_repeats, "n_repeats"), rng)
    ks = check_ks(ks, plan.X.shape)
    return _run(plan, ks, _fit_kw(loss, init, max_iter, tol, verbose), rng, max_time)
