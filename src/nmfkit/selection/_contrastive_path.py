r"""Label-free guidance for α and k of background-contrastive NMF: :func:`contrastive_path`.

The target's and the background's samples are split ``n_splits`` times (default 3)
into fit and held-out parts, the held-out parts disjoint (with the default
``test_size=0.2``: three of five folds; ``n_splits=5`` is 5-fold cross-validation).
For every ``(k, α)`` and split, ``n_restarts`` fits of :func:`nmfkit.contrastive_nmf`
run on the fit part and the best one is scored on the held-out samples (their codes re-solved on the fixed basis); the table averages the
splits (``contrast`` from the averaged shares). One split of a few hundred cells is a
noisy estimate: on the hardest benchmark case ``contrast`` at α = 5 ranged 2.8–3.4 over
six random single splits (the line is 3.32), 3.15–3.65 with 3 splits and 3.34–3.39 with
5; with one split the rule failed 1 of the 23 benchmark cases, with 3 or 5 none.

- ``target_explained`` / ``background_explained``: ``1 − D(held-out | fit) / D(held-out | trivial)``,
  the trivial model being the zero matrix (Frobenius: the uncentred share of energy
  explained) or each sample's flat mean profile (KL: the deviance explained); with
  background programs (``n_background_components``) the reference is the fit on the
  background programs alone, so the columns measure what the contrastive components
  add to them;
- ``contrast``: ``log2(target_explained / background_explained)`` (both floored at 1e-6):
  how much better the basis explains new target samples than new background ones;
- ``stability``: the mean cosine similarity of the basis rows of every pair of
  restarts, matched one-to-one by the Hungarian algorithm (1 = every restart finds
  the same programs).

**The label-free choice** (:meth:`ContrastivePathResult.choose`; validated on the
planted-program benchmark of issue 17, ``benchmarks/bench_contrastive_real.py``):

1. *α*, on the smallest k of the scan, among the α whose fit is stable
   (``stability >= min_stability``, default 0.9, and some valid restart): find where
   ``contrast`` crosses ``min_contrast`` (default ``log2(10)``: the basis explains
   held-out target samples 10 times better than held-out background ones), i.e. the
   first stable α at or above the line and the stable α before it, and take **the one
   of the two whose contrast is nearer the line** (a tie: the smaller α). If the first
   stable α is already above the line, it. If none reaches the line, the data show no
   decisive target-only program: the rule then does not go past the estimator's default
   α = 2 (``max_fallback_alpha``) and takes the stable α up to it of largest
   ``contrast`` (no stable α: the largest ``contrast`` up to it), with a warning. Past
   the default, without a decisive contrast, the largest-contrast α is the edge of
   collapse: on the mice protein data (issue 17 point 5; contrast at most 2.1 there) α = 3
   gave a component used by 3 outlier replicates of 270 (enrichment 20.6, genotype ARI
   0.03) where α = 2 found the genotype programs (ARI 0.64–0.79). No case of the
   single-cell benchmark is in this branch (their contrast reaches 3.9–8.7).
   Why the nearer one: the scan samples a continuous path on a coarse grid (steps of
   ×1.5–2), and the setting the rule aims at is where the path crosses the line.
   Taking the first α above it, as this rule did before, rounded that point up by up to
   a whole step every time, always towards the side where the basis keeps only the
   genes of lowest background expression (``contrast`` still rises, ``target_explained``
   falls) and the codes get noisier: on the planted-program benchmark that cost one
   case 0.09 of ARI (contrast 3.31 at α = 5, 3.93 at α = 10; α = 10 was taken).
2. *k*, at that α: starting from the smallest k, move to the next k of the scan only
   while it is stable and raises ``target_explained`` by at least ``min_gain``
   (default 5 %) of the current value. A component that splits a program already
   found, or fits noise, adds (almost) nothing on held-out target samples.
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .._validation import check_positive_int
from ..backends._random import check_random_state
from ..exceptions import NMFInputError
from ._contrastive_path_fit import (PathData, PathOptions, basis_stability, fit_setting, rows_of,
                                   score_row)
from ._contrastive_path_fit import folds as split_folds
from ._contrastive_path_fit import pool as pool_rows

__all__ = ["ContrastivePathResult", "contrastive_path", "basis_stability", "choose_setting",
           "MIN_CONTRAST"]


#: Default ``min_contrast`` of :meth:`ContrastivePathResult.choose`: held-out target
#: explained 10 times better than held-out background.
MIN_CONTRAST = float(np.log2(10.0))


@dataclass(frozen=True)
class ContrastivePathResult:
    """Outcome of :func:`contrastive_path`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per ``(n_components, alpha)`` with the columns ``n_components``,
        ``alpha``, ``target_explained``, ``background_explained``, ``contrast``,
        ``stability``, ``objective`` (best training ``L``), ``min_enrichment`` /
        ``max_enrichment`` (of the best fit's components), ``n_valid`` (non-degenerate
        restarts), ``n_converged`` (restarts that met ``tol``; convergence warnings are
        not repeated) and ``target_explained_ratio`` (``target_explained`` over its value
        at the smallest α of the same k).
    bases : dict
        ``(k, alpha) -> list`` of the basis of every restart of the first split (NumPy,
        rows sum to one).
    preprocess : {None, "log1p_cp10k", "scale"}
        The transform the scan applied (``"auto"`` resolved; a
        :class:`~nmfkit.ContrastiveNMF` with the same ``preprocess`` on the same data
        applies the same).
    """

    table: Any
    bases: dict
    preprocess: str | None = None

    def choose(self, *, min_contrast: float = MIN_CONTRAST, min_stability: float = 0.9,
               min_gain: float = 0.05, max_fallback_alpha: float = 2.0) -> tuple:
        """The label-free ``(n_components, alpha)`` (rule in the module docstring).

        Examples
        --------
        >>> import pandas as pd
        >>> t = pd.DataFrame({"n_components": [1, 1, 1, 2, 2, 2], "alpha": [1, 2, 5] * 2,
        ...                   "target_explained": [.3, .1, .05, .32, .1, .05],
        ...                   "contrast": [.5, 2.5, 3.9, .5, 2.4, 3.9],
        ...                   "stability": [1, 1, 1, .95, .9, .85], "n_valid": 3})
        >>> ContrastivePathResult(t, {}).choose()
        (1, 5.0)
        """
        return choose_setting(self.table, min_contrast=min_contrast, min_stability=min_stability,
                              min_gain=min_gain, max_fallback_alpha=max_fallback_alpha)

    def plot(self, fig=None, *, save=None, overwrite: bool = False, **choose_kw):
        """Draw the path (:func:`nmfkit.plotting.plot_contrastive_path`) with the
        ``min_contrast`` and ``min_stability`` lines (dotted) and the chosen ``(k, α)`` of :meth:`choose`
        (``choose_kw``) as a star on the contrast panel.

        Parameters
        ----------
        fig : matplotlib.figure.Figure, optional
        save : str or os.PathLike, optional
            Write the figure as ``<save>.png`` and ``<save>.svg``.
        overwrite : bool, default=False
            Replace existing files at ``save``.
        **choose_kw
            ``min_contrast``, ``min_stability``, ``min_gain``, ``max_fallback_alpha`` of
            :meth:`choose`.

        Returns
        -------
        matplotlib.figure.Figure

        Examples
        --------
        >>> import pandas as pd
        >>> t = pd.DataFrame({"n_components": 1, "alpha": [1.0, 2.0, 5.0],
        ...                   "target_explained": [.3, .1, .05], "background_explained": [.25, .02, .004],
        ...                   "contrast": [.3, 2.3, 3.6], "stability": 1.0})
        >>> fig = ContrastivePathResult(t, {}).plot()
        """
        from ..plotting import plot_contrastive_path
        from ..plotting._style import finish

        fig = plot_contrastive_path(self, fig=fig)
        with warnings.catch_warnings(record=True) as caught:  # said in the label instead
            warnings.simplefilter("always", UserWarning)
            k, alpha = self.choose(**choose_kw)
        weak = " (no decisive contrast)" if caught else ""
        row = self.table[(self.table.n_components == k) & (self.table.alpha == alpha)].iloc[0]
        ax = fig.axes[1]
        ax.axhline(choose_kw.get("min_contrast", MIN_CONTRAST), color="0.5", linestyle=":",
                   linewidth=1)
        ax.plot([alpha], [row["contrast"]], marker="*", markersize=14, color="black",
                linestyle="none", label=f"chosen: k={k}, alpha={alpha:g}{weak}")
        ax.legend(fontsize="small", frameon=False)
        fig.axes[2].axhline(choose_kw.get("min_stability", 0.9), color="0.5", linestyle=":",
                            linewidth=1)
        return finish(fig, save, overwrite=overwrite)


def _stable(rows, min_stability: float):
    ok = rows["stability"].fillna(1.0) >= min_stability
    if "n_valid" in rows:
        ok &= rows["n_valid"] > 0
    return ok


def _crossing(rows, min_contrast: float, max_fallback_alpha: float) -> float:
    """The α of ``rows`` (sorted by α) nearest to where ``contrast`` crosses the line;
    if it never does, the largest ``contrast`` at α up to ``max_fallback_alpha``."""
    c = rows["contrast"].to_numpy(dtype=float)
    a = rows["alpha"].to_numpy(dtype=float)
    above = np.flatnonzero(c >= min_contrast)
    if not above.size:
        low = a <= max_fallback_alpha
        if low.any():
            c, a = c[low], a[low]
        alpha = float(a[int(np.nanargmax(c))])
        warnings.warn(
            f"no alpha of the scan reached a held-out contrast of {min_contrast:.2f} (largest "
            f"{np.nanmax(rows['contrast'].to_numpy(dtype=float)):.2f}): the data show no decisive "
            f"target-only program, so the choice stays at alpha <= {max_fallback_alpha:g} "
            f"(alpha={alpha:g}); read the path plot before trusting it", UserWarning, stacklevel=4)
        return alpha
    i = int(above[0])
    if i > 0 and min_contrast - c[i - 1] <= c[i] - min_contrast:
        i -= 1
    return float(a[i])


def choose_setting(table, *, min_contrast: float = MIN_CONTRAST, min_stability: float = 0.9,
                   min_gain: float = 0.05, max_fallback_alpha: float = 2.0) -> tuple:
    """``(n_components, alpha)`` chosen from a path table without labels.

    The rule is that of the module docstring (:mod:`nmfkit.selection._contrastive_path`):
    α where ``contrast`` crosses ``min_contrast`` (the nearer of the two stable α on
    either side of the crossing) on the smallest k, then k while each next k is stable
    and raises ``target_explained`` by ``min_gain``.

    Parameters
    ----------
    table : pandas.DataFrame
        ``ContrastivePathResult.table`` (columns ``n_components``, ``alpha``,
        ``target_explained``, ``contrast``, ``stability``, optionally ``n_valid``).
    min_contrast, min_stability, min_gain : float
        See the module docstring.
    max_fallback_alpha : float, default=2.0
        The largest α taken when no stable α reaches ``min_contrast`` (the estimator's
        default α; module docstring).

    Returns
    -------
    tuple
        ``(n_components, alpha)``.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"n_components": 1, "alpha": [2.0, 5.0, 10.0],
    ...                   "target_explained": [.03, .015, .01],
    ...                   "contrast": [1.6, 3.3, 3.9], "stability": 1.0})
    >>> choose_setting(t)  # 3.3 is nearer log2(10) = 3.32 than 3.9 is
    (1, 5.0)
    """
    ks = sorted(int(k) for k in table["n_components"].unique())
    rows = table[table["n_components"] == ks[0]].sort_values("alpha")
    stable = rows[_stable(rows, min_stability)]
    alpha = _crossing(stable if len(stable) else rows, min_contrast, max_fallback_alpha)
    at = table[table["alpha"] == alpha].set_index("n_components")
    k = ks[0]
    for nxt in ks[1:]:
        cur, new = float(at.loc[k, "target_explained"]), at.loc[nxt]
        stable_next = bool(_stable(new.to_frame().T, min_stability).iloc[0])
        if not stable_next or float(new["target_explained"]) < cur + min_gain * abs(cur):
            break
        k = nxt
    return k, alpha


def contrastive_path(X_target, X_background,
                     alphas: Sequence[float] = (0.5, 1, 2, 3, 5, 10, 20),
                     n_components: int | Sequence[int] = (1, 2, 3), *, loss: str = "frobenius",
                     n_restarts: int = 3, test_size: float = 0.2, max_iter: int = 300,
                     tol: float = 1e-5, handle_missing: str = "mask",
                     n_background_components: int = 0, preprocess: str | None = "auto",
                     n_splits: int = 3, random_state=None,
                     verbose: int = 0) -> ContrastivePathResult:
    r"""Scan α (and k) of :class:`~nmfkit.ContrastiveNMF` with label-free diagnostics.

    Each ``(k, α)`` is fitted ``n_restarts`` times on ``1 − test_size`` of the
    target's and of the background's samples and scored on the rest, for each of
    ``n_splits`` splits (the same splits for the whole scan; their held-out parts
    disjoint), the scores averaged; the columns of the table are defined in the
    module docstring (:mod:`nmfkit.selection._contrastive_path`).

    **How to read it** (:meth:`ContrastivePathResult.plot`; ``docs/guide/contrastive.md``).
    At small α the basis is close to plain NMF of the target and explains held-out
    background about as well as held-out target (``contrast`` near 0). As α grows,
    ``background_explained`` falls first: programs the two datasets share are dropped,
    and ``contrast`` rises. The chosen α is the point of the scan nearest to where
    ``contrast`` crosses ``log2(10)`` (the dotted line of the plot: new target samples
    explained 10 times better than new background ones), among the α whose restarts
    agree (``stability`` ≥ 0.9); past it ``contrast`` keeps rising only as the basis
    narrows onto the features least present in the background, ``target_explained``
    keeps falling and the codes get noisier. For k, add components only while they raise
    the held-out ``target_explained`` (by ≥ 5 %) and stay stable: a second component that
    only splits the first program explains nothing new. :meth:`ContrastivePathResult.choose`
    applies exactly this rule (module docstring) and the plot marks its choice (a star).
    On the planted-program benchmark of real counts (issue 17, ``BENCHMARKS.md``) the
    chosen setting's ARI is within 0.05 of the best setting's on every case.

    With background programs (``n_background_components``) the explained shares are
    what the contrastive components add to the background programs, so ``contrast`` is
    high from α = 0 on; read ``stability`` and ``target_explained``: at α = 0 the free
    components are not held to anything target-specific and differ between restarts.
    On the count simulation at β = 16 (KL, 7 background programs, k = 2) stability was
    0.06 at α = 0, 0.91 at 0.5 and ≥ 0.97 from α = 1 to 10, where ``target_explained``
    rose to 1.44× its α = 0 value: any α in [1, 10] works there, and the default 2 is
    inside that range.

    Parameters
    ----------
    X_target, X_background : array-like (n_samples, n_features)
        As for :func:`nmfkit.contrastive_nmf` (same features; NaN = missing).
    alphas : sequence of float
        The α values, each ``>= 0``.
    n_components : int or sequence of int
    loss : {"frobenius", "kl"}
    n_restarts : int, default=3
        Fits per ``(k, α)``; at least 2 for ``stability``.
    test_size : float, default=0.2
        Held-out fraction of each dataset's samples, in (0, 1).
    n_splits : int, default=3
        Number of splits, with disjoint held-out parts (``n_splits * test_size <= 1``;
        5 with the default ``test_size`` is 5-fold cross-validation). Every ``(k, α)``
        is fitted on each; the table averages the explained shares over the splits
        (``contrast`` from the averages), averages ``stability`` and sums the counts;
        ``bases`` holds the restarts of the first split.
    max_iter, tol, handle_missing, verbose :
        Passed to each fit.
    n_background_components : int, default=0
        Background programs of every fit (:class:`~nmfkit.ContrastiveNMF`), learned
        once on the fit part of the background; ``stability`` and the enrichments
        then concern the contrastive components only.
    preprocess : {"auto", None, "log1p_cp10k", "scale"}, default="auto"
        As for :class:`~nmfkit.ContrastiveNMF` (resolved once from both whole datasets
        and applied to both first; the explained shares are then those of the
        transformed data). The value used is the result's ``preprocess`` (printed with
        ``verbose >= 1``).
    random_state : int, Generator or None
        Seeds the split and the fits.

    Returns
    -------
    ContrastivePathResult

    Examples
    --------
    >>> import nmfkit
    >>> d = nmfkit.datasets.make_contrastive_counts(beta=8, random_state=0)
    >>> X, Y = d.log_normalized()
    >>> X, Y = X[:300, :1500], Y[:300, :1500]  # a subset (all programs kept) for speed
    >>> path = nmfkit.contrastive_path(X, Y, alphas=[0, 2], n_components=2, n_restarts=2,
    ...                                max_iter=50, n_splits=2, random_state=0)
    >>> list(path.table.columns[:4])
    ['n_components', 'alpha', 'target_explained', 'background_explained']
    """
    import pandas as pd

    from ..models._contrastive_fit import check_n_shared, check_pair, check_params, shared_programs

    ks = [n_components] if isinstance(n_components, numbers.Integral) else list(n_components)
    if not ks:
        raise NMFInputError("n_components is empty; pass an int or a list of ints")
    alphas = sorted(float(a) for a in np.atleast_1d(np.asarray(alphas, dtype=float)))
    if not alphas or any(not np.isfinite(a) or a < 0 for a in alphas):
        raise NMFInputError(f"alphas={alphas!r} must be a non-empty list of finite numbers >= 0")
    if not isinstance(test_size, numbers.Real) or not 0 < test_size < 1:
        raise NMFInputError(f"test_size={test_size!r} must be a fraction in (0, 1), e.g. 0.2")
    check_positive_int(n_restarts, "n_restarts")
    from ..models._contrastive_preprocess import check_preprocess, prepare_pair, say_resolved

    how = check_preprocess(preprocess)
    X_target, X_background, preprocess, _ = prepare_pair(X_target, X_background, how)
    beta = check_params(alpha=0.0, loss=loss, n_restarts=n_restarts, max_iter=max_iter, tol=tol,
                        max_time=None, batch_size=None, basis_floor=1e-10,
                        handle_missing=handle_missing, verbose=verbose)
    check_pair(X_target, X_background, allow_nan=handle_missing == "mask")  # fail early
    say_resolved("contrastive_path", how, preprocess, verbose)
    rng = check_random_state(random_state)
    nX, nY = X_target.shape[0], X_background.shape[0]
    if nX < 2 or nY < 2:
        raise NMFInputError("contrastive_path needs at least 2 samples in each dataset to hold some out")
    check_positive_int(n_splits, "n_splits")
    folds = [split_folds(n, test_size, n_splits, rng, name) for n, name in ((nX, "X_target"),
                                                                       (nY, "X_background"))]
    seeds = None
    ns = check_n_shared(n_background_components)
    per_fold = []
    for (fx, tx), (fy, ty) in zip(*folds):
        Xf, Xt, Yf, Yt = (rows_of(X_target, fx), rows_of(X_target, tx), rows_of(X_background, fy),
                          rows_of(X_background, ty))
        dX, dY = check_pair(Xf, Yf, allow_nan=handle_missing == "mask")
        if seeds is None:
            seeds = rng.integers(0, 2**31 - 1, size=n_restarts)
        shared = None
        if ns:
            shared = shared_programs(dY, int(ns), beta=beta, basis_floor=1e-10,
                                     max_iter=max_iter, tol=tol, max_time=None,
                                     seed=int(rng.integers(0, 2**31 - 1)), verbose=verbose)
        opts = PathOptions(beta=beta, max_iter=max_iter, tol=tol, verbose=verbose,
                           n_shared=int(ns), shared=shared)
        data = PathData.build(dX, dY, Xt, Yt)
        per_fold.append({(k, a): (fit := fit_setting(data, k, a, seeds, opts),
                                  score_row(fit, data, opts, {"n_components": k, "alpha": a}))
                         for k in ks for a in alphas})
    rows = [pool_rows([f[key][1] for f in per_fold]) for key in per_fold[0]]
    bases = {key: per_fold[0][key][0].bases for key in per_fold[0]}
    table = pd.DataFrame(rows)
    first = table.groupby("n_components")["target_explained"].transform("first")
    table["target_explained_ratio"] = table["target_explained"] / first.where(first != 0)
    return ContrastivePathResult(table, bases, preprocess)
