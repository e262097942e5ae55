"""De novo signatures as sparse mixtures of reference (e.g. COSMIC) signatures.

SigProfilerExtractor's decomposition step: each de novo signature is fitted by NNLS on
the reference signatures with the same forward-add / backward-remove search that
:func:`nmfkit.signatures.assign` uses for catalogs (relative L2 error, add when it drops
by more than ``add_penalty``, remove when it rises by less than ``remove_penalty``,
background signatures kept, connected groups moved together). A signature whose
reconstruction has cosine below ``min_cosine`` (0.8 in SigProfiler) is reported as novel.

The search itself (:func:`_search`) lives here and is shared with
:func:`nmfkit.signatures.assign`: every candidate move of every vector is one small NNLS
problem on its own set of signatures, and all of them are solved in batches (a
vectorised active-set iteration with rank-one updates of the current fit; scipy's
``nnls`` only for the rare leftovers), so bootstrap replicates need no Python loop per
sample.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import nnls as _scipy_nnls

from ..exceptions import NMFInputError
from ._compare import cosine_similarity
from ._refit import _inputs

__all__ = ["decompose", "DEFAULT_CONNECTED"]

#: Signatures that SigProfilerAssignment adds and removes together.
DEFAULT_CONNECTED = (("SBS2", "SBS13"), ("SBS7a", "SBS7b", "SBS7c", "SBS7d"),
                     ("SBS10a", "SBS10b"), ("SBS17a", "SBS17b"))
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
    _, first, inv = np.unique(rows, return_index=True, return_inverse=True)
    support = warm[first] > 0
    idx, live = _padded(support)
    G = fit.gram[idx[:, :, None], idx[:, None, :]] * (live[:, :, None] & live[:, None, :])
    try:
        M = np.linalg.inv(G + np.eye(idx.shape[1]) * ~live[:, None, :])
    except np.linalg.LinAlgError:  # a singular support: leave every problem to the caller
        return warm.copy(), np.zeros(rows.size, dtype=bool)
    M *= live[:, :, None] & live[:, None, :]
    hP = np.take_along_axis(warm[first], idx, axis=1)[inv] * live[inv]
    Mv, iv = M[inv], idx[inv]
    H = warm.copy()
    if grow:
        gPj = fit.gram[iv, j[:, None]] * live[inv]
        b = np.einsum("bst,bt->bs", Mv, gPj)
        with np.errstate(divide="ignore", invalid="ignore"):  # j in the span of the support: 0/0
            c = ((fit.R[rows, j] - np.einsum("bs,bs->b", gPj, hP))
                 / (fit.gram[j, j] - np.einsum("bs,bs->b", gPj, b)))
        trivial = ~(c > 0)  # the gradient at warm points away (or j adds nothing): warm is optimal
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
    scale = np.abs(fit.R[rows[check]]).max(axis=1, keepdims=True)
    on = H[check] > 0  # zero gradient on the support: the update was accurate
    ok[check] = (((g <= 1e-9 * scale) | ~masks[check] | on).all(axis=1)
                 & (np.abs(np.where(on, g, 0.0)) <= 1e-7 * scale).all(axis=1))
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
    ends = np.cumsum(cand.sum(axis=1))  # problems up to each vector: chunks of ~_PROBLEMS
    cuts = np.searchsorted(ends, np.arange(_PROBLEMS, ends[-1] if ends.size else 0, _PROBLEMS))
    for lo, hi in zip(np.r_[0, cuts + 1], np.r_[cuts + 1, todo.size]):
        if hi <= lo:
            continue
        chunk = todo[lo:hi]
        pv, pu = np.nonzero(cand[lo:hi])
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
        raise NMFInputError(f"{what} rows {[rows[i] for i in empty[:5]]} are all zero (no mutations); "
                            "drop them first")
    if len(set(map(str, names))) != len(names):
        raise NMFInputError("signature names are duplicated; give every signature (row) its own name")
    return X, S / S.sum(axis=1, keepdims=True), rows, names


def _quality(X, E, S, rows):
    recon = E @ S
    nx = np.linalg.norm(X, axis=1)
    nr = np.linalg.norm(recon, axis=1)
    # paired (row-by-row) cosine, not the all-pairs matrix of cosine_similarity
    cos = np.einsum("ij,ij->i", X, recon) / np.maximum(nx * nr, _EPS)
    rel = np.linalg.norm(X - recon, axis=1) / nx
    return pd.Series(cos, index=rows, name="cosine"), pd.Series(rel, index=rows, name="relative_error")


def decompose(signatures, reference, *, add_penalty: float = 0.05, remove_penalty: float = 0.01,
              min_cosine: float = 0.8, background=("SBS1", "SBS5"),
              connected=DEFAULT_CONNECTED) -> pd.DataFrame:
    """Explain each de novo signature (row) as a sparse mixture of ``reference`` signatures.

    Parameters
    ----------
    signatures : array or DataFrame (n, 96)
        De novo signatures, one per row (e.g. ``model.components_``); rows are scaled to
        sum 1.
    reference : array or DataFrame (k, 96)
        Reference signatures, one per row, e.g. :func:`load_cosmic`. With two
        DataFrames the columns are aligned by label.
    add_penalty, remove_penalty : float
        SigProfiler's thresholds on the relative L2 error ``‖s − w R‖ / ‖s‖``.
    min_cosine : float
        Reconstructions with a lower cosine are flagged ``novel`` (SigProfiler: 0.8).
    background : names
        Reference signatures present in every decomposition (SigProfiler: SBS1, SBS5);
        those absent from ``reference`` are ignored. They are listed among the
        components only when their NNLS weight is positive.
    connected : groups of names
        Signatures added and removed together (default :data:`DEFAULT_CONNECTED`).

    Returns
    -------
    DataFrame, one row per de novo signature
        ``best_match`` (most similar single reference), ``cosine_before`` (its cosine),
        ``components`` (reference names, largest weight first), ``weights`` (summing to 1),
        ``cosine_after`` (cosine of the signature with its reconstruction), ``novel``
        (``cosine_after < min_cosine``) and ``description`` ("SBS2 (0.62) + SBS13 (0.38)").

    Examples
    --------
    >>> import pandas as pd
    >>> from nmfkit.signatures import decompose, random_signatures
    >>> ref = random_signatures(10, random_state=0)
    >>> mix = 0.6 * ref.loc[["sig2"]].to_numpy() + 0.4 * ref.loc[["sig7"]].to_numpy()
    >>> out = decompose(pd.DataFrame(mix, index=["A"], columns=ref.columns), ref)
    >>> out.loc["A", "description"], bool(out.loc["A", "cosine_after"] > 0.99)
    ('sig2 (0.60) + sig7 (0.40)', True)
    """
    for name, value in (("add_penalty", add_penalty), ("remove_penalty", remove_penalty),
                        ("min_cosine", min_cosine)):
        if not np.isfinite(value) or value < 0:
            raise NMFInputError(f"{name}={value!r} must be a finite number >= 0")
    D, R, rows, names = _prepare(signatures, reference, what="signatures")
    D = D / D.sum(axis=1, keepdims=True)
    U, bg = _units(names, tuple(background or ()), tuple(connected or ()))
    H, _ = _search(D, R, U, bg, criterion="l2", add=float(add_penalty), remove=float(remove_penalty))
    cos_single = np.asarray(cosine_similarity(D, R), dtype=np.float64)
    best = np.argmax(cos_single, axis=1)
    after, _ = _quality(D, H, R, rows)
    records = []
    for i in range(len(rows)):
        order = [j for j in np.argsort(-H[i], kind="stable") if H[i, j] > 0]
        total = H[i, order].sum()
        weights = [float(H[i, j] / total) for j in order]
        comps = [names[j] for j in order]
        records.append({
            "best_match": names[best[i]],
            "cosine_before": float(cos_single[i, best[i]]),
            "components": comps,
            "weights": weights,
            "cosine_after": float(after.iloc[i]),
            "novel": bool(after.iloc[i] < min_cosine),
            "description": " + ".join(f"{c} ({w:.2f})" for c, w in zip(comps, weights)) or "(none)",
        })
    out = pd.DataFrame.from_records(records, index=pd.Index(rows, name="signature"))
    return out
