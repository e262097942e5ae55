r"""Refitting catalogs on known signatures: which signatures are active, with how many mutations.

Three methods (see :func:`assign`):

* ``"nnls"``: plain NNLS on every signature (every signature that lowers the squared
  error gets mutations, so many small false positives on real data);
* ``"add_remove"``: SigProfilerAssignment's greedy search on the relative L2 error
  ``‖x − h S‖ / ‖x‖``: forward-add the signature (or connected group) that lowers it the
  most while the drop exceeds ``add_penalty``, backward-remove while the rise stays below
  ``remove_penalty``, background signatures always kept;
* ``"likelihood"``: MuSiCal's bidirectional sparse refit: start from the NNLS support,
  remove / add signatures while the multinomial log-likelihood per mutation
  :math:`\frac1n\sum_f x_f\log q_f` (``q`` the fitted profile) changes by less / more than
  ``threshold``, then refit the exposures of the selected set by KL (Poisson) updates.

The search (:func:`_search`) is one function for both selective methods and for
:func:`nmfkit.signatures.decompose`. Every candidate move of every sample is one small
NNLS problem; they are solved in batches (stacked least-squares solves grouped by set
size, exact whenever the solution is non-negative or the current fit satisfies the KKT
conditions; scipy's ``nnls`` for the few others), so bootstrap replicates cost no Python
loop per sample.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import nnls as _scipy_nnls

from ..backends._random import check_random_state
from ..exceptions import NMFInputError
from ..solvers import nnls_codes
from ._refit import _inputs

__all__ = ["assign", "AssignmentResult", "DEFAULT_CONNECTED"]

#: Signatures that SigProfilerAssignment adds and removes together.
DEFAULT_CONNECTED = (("SBS2", "SBS13"), ("SBS7a", "SBS7b", "SBS7c", "SBS7d"),
                     ("SBS10a", "SBS10b"), ("SBS17a", "SBS17b"))
METHODS = ("nnls", "add_remove", "likelihood")
_PROBLEMS = 4096  # candidate problems per batch
_EPS = 1e-12


class _Fit:
    """The fixed data of a search: vectors ``X`` (m × p), signatures ``S`` (k × p), products."""

    def __init__(self, X, S):
        self.X, self.S = X, S
        self.gram = S @ S.T
        self.R = X @ S.T
        self.xx = np.einsum("ij,ij->i", X, X)
        self.n = X.sum(axis=1)


def _padded(masks):
    """Each row's selected indices, padded to the largest set: ``(idx, live)``, both B × s."""
    sizes = masks.sum(axis=1)
    r, c = np.nonzero(masks)
    pos = np.arange(r.size) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    idx = np.zeros((masks.shape[0], max(int(sizes.max(initial=0)), 1)), dtype=np.intp)
    live = np.zeros(idx.shape, dtype=bool)
    idx[r, pos] = c
    live[r, pos] = True
    return idx, live


def _scatter(H, idx, live, values):
    """``H[b, idx[b, s]] = values[b, s]`` for the live (non-padding) slots."""
    b, s = np.nonzero(live)
    H[b, idx[b, s]] = values[b, s]


def _least_squares(fit, rows, masks):
    """Unconstrained least squares on each mask, as one stacked solve (padded sets)."""
    idx, live = _padded(masks)
    G = fit.gram[idx[:, :, None], idx[:, None, :]] * (live[:, :, None] & live[:, None, :])
    G += np.eye(idx.shape[1]) * np.where(live, 1e-12 * fit.gram.trace(), 1.0)[:, None, :]
    rhs = fit.R[rows[:, None], idx] * live
    H = np.zeros(masks.shape)
    _scatter(H, idx, live, np.linalg.solve(G, rhs[:, :, None])[:, :, 0])
    return H


def _gradient(fit, rows, H, support):
    """``S x − G h`` (the negative NNLS gradient), summing over each row's ``support`` only."""
    idx, live = _padded(support)
    h = np.take_along_axis(H, idx, axis=1) * live
    return fit.R[rows] - np.einsum("bs,bsk->bk", h, fit.gram[idx])


def _one_change(fit, rows, masks, warm, j, grow):
    """NNLS after adding (``grow``) or removing signature ``j[p]`` from an optimal fit ``warm``.

    Rank-one update of the inverse Gram of each vector's support, shared by all its
    candidate moves (``rows`` repeats a vector once per candidate). Exact where the
    result is >= 0 and the KKT conditions hold (``ok``); else the caller solves afresh.
    """
    uniq, first, inv = np.unique(rows, return_index=True, return_inverse=True)
    support = warm[first] > 0
    idx, live = _padded(support)
    G = fit.gram[idx[:, :, None], idx[:, None, :]] * (live[:, :, None] & live[:, None, :])
    M = np.linalg.inv(G + np.eye(idx.shape[1]) * ~live[:, None, :]) * live[:, :, None] * live[:, None, :]
    hP = np.take_along_axis(warm[first], idx, axis=1)[inv] * live[inv]
    Mv, iv = M[inv], idx[inv]
    H = warm.copy()
    if grow:
        gPj = fit.gram[iv, j[:, None]] * live[inv]
        b = np.einsum("bst,bt->bs", Mv, gPj)
        c = (fit.R[rows, j] - np.einsum("bs,bs->b", gPj, hP)) / (fit.gram[j, j] - np.einsum("bs,bs->b", gPj, b))
        trivial = ~(c > 0)  # the gradient at warm points away: warm stays optimal
        c = np.maximum(c, 0.0)
        hnew = hP - b * c[:, None]
    else:
        at = (iv == j[:, None]) & live[inv]
        trivial = ~at.any(axis=1)
        pos = np.argmax(at, axis=1)
        Mj = Mv[np.arange(rows.size), :, pos]
        hj = hP[np.arange(rows.size), pos] / np.maximum(Mj[np.arange(rows.size), pos], _EPS)
        hnew = (hP - hj[:, None] * Mj) * ~at
        c = np.zeros(rows.size)
    H[~trivial] = 0.0
    _scatter(H, iv, live[inv], hnew)
    if grow:
        H[np.arange(rows.size), j] = c
    H[trivial] = warm[trivial]
    ok = trivial | (hnew >= 0).all(axis=1)
    check = np.flatnonzero(ok & ~trivial)
    g = _gradient(fit, rows[check], H[check], H[check] > 0)
    tol = 1e-9 * np.abs(fit.R[rows[check]]).max(axis=1, keepdims=True)
    ok[check] = ((g <= tol) | ~masks[check] | (H[check] > 0)).all(axis=1)
    return H, ok


def _solve_subsets(fit, rows, masks, warm=None, *, changed=None, grow=True, rounds=30):
    """NNLS of ``fit.X[rows]`` on the signatures selected by ``masks`` (B × k), batched.

    Every candidate move is one small NNLS on its own set, so ``nnls_codes`` (one basis
    for many right-hand sides) does not apply. An active-set iteration runs on all
    problems at once: least squares on the current set; drop negative weights; else add
    the excluded signature of the mask with the largest positive gradient; stop when the
    KKT conditions hold. A ``warm`` fit (optimal on a subset of the mask, e.g. before a
    unit was added) is used where it satisfies them; the rare problems left after
    ``rounds`` go to scipy's ``nnls``. With ``changed`` (the one signature added or
    removed from the optimal ``warm``, -1 for a group) a rank-one update is tried first.
    """
    H = np.zeros(masks.shape)
    cur = masks.copy()
    todo = fresh = np.arange(masks.shape[0])
    if changed is not None:  # start from the update (least squares on its own support)
        single = np.flatnonzero(changed >= 0)
        Hs, ok = _one_change(fit, rows[single], masks[single], warm[single], changed[single], grow)
        H[single], cur[single] = Hs, masks[single] & (Hs != 0)
        todo = np.setdiff1d(todo, single[ok])
        fresh = np.setdiff1d(fresh, single)
    H[fresh] = _least_squares(fit, rows[fresh], masks[fresh])
    for _ in range(rounds):
        neg = (H[todo] < 0).any(axis=1)
        drop = todo[neg]
        cur[drop] &= H[drop] > 0
        done = todo[~neg]
        g = _gradient(fit, rows[done], H[done], cur[done])
        tol = 1e-9 * np.abs(fit.R[rows[done]]).max(axis=1, keepdims=True)
        viol = np.where(masks[done] & ~cur[done] & (g > tol), g, -np.inf)
        more = np.isfinite(viol.max(axis=1, initial=-np.inf))
        cur[done[more], np.argmax(viol[more], axis=1)] = True
        todo = np.concatenate([drop, done[more]])
        if not todo.size:
            break
        H[todo] = _least_squares(fit, rows[todo], cur[todo])
    bad = todo
    if warm is not None and grow and bad.size:
        g = _gradient(fit, rows[bad], warm[bad], warm[bad] > 0)
        tol = 1e-9 * np.abs(fit.R[rows[bad]]).max(axis=1, keepdims=True)
        ok = ((g <= tol) | ~masks[bad] | (warm[bad] > 0)).all(axis=1)
        H[bad[ok]] = warm[bad[ok]]
        bad = bad[~ok]
    for b in bad:
        cols = np.flatnonzero(masks[b])
        H[b] = 0.0
        H[b, cols] = _scipy_nnls(fit.S[cols].T, fit.X[rows[b]])[0]
    return np.maximum(H, 0.0)


def _score(fit, rows, H, masks, criterion):
    """Lower is better: relative L2 error, or minus the multinomial log-likelihood per mutation.

    Computed on each problem's own set (``masks``, padded), not over all k signatures.
    """
    idx, live = _padded(masks)
    h = np.take_along_axis(H, idx, axis=1) * live
    if criterion == "l2":
        G = fit.gram[idx[:, :, None], idx[:, None, :]]
        err2 = (fit.xx[rows] - 2.0 * np.einsum("bs,bs->b", h, fit.R[rows[:, None], idx])
                + np.einsum("bs,bst,bt->b", h, G, h))
        out = np.sqrt(np.maximum(err2, 0.0) / fit.xx[rows])
    else:
        q = np.einsum("bs,bsp->bp", h, fit.S[idx])
        q /= np.maximum(q.sum(axis=1, keepdims=True), _EPS)
        out = -np.einsum("bp,bp->b", fit.X[rows], np.log(np.maximum(q, _EPS))) / fit.n[rows]
    empty = ~masks.any(axis=1)  # nothing fitted: the whole catalog is error
    out[empty] = 1.0 if criterion == "l2" else -np.log(_EPS)
    return out


def _units(names, background, connected):
    """Search units (rows: signatures moved together) and the background mask."""
    k = len(names)
    pos = {n: j for j, n in enumerate(names)}
    bg = np.zeros(k, dtype=bool)
    bg[[pos[b] for b in background if b in pos]] = True
    used = bg.copy()
    units = []
    for group in connected:
        members = [pos[g] for g in group if g in pos]
        if members and not used[members].any():
            units.append(members)
            used[members] = True
    units += [[j] for j in np.flatnonzero(~used)]
    U = np.zeros((len(units), k), dtype=bool)
    for u, members in enumerate(units):
        U[u, members] = True
    return U, bg


def _step(fit, todo, state, U, grow, criterion, penalty):
    """One greedy move (the best add, or the cheapest removal) for each vector in ``todo``.

    Returns the vectors that moved. ``state`` = [mask, H, score], updated in place.
    """
    mask, H, score = state
    single = np.where(U.sum(axis=1) == 1, np.argmax(U, axis=1), -1)
    inside = (mask[todo].astype(np.float64) @ U.T.astype(np.float64)) > 0
    cand = ~inside if grow else inside
    moved = []
    per = max(1, _PROBLEMS // max(U.shape[0], 1))
    for start in range(0, todo.size, per):
        chunk = todo[start:start + per]
        pv, pu = np.nonzero(cand[start:start + per])
        if not pv.size:
            continue
        rows = chunk[pv]
        masks = mask[rows] | U[pu] if grow else mask[rows] & ~U[pu]
        Hc = _solve_subsets(fit, rows, masks, warm=H[rows], changed=single[pu], grow=grow)
        sc = _score(fit, rows, Hc, masks, criterion)
        table = np.full((chunk.size, U.shape[0]), np.inf)
        table[pv, pu] = sc
        which = np.full(table.shape, -1)
        which[pv, pu] = np.arange(pv.size)
        best = np.argmin(table, axis=1)
        new = table[np.arange(chunk.size), best]
        old = score[chunk]
        accept = (old - new > penalty) if grow else (new - old < penalty)
        accept &= np.isfinite(new)
        for i in np.flatnonzero(accept):
            p = which[i, best[i]]
            v = chunk[i]
            mask[v], H[v], score[v] = masks[p], Hc[p], new[i]
            moved.append(v)
    return np.array(moved, dtype=np.intp)


def _search(X, S, U, bg, *, criterion, add, remove, start=None, max_rounds=20):
    """Greedy backward-remove / forward-add search, the same for every vector of ``X``.

    Alternates removal passes (drop the unit whose removal costs least, while the cost
    of ``criterion`` stays below ``remove``) and addition passes (add the unit that
    helps most, while the gain exceeds ``add``) until neither moves. Starts from the
    background (``start=None``) or from ``start | bg``; background is never removed.
    Returns the NNLS weights ``H`` (m × k) on the selected sets and the masks.
    """
    m = X.shape[0]
    fit = _Fit(X, S)
    mask = np.tile(bg, (m, 1)) if start is None else (start | bg)
    rows = np.arange(m)
    H = _solve_subsets(fit, rows, mask)
    state = [mask, H, _score(fit, rows, H, mask, criterion)]
    for _ in range(max_rounds):
        moved = False
        for grow, penalty in ((False, remove), (True, add)):
            todo = rows
            while todo.size:
                todo = _step(fit, todo, state, U, grow, criterion, penalty)
                moved |= bool(todo.size)
        if not moved:
            break
    return state[1], state[0]


def _kl_refit(X, S, H, mask, *, max_iter=2000, tol=1e-7):
    """KL (Poisson) exposures on each vector's own set, from the NNLS weights ``H``.

    Multiplicative updates keep zeros at zero, so the support stays ``mask``; they run on
    the padded support only (m × s, s the largest set), not on all k signatures.
    """
    sizes = mask.sum(axis=1)
    s = int(sizes.max(initial=0))
    E = np.zeros(mask.shape)
    if s == 0:
        return E
    order = np.argsort(~mask, axis=1, kind="stable")[:, :s]  # selected indices first
    live = np.take_along_axis(mask, order, axis=1)
    Ssel = S[order]  # m × s × p
    floor = 1e-3 * np.maximum(X.sum(axis=1, keepdims=True), 1.0) / np.maximum(sizes, 1)[:, None]
    vals = np.where(live, np.maximum(np.take_along_axis(H, order, axis=1), floor), 0.0)
    denom = np.maximum(Ssel.sum(axis=2), _EPS)
    for _ in range(max_iter):
        recon = np.einsum("ms,msp->mp", vals, Ssel)
        ratio = X / np.maximum(recon, _EPS)
        new = vals * np.einsum("mp,msp->ms", ratio, Ssel) / denom
        change = np.abs(new - vals).sum() / max(vals.sum(), _EPS)
        vals = new
        if change < tol:
            break
    np.put_along_axis(E, order, np.where(live, vals, 0.0), axis=1)
    return E


def _run(method, X, S, U, bg, opts):
    """Exposures (m × k) of the rows of ``X`` by ``method``."""
    if method == "nnls":
        return nnls_codes(S, S @ X.T)
    if method == "add_remove":
        return _search(X, S, U, bg, criterion="l2", add=opts["add_penalty"],
                       remove=opts["remove_penalty"])[0]
    start = nnls_codes(S, S @ X.T) > 0
    start = (start.astype(np.float64) @ U.T.astype(np.float64) > 0) @ U  # whole units
    H, mask = _search(X, S, U, bg, criterion="likelihood", add=opts["threshold"],
                      remove=opts["threshold"], start=start)
    return _kl_refit(X, S, H, mask)


def _bootstrap(method, X, S, U, bg, opts, n_bootstrap, ci, rng):
    """Percentile intervals of the exposures over multinomial resamples of each sample."""
    totals = np.rint(X.sum(axis=1)).astype(np.int64)
    profiles = X / X.sum(axis=1, keepdims=True)
    Xb = rng.multinomial(totals, profiles, size=(n_bootstrap, X.shape[0])).astype(np.float64)
    Eb = _run(method, Xb.reshape(-1, X.shape[1]), S, U, bg, opts)
    Eb = Eb.reshape(n_bootstrap, X.shape[0], S.shape[0])
    alpha = (1.0 - ci) / 2.0
    return np.quantile(Eb, alpha, axis=0), np.quantile(Eb, 1.0 - alpha, axis=0)


@dataclass
class AssignmentResult:
    """Signature activities of each sample (see :func:`assign`)."""

    exposures: pd.DataFrame
    """Mutations attributed to each signature, samples × signatures (all signatures, 0 if unused)."""
    lower: pd.DataFrame | None
    """Lower bootstrap percentile of each exposure (None without bootstrap)."""
    upper: pd.DataFrame | None
    """Upper bootstrap percentile of each exposure (None without bootstrap)."""
    cosine: pd.Series
    """Cosine similarity of each sample's catalog with its reconstruction."""
    relative_error: pd.Series
    """``‖x − e S‖ / ‖x‖`` per sample."""
    method: str
    params: dict = field(default_factory=dict)

    @property
    def selected(self) -> pd.DataFrame:
        """Boolean samples × signatures: which signatures are active in each sample."""
        return self.exposures > 0

    def __repr__(self) -> str:
        n, k = self.exposures.shape
        sel = self.selected
        used = sel.any(axis=0)
        top = self.exposures.sum(axis=0)[used].sort_values(ascending=False).index[:5]
        ci = "" if self.lower is None else f", {self.params.get('ci', 0.95):.0%} CI from " \
            f"{self.params.get('n_bootstrap')} bootstraps"
        return (f"AssignmentResult(method={self.method!r}, {n} samples x {k} signatures, "
                f"{sel.sum(axis=1).mean():.1f} active per sample, {int(used.sum())} used "
                f"(most mutations: {', '.join(map(str, top))}), median cosine "
                f"{self.cosine.median():.3f}{ci})")


def _prepare(catalog, signatures, what="catalog"):
    """Validated float arrays (rows of ``signatures`` scaled to sum 1) and their labels."""
    data, S = _inputs(catalog, signatures, "frobenius")
    X = data.values.toarray() if data.sparse else np.asarray(data.values, dtype=np.float64)
    rows = list(catalog.index) if isinstance(catalog, pd.DataFrame) else list(range(X.shape[0]))
    names = list(signatures.index) if isinstance(signatures, pd.DataFrame) else list(range(S.shape[0]))
    zero = np.flatnonzero(S.sum(axis=1) <= 0)
    if zero.size:
        raise NMFInputError(f"signatures {[names[j] for j in zero[:5]]} are all zero; drop them")
    empty = np.flatnonzero(X.sum(axis=1) <= 0)
    if empty.size:
        raise NMFInputError(f"{what} rows {[rows[i] for i in empty[:5]]} have no mutations; drop them "
                            "before assigning signatures")
    if len(set(map(str, names))) != len(names):
        raise NMFInputError("signature names are duplicated; give every signature (row) its own name")
    return X, S / S.sum(axis=1, keepdims=True), rows, names


def _check_options(method, n_bootstrap, ci, add_penalty, remove_penalty, threshold):
    if method not in METHODS:
        raise NMFInputError(f"method={method!r} is not known; use one of {', '.join(map(repr, METHODS))}")
    if isinstance(n_bootstrap, bool) or not isinstance(n_bootstrap, (int, np.integer)) or n_bootstrap < 0:
        raise NMFInputError(f"n_bootstrap={n_bootstrap!r} must be an integer >= 0 (0: no intervals)")
    if not 0.0 < float(ci) < 1.0:
        raise NMFInputError(f"ci={ci!r} must be a level strictly between 0 and 1, e.g. 0.95")
    for name, value in (("add_penalty", add_penalty), ("remove_penalty", remove_penalty),
                        ("threshold", threshold)):
        if not np.isfinite(value) or value < 0:
            raise NMFInputError(f"{name}={value!r} must be a finite number >= 0")


def _quality(X, E, S, rows):
    recon = E @ S
    nx = np.linalg.norm(X, axis=1)
    nr = np.linalg.norm(recon, axis=1)
    # paired (row-by-row) cosine, not the all-pairs matrix of cosine_similarity
    cos = np.einsum("ij,ij->i", X, recon) / np.maximum(nx * nr, _EPS)
    rel = np.linalg.norm(X - recon, axis=1) / nx
    return pd.Series(cos, index=rows, name="cosine"), pd.Series(rel, index=rows, name="relative_error")


def assign(catalog, signatures, *, method: str = "likelihood", n_bootstrap: int = 100,
           ci: float = 0.95, random_state=None, add_penalty: float = 0.05,
           remove_penalty: float = 0.01, threshold: float = 1e-3,
           background=("SBS1", "SBS5"), connected=DEFAULT_CONNECTED,
           verbose: bool = False) -> AssignmentResult:
    """DOC"""
    _check_options(method, n_bootstrap, ci, add_penalty, remove_penalty, threshold)
    X, S, rows, names = _prepare(catalog, signatures)
    U, bg = _units(names, tuple(background or ()), tuple(connected or ()))
    opts = {"add_penalty": float(add_penalty), "remove_penalty": float(remove_penalty),
            "threshold": float(threshold)}
    E = _run(method, X, S, U, bg, opts)
    lower = upper = None
    if n_bootstrap:
        rng = check_random_state(random_state)
        lo, hi = _bootstrap(method, X, S, U, bg, opts, int(n_bootstrap), float(ci), rng)
        lower = pd.DataFrame(lo, index=rows, columns=names)
        upper = pd.DataFrame(hi, index=rows, columns=names)
    cos, rel = _quality(X, E, S, rows)
    params = dict(opts, n_bootstrap=int(n_bootstrap), ci=float(ci), random_state=random_state,
                  background=[b for b in (background or ()) if b in set(names)],
                  connected=[[names[j] for j in np.flatnonzero(u)] for u in U if u.sum() > 1])
    result = AssignmentResult(pd.DataFrame(E, index=rows, columns=names), lower, upper, cos, rel,
                              method, params)
    if verbose:
        print(result)
    return result
