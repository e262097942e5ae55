r"""De novo mutational-signature extraction, end to end: :func:`extract`.

For every rank ``k`` of ``ks`` (SigProfilerExtractor's protocol, Islam et al. 2022,
with a cross-validation rule beside it as in SigMoS, Pelizzola et al. 2023):

1. **replicates**: ``n_replicates`` resampled catalogs (each sample redrawn from a
   multinomial with its own total and profile; hypermutated samples capped by the GMM
   rule, :mod:`nmfkit.signatures._resample`), the same for every k;
2. **fits**: all replicates of a rank run *batched* on the engine: one stacked target
   (R, samples, 96), one KL (Poisson) or negative-binomial term, the multiplicative
   updates reading the stack once per half-iteration for all replicates; a replicate
   that meets ``tol`` leaves the batch;
3. **consensus**: the R·k replicate signatures are clustered with the matching
   constraint (each replicate gives one signature per cluster, Hungarian on cosine,
   :mod:`nmfkit.signatures._clustering`); stability = cosine silhouettes; consensus =
   cluster means with standard errors; exposures = NNLS of the original catalog on
   the consensus;
4. **cross-validation**: ``cv_folds`` fits with a random 10 % of the entries held out,
   scored on them (:mod:`nmfkit.signatures._rules`);

then both rank rules, and the decomposition of the reported solution into the
reference signatures (COSMIC when available).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from .._progress import Progress
from ..backends import get_namespace
from ..losses import elementwise_divergence
from ..solvers import LoopOptions, nnls_codes, raise_interrupts
from ._clustering import matched_clusters
from ._decompose import _quality
from ._extract_checks import check_catalog, check_ks, check_options, check_reference, seed_sequence
from ._extract_result import ExtractionResult, Solution
from ._fits import cv_errors, extraction_loss, fit_replicates, rank_loss
from ._resample import cap_totals, gmm_cutoff, resample_catalogs
from ._rules import cv_rank, sigprofiler_rank

__all__ = ["extract"]

def _solution(k, X, clusters, columns):
    names = [f"S{j + 1}" for j in range(k)]
    S = clusters.centroids
    Xv = X.to_numpy()
    E = nnls_codes(S, S @ Xv.T)
    _, resid = _quality(Xv, E, S, X.index)  # the per-sample relative L2 errors of the refit
    return Solution(
        k=k,
        signatures=pd.DataFrame(S, index=names, columns=columns),
        signatures_se=pd.DataFrame(clusters.se, index=names, columns=columns),
        exposures=pd.DataFrame(E, index=X.index, columns=names),
        stability=pd.Series(clusters.stability, index=names, name="stability"),
        silhouettes=clusters.silhouettes,
        replicate_signatures=clusters.signatures,
        sample_errors=resid,
    )


def _row(sol: Solution, X, outcome, seconds):
    Xv = X.to_numpy()
    Y = sol.exposures.to_numpy() @ sol.signatures.to_numpy()
    kl = float(np.sum(elementwise_divergence(Xv, Y, 1.0, get_namespace(Xv))))
    return {
        "avg_stability": float(sol.silhouettes.mean()),
        "min_stability": float(sol.stability.min()),
        "reconstruction_error": float(np.linalg.norm(Xv - Y) / np.linalg.norm(Xv)),
        "kl_per_entry": kl / Xv.size,
        "converged": float(np.mean(outcome.converged)),
        "n_iter": float(np.median(outcome.n_iter)),
        "seconds": seconds,
    }


def extract(catalog, ks=range(1, 11), *, n_replicates: int = 100, loss: str = "kl",
            dispersion="per_sample", resample: bool = True, normalization: str = "gmm",
            rule: str = "sigprofiler", cv_folds: int = 10, cv_fraction: float = 0.1,
            stability: float = 0.8, min_stability: float = 0.2, combined_stability: float = 1.0,
            pvalue: float = 0.05, allow_stability_drop: bool = False, reference="auto", max_iter: int = 5000, tol: float = 1e-7,
            loss_every: int = 20, n_cluster_starts: int = 10, dtype=np.float32, random_state=0,
            max_time=None, verbose: int = 0) -> ExtractionResult:
    r"""Extract mutational signatures de novo, choose the rank two ways, decompose into COSMIC.

    Parameters
    ----------
    catalog : DataFrame, path or array
        SBS-96 counts. DataFrames and files go through :func:`read_catalog` (either
        orientation and row order, found from the type names); an array must be
        samples × 96 in :data:`SBS96_TYPES` order. With ``resample`` the counts must be
        integers (mutations are redrawn).
    ks : iterable of int
        Ranks to try.
    n_replicates : int
        Replicates per rank (SigProfiler's default 100).
    loss : {"kl", "nb"}
        Poisson / generalised KL (SigProfiler's), or negative binomial with
        ``dispersion`` ("per_sample" or "global": estimated by maximum likelihood at
        each rank from a KL fit of the original catalog; or fixed positive values).
    resample, normalization
        Multinomial resampling of each replicate; ``"gmm"`` caps hypermutated samples
        (SigProfiler's rule), ``"none"`` does not.
    rule : {"sigprofiler", "cv"}
        Which rank is reported as ``result.k`` (both are computed; ``cv_folds=0``
        switches the CV rule off).
    cv_folds, cv_fraction
        Folds of the cross-validation rule and the fraction of entries held out in each.
    stability, min_stability, combined_stability, pvalue, allow_stability_drop
        SigProfiler's thresholds (0.8, 0.2, 1.0), the walk-down's test level, and whether
        the walk may visit candidates less stable than the largest one (SigProfiler's
        default: no).
    reference : "auto", None, path or DataFrame
        Reference signatures for the decomposition: "auto" = COSMIC v3.4 from an
        installed SigProfilerAssignment when there is one.
    dtype : float32 (default) or float64
        Precision of the fits. Single precision, as SigProfilerExtractor's default, runs
        about 1.7× faster; objectives are summed in float64, and the clustering, consensus
        and refits are always float64.
    max_iter, tol, loss_every
        Per replicate: at most ``max_iter`` MU iterations; stop when the objective's
        relative decrease over ``loss_every`` iterations is below ``tol``.
    random_state : int, Generator or None
        Seeds everything; the seed used (drawn when None) and the derived per-replicate
        seeds are in ``result.params`` (``seed``, ``replicate_seeds``): passing
        ``params["seed"]`` repeats the run.
    max_time : float, optional
        Seconds: the rank being fitted when the time is up is finished with its fits
        stopped where they are (its ``converged`` column shows it) and no further rank
        starts (``params["stopped"] = "max_time"``); the first rank is always finished.
    verbose : int
        Progress bars on a terminal.

    Returns
    -------
    ExtractionResult

    Notes
    -----
    Ctrl-C stops after the rank being fitted and returns the ranks finished before it
    (``params["stopped"] = "interrupted"``).
    """
    dtype = check_options(n_replicates=n_replicates, rule=rule, normalization=normalization,
                          cv_folds=cv_folds, cv_fraction=cv_fraction, stability=stability,
                          min_stability=min_stability, combined_stability=combined_stability,
                          pvalue=pvalue, dtype=dtype, n_cluster_starts=n_cluster_starts)
    X = check_catalog(catalog, resample)
    ks = check_ks(ks, X.shape[0])
    R = int(n_replicates)
    spec = extraction_loss(loss, dispersion)
    seq, seed = seed_sequence(random_state)
    ref, ref_note = check_reference(reference)
    start = time.perf_counter()
    Xv = X.to_numpy()
    s_res, s_init, s_cv, s_clu = seq.spawn(4)
    rep_seeds = [int(c.generate_state(1)[0]) for c in s_res.spawn(R)]
    cutoff = gmm_cutoff(Xv.sum(axis=1), Xv.shape[1]) if normalization == "gmm" else None
    D = resample_catalogs(Xv, rep_seeds, resample=resample, cutoff=cutoff, dtype=dtype)
    Xcv = Xv if cutoff is None else cap_totals(Xv, cutoff)  # CV on the catalog the fits see
    cv_rng = np.random.default_rng(s_cv)
    masks = cv_rng.random((cv_folds,) + Xv.shape) < cv_fraction
    params = dict(ks=ks, n_replicates=R, loss="nb" if spec.nb else "kl", dispersion=dispersion, resample=resample,
                  normalization=normalization, gmm_cutoff=cutoff, rule=rule, cv_folds=cv_folds,
                  cv_fraction=cv_fraction, stability=stability, min_stability=min_stability,
                  combined_stability=combined_stability, pvalue=pvalue, reference=ref_note,
                  max_iter=max_iter, tol=tol, loss_every=loss_every, dtype=dtype.name,
                  seed=seed,
                  replicate_seeds=rep_seeds, stopped=None, dispersions={})
    rows, solutions = {}, {}
    progress = Progress(len(ks), "extract", bool(verbose))  # a bar, or a line every few s
    for k in ks:
        left = None if max_time is None else max(max_time - (time.perf_counter() - start), 0.0)
        if solutions and left == 0.0:
            params["stopped"] = "max_time"
            break
        try:
            with raise_interrupts():  # Ctrl-C anywhere in this rank: stop, keep the ranks done
                done = _one_rank(X, D, Xcv, k, spec, masks, (s_init, s_cv, s_clu), params, left,
                                 verbose, (max_iter, tol, loss_every, n_cluster_starts))
        except KeyboardInterrupt:
            done = None
        if done is None:
            params["stopped"] = "interrupted"
            break
        solutions[k], rows[k] = done
        progress.advance(note=f"k={k}: {R} replicates" + (f", {cv_folds}-fold CV" if cv_folds else ""))
    progress.close()
    if not solutions:
        raise KeyboardInterrupt("extract was stopped before the first rank was finished")
    table = pd.DataFrame.from_dict(rows, orient="index").rename_axis("k")
    k_sp, cand, walk = sigprofiler_rank(table, {k: s.sample_errors for k, s in solutions.items()},
                                        stability=stability, min_stability=min_stability,
                                        combined_stability=combined_stability, pvalue=pvalue,
                                        allow_stability_drop=allow_stability_drop)
    table["candidate"] = cand
    k_cv = cv_rank(table) if cv_folds else None
    k_out = k_cv if rule == "cv" and k_cv is not None else k_sp
    decomposition = None
    if ref is not None:
        from ._decompose import decompose

        decomposition = decompose(solutions[k_out].signatures, ref)
    params["seconds"] = time.perf_counter() - start
    return ExtractionResult(table=table, k_sigprofiler=k_sp, k_cv=k_cv, k=k_out, rule=rule,
                            solutions=solutions, walkdown=walk, catalog=X,
                            decomposition=decomposition, params=params)


def _one_rank(X, D, Xcv, k, spec, masks, seqs, params, left, verbose, settings):
    """Replicates, clustering, consensus and CV at rank ``k``: ``(Solution, row)`` or None
    when interrupted."""
    max_iter, tol, loss_every, n_starts = settings
    s_init, s_cv, s_clu = (np.random.SeedSequence(entropy=s.entropy, spawn_key=s.spawn_key + (k,))
                           for s in seqs)
    t0 = time.perf_counter()
    opts = LoopOptions(max_iter=max_iter, tol=tol, loss_every=loss_every, max_time=left,
                       verbose=verbose, warn=False, desc=f"extract k={k}")
    init_seeds = s_init.generate_state(D.shape[0] + 1).tolist()
    base, spec = spec, rank_loss(spec, Xcv, k, init_seeds[-1], opts)
    if spec is None:
        return None
    if spec.nb:
        params["dispersions"][k] = spec.dispersion
    _, H, outcome = fit_replicates(D, k, init_seeds[:-1], spec, opts)
    if "interrupted" in outcome.stop_reason:
        return None
    clusters = matched_clusters(H, n_starts=n_starts, random_state=s_clu)
    sol = _solution(k, X, clusters, X.columns)
    row = _row(sol, X, outcome, 0.0)
    if len(masks):
        errs = cv_errors(Xcv, k, masks, s_cv.generate_state(len(masks)).tolist(), base, opts,
                         D.dtype)
        if errs is None:
            return None
        row["cv_error"] = float(errs.mean())
        row["cv_se"] = float(errs.std(ddof=1) / np.sqrt(len(errs))) if len(errs) > 1 else 0.0
    else:
        row["cv_error"] = row["cv_se"] = np.nan
    row["seconds"] = time.perf_counter() - t0
    return sol, row
