"""ContrastiveNMF against plain NMF, PCA, contrastive PCA and the reference bcNMF updates.

Two data sets, each scored by the ARI of KMeans(2, n_init=10, random_state=0) on the
target's 2-D codes / projections against the known labels:

- the bcNMF count simulation (``make_contrastive_counts``, data seed 0), cells
  library-size normalised to the median total and ``log1p``-transformed;
- UCI mice protein: target = Saline S/C mice (Control + Ts65Dn), background = Saline
  C/S Controls, label = genotype.

Methods (same preprocessing per data set unless said):

- ``cnmf``: nmfkit.ContrastiveNMF. Simulation: Frobenius, k=2, default alpha (2),
  4 restarts. Mice: KL, proteins divided by their background mean, k=3, alpha=0.45,
  NaN masked; median over seeds 0-4.
- ``cnmf_bg``: ContrastiveNMF with background programs, KL, default alpha (2), default
  4 restarts. Simulation: the **raw counts**, k=2, ``n_background_components=7``.
  Mice: as ``cnmf`` with ``n_background_components=2``, k=3; median over seeds 0-4.
  ``cnmf_bg_frobenius_log``: the same on the log-normalised simulation with the
  Frobenius loss (float32).
- ``ceiling``: supervised read-outs, for scale (they see the labels). Simulation: a
  logistic regression (C=0.1, 5-fold cross-validated predictions) on the 240
  log-normalised target genes (``lr_log``), and the Poisson likelihood ratio of the
  two subtypes given the true programs and each cell's true shared class
  (``oracle``). Mice: logistic regression (standardised, mean-imputed proteins),
  leave-one-mouse-out (all 15 rows of a mouse held out together).
- ``nmf``: nmfkit.nmf of the target alone (simulation: Frobenius k=2; mice: KL k=3, NaN masked).
- ``pca``: sklearn PCA(2) of the target (standardised; mice NaN mean-imputed).
- ``cpca``: contrastive PCA (Abid et al. 2018; PyPI ``contrastive`` is not installed, so a
  faithful small version): both sets z-scored with their own mean and sd, top-2
  eigenvectors of ``C_X - a C_Y``; ``cpca_best`` is the best ARI over
  ``a in {0} U logspace(-1, 3, n)`` (n = 40 on the mice, 12 on the 3,000-gene
  simulation; an oracle choice, favourable to cPCA), ``cpca_a2.7`` a fixed a.
- ``ref``: our NumPy re-implementation of the reference's SSE update rules (bcnmf.md
  §1.2; features x samples, U[0,1) start, eps 1e-10 in denominators), K=2, alpha=2,
  300 iterations on the simulation; K=5, alpha=3, 100 iterations on the raw mice data
  with NaN filled by 0 (the reference's HEAD protocol), KMeans on the raw codes.

Timing: seconds per iteration of ContrastiveNMF (Frobenius, k=2, tol=0, one restart,
full batch, the objective tracked every iteration from products it already has)
against the reference rules for the same number of iterations on the same simulation
data (float64 and float32), with and without the reference's per-iteration monitoring
trace (its ``perf``, which forms both reconstructions). Per iteration = the slope
``(t(3n) - t(n)) / 2n``, so input validation and set-up cancel; the ratio of whole calls
of n iterations (ours including validation, restarts bookkeeping and the final exact
codes) is printed too. Prints ``name: ratio`` lines (ours / reference; < 1 = ours
faster). Usage::

    python benchmarks/bench_contrastive.py [--betas 0,1,2,4,8,16] [--seeds 0] [--iters 100]
        [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings

import numpy as np
from scipy.linalg import eigh
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score

import nmfkit
from nmfkit.datasets import load_mice_protein, make_contrastive_counts


def ari(labels, Z) -> float:
    Z = Z.to_numpy() if hasattr(Z, "to_numpy") else np.asarray(Z)
    return float(adjusted_rand_score(labels, KMeans(2, n_init=10, random_state=0).fit_predict(Z)))


def _reference_start(X, Y, k, seed):
    """The reference's start: every factor U[0, 1), in the data's dtype (features x samples)."""
    rng = np.random.default_rng(seed)
    return tuple(rng.random(shape).astype(X.dtype)
                 for shape in ((X.shape[0], k), (k, X.shape[1]), (k, Y.shape[1])))


def reference_sse(X, Y, k, alpha, n_iter, seed=0, trace=True):
    """The reference's SSE updates, X and Y features x samples (bcnmf.md §1.2)."""
    W, HX, HY = _reference_start(X, Y, k, seed)
    eps = 1e-10
    perf = []
    for _ in range(n_iter):
        HX = HX * (W.T @ X) / (W.T @ W @ HX + eps)
        HY = HY * (W.T @ Y) / (W.T @ W @ HY + eps)
        W = W * (X @ HX.T + alpha * W @ (HY @ HY.T)) / (W @ (HX @ HX.T) + alpha * Y @ HY.T + eps)
        if trace:
            perf.append(np.mean((W @ HX - X) ** 2) + alpha * np.mean((W @ HY - Y) ** 2))
    return W, HX, HY


def reference_poisson(X, Y, k, alpha, n_iter, seed=0, damping=0.5, trace=True):
    """The reference's Poisson updates with damping (bcnmf.md §1.3), features x samples.

    Its dense all-ones products ``Wᵀ1`` and ``1 Hᵀ`` are computed as column / row sums here
    (cheaper than the reference, so the comparison favours it). ``trace``: its
    per-iteration score ``ll_X − α ll_Y`` (per-element Poisson log-likelihoods).
    """
    W, HX, HY = _reference_start(X, Y, k, seed)
    eps = 1e-16
    perf = []
    for _ in range(n_iter):
        cw = W.sum(axis=0)[:, None] + eps
        HX = HX * np.maximum((W.T @ (X / (W @ HX + eps))) / cw, eps) ** damping
        HY = HY * np.maximum((W.T @ (Y / (W @ HY + eps))) / cw, eps) ** damping
        RX, RY = X / (W @ HX + eps), Y / (W @ HY + eps)
        num = RX @ HX.T + alpha * HY.sum(axis=1)[None, :]
        den = HX.sum(axis=1)[None, :] + alpha * (RY @ HY.T) + eps
        W = W * np.maximum(num / den, eps) ** damping
        if trace:
            RX, RY = np.maximum(W @ HX, eps), np.maximum(W @ HY, eps)
            perf.append(np.mean(X * np.log(RX) - RX) - alpha * np.mean(Y * np.log(RY) - RY))
    return W, HX, HY


def _zscore(A):
    sd = A.std(axis=0)
    return (A - A.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


def cpca_scores(X, Y, labels, n_grid=40, n=2):
    """cPCA: top-n eigenvectors of C_X - a C_Y of the z-scored sets; ARI of the target's projection.

    Returns the best ARI over a in {0} U logspace(-1, 3, n_grid) (an oracle choice), that a,
    and the ARI at a = 2.7. Dense symmetric eigensolver (top n eigenpairs only).
    """
    Zx, Zy = _zscore(X), _zscore(Y)
    Cx, Cy = Zx.T @ Zx / len(Zx), Zy.T @ Zy / len(Zy)
    m = Cx.shape[0]

    def score(a):
        _, V = eigh(Cx - a * Cy, subset_by_index=[m - n, m - 1])
        return ari(labels, Zx @ V)

    scores = {a: score(a) for a in [0.0, *np.logspace(-1, 3, n_grid)]}
    best = max(scores, key=scores.get)
    return scores[best], best, score(2.7)


def sim_ceilings(d, X):
    """Supervised ARIs: CV logistic regression on the log target genes; the Poisson oracle."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict

    pred = cross_val_predict(LogisticRegression(C=0.1, max_iter=3000), X[:, 1250:1490], d.labels,
                             cv=5)
    base = 10 * d.beta * d.H_shared[d.target_classes] + 0.03  # + 0.02 + 0.01 E[g] E[c]
    mu0, mu1 = base + 0.15 * d.H_target[0], base + 0.15 * d.H_target[1]
    llr = (d.X * np.log(mu1 / mu0)).sum(1) - d.X.sum(1) / mu0.sum(1) * (mu1 - mu0).sum(1)
    return (float(adjusted_rand_score(d.labels, pred)),
            float(adjusted_rand_score(d.labels, (llr > 0).astype(int))))


def simulation(betas, seeds):
    print("# simulation (make_contrastive_counts; log1p of median-normalised counts, raw counts "
          "for cnmf_bg)")
    for seed in seeds:
        for beta in betas:
            d = make_contrastive_counts(beta, random_state=seed, dtype=np.float32)
            t0 = time.perf_counter()
            bg = nmfkit.contrastive_nmf(d.X, d.Y, 2, loss="kl", n_background_components=7,
                                        random_state=0)
            t_bg = time.perf_counter() - t0
            X, Y = (A.astype(np.float64) for A in d.log_normalized())
            t0 = time.perf_counter()
            fr = nmfkit.contrastive_nmf(X.astype(np.float32), Y.astype(np.float32), 2,
                                        n_background_components=7, random_state=0)
            t_fr = time.perf_counter() - t0
            lr, oracle = sim_ceilings(d, X)
            print(f"sim seed={seed} beta={beta:g}: cnmf_bg {ari(d.labels, bg.W_target):.3f} "
                  f"({t_bg:.1f} s, enrichment {np.round(bg.enrichment, 2).tolist()})  "
                  f"cnmf_bg_frobenius_log {ari(d.labels, fr.W_target):.3f} ({t_fr:.1f} s)  "
                  f"ceiling lr_log {lr:.3f} oracle {oracle:.3f}", flush=True)
    for beta in betas:
        d = make_contrastive_counts(beta, random_state=0)
        X, Y = d.log_normalized()
        cn = nmfkit.contrastive_nmf(X, Y, 2, random_state=0)
        nm = nmfkit.nmf(X, 2, random_state=0)
        pc = PCA(2, random_state=0).fit_transform((X - X.mean(0)) / np.maximum(X.std(0), 1e-12))
        cbest, abest, cfix = cpca_scores(X, Y, d.labels, n_grid=12)
        _, HX, _ = reference_sse(X.T.copy(), Y.T.copy(), 2, 2.0, 300, trace=False)
        print(f"sim beta={beta:g}: cnmf {ari(d.labels, cn.W_target):.3f}  nmf {ari(d.labels, nm.W):.3f}"
              f"  pca {ari(d.labels, pc):.3f}  cpca_best {cbest:.3f} (a={abest:.3g})"
              f"  cpca_a2.7 {cfix:.3f}  ref {ari(d.labels, HX.T):.3f}", flush=True)


def mice():
    d = load_mice_protein()
    obs = d.obs
    t = (obs.Treatment == "Saline") & (obs.Behavior == "S/C")
    b = (obs.Treatment == "Saline") & (obs.Behavior == "C/S") & (obs.Genotype == "Control")
    labels = (obs.Genotype[t] == "Ts65Dn").to_numpy().astype(int)
    scale = d.X[b].mean()
    X, Y = d.X[t] / scale, d.X[b] / scale
    print("# mice protein (270 target rows, 135 background rows, 77 proteins)")
    cn = [ari(labels, nmfkit.contrastive_nmf(X, Y, 3, loss="kl", alpha=0.45, random_state=s).W_target)
          for s in range(5)]
    bg = [ari(labels, nmfkit.contrastive_nmf(X, Y, 3, loss="kl", n_background_components=2,
                                             random_state=s).W_target) for s in range(5)]
    nm = [ari(labels, nmfkit.nmf(X, 3, loss="kl", random_state=s, max_iter=1000).W) for s in range(5)]
    Xr, Yr = d.X[t].to_numpy(), d.X[b].to_numpy()
    mu = np.nanmean(np.r_[Xr, Yr], axis=0)
    Xi, Yi = np.where(np.isnan(Xr), mu, Xr), np.where(np.isnan(Yr), mu, Yr)
    pc = PCA(2, random_state=0).fit_transform((Xi - Xi.mean(0)) / Xi.std(0))
    cbest, abest, cfix = cpca_scores(Xi, Yi, labels)
    ref = [ari(labels, reference_sse(np.nan_to_num(Xr).T.copy(), np.nan_to_num(Yr).T.copy(), 5, 3.0,
                                     100, seed=s, trace=False)[1].T) for s in range(5)]
    lomo, wrong = mice_ceiling(Xi, labels, obs.index[t])
    print(f"mice: cnmf median {np.median(cn):.3f} {np.round(cn, 3).tolist()}  cnmf_bg median "
          f"{np.median(bg):.3f} {np.round(bg, 3).tolist()}  ceiling lomo_lr {lomo:.3f} (mice "
          f"misassigned: {wrong})  nmf median "
          f"{np.median(nm):.3f}  pca {ari(labels, pc):.3f}  cpca_best {cbest:.3f} (a={abest:.3g})"
          f"  cpca_a2.7 {cfix:.3f}  ref median {np.median(ref):.3f}", flush=True)


def mice_ceiling(Xi, labels, index):
    """Leave-one-mouse-out logistic regression on standardised proteins: ARI, mice wrong."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    mouse = np.asarray([str(i).rsplit("_", 1)[0] for i in index])
    pred = np.zeros(len(labels), dtype=int)
    for m in np.unique(mouse):
        te = mouse == m
        sc = StandardScaler().fit(Xi[~te])
        lr = LogisticRegression(max_iter=5000).fit(sc.transform(Xi[~te]), labels[~te])
        pred[te] = lr.predict(sc.transform(Xi[te]))
    wrong = sorted({str(m) for m in np.unique(mouse)
                    if (np.mean(pred[mouse == m]) > 0.5) != bool(labels[mouse == m][0])})
    return float(adjusted_rand_score(labels, pred)), wrong


def _median_time(fn, n, repeats):
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(n)
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def _per_iteration(fn, iters, repeats):
    """``(slope, whole)``: (t(3n) − t(n)) / 2n, and t(n) / n (set-up included)."""
    t1 = _median_time(fn, iters, repeats)
    return (_median_time(fn, 3 * iters, repeats) - t1) / (2 * iters), t1 / iters


def timing(iters, repeats):
    """Per-iteration seconds as the slope (t(3n) - t(n)) / 2n, so set-up costs cancel."""
    d = make_contrastive_counts(8, random_state=0)
    X, Y = d.log_normalized()
    for dtype in (np.float64, np.float32):
        Xd, Yd = X.astype(dtype), Y.astype(dtype)
        Xt, Yt = Xd.T.copy(), Yd.T.copy()  # the reference stores features x samples

        def ours(n):
            nmfkit.contrastive_nmf(Xd, Yd, 2, alpha=2.0, n_restarts=1, max_iter=n, tol=0,
                                   random_state=0)

        def per_iter(fn):
            return _per_iteration(fn, iters, repeats)

        (t_ours, tt_ours) = per_iter(ours)
        (t_ref, tt_ref) = per_iter(lambda n: reference_sse(Xt, Yt, 2, 2.0, n, trace=True))
        (t_nt, tt_nt) = per_iter(lambda n: reference_sse(Xt, Yt, 2, 2.0, n, trace=False))
        name = np.dtype(dtype).name
        print(f"# {name}: per iteration ours {1e3 * t_ours:.2f} ms, reference {1e3 * t_ref:.2f} ms, "
              f"reference without its trace {1e3 * t_nt:.2f} ms (slope over {iters}..{3 * iters} "
              f"iterations, k=2, X {X.shape}, Y {Y.shape}); whole calls of {iters} iterations "
              f"incl. validation and set-up: {1e3 * tt_ours:.2f} / {1e3 * tt_ref:.2f} / "
              f"{1e3 * tt_nt:.2f} ms per iteration")
        print(f"cnmf_over_reference_{name}: {t_ours / t_ref:.2f}")
        print(f"cnmf_over_reference_notrace_{name}: {t_ours / t_nt:.2f}")
        print(f"cnmf_over_reference_notrace_{name}_whole_call: {tt_ours / tt_nt:.2f}")
    # KL on the raw counts (beta = 8), k = 2, alpha = 0.5, against the damped Poisson rules
    for dtype in (np.float64, np.float32):
        Xd, Yd = d.X.astype(dtype), d.Y.astype(dtype)
        Xt, Yt = Xd.T.copy(), Yd.T.copy()

        def ours_kl(n):
            nmfkit.contrastive_nmf(Xd, Yd, 2, loss="kl", alpha=0.5, n_restarts=1, max_iter=n,
                                   tol=0, random_state=0)

        kl_iters = max(iters // 4, 5)
        t_ours, t_ref, t_nt = (
            _per_iteration(fn, kl_iters, repeats)[0]
            for fn in (ours_kl, lambda n: reference_poisson(Xt, Yt, 2, 0.5, n),
                       lambda n: reference_poisson(Xt, Yt, 2, 0.5, n, trace=False)))
        name = np.dtype(dtype).name
        print(f"# KL {name}: per iteration ours {1e3 * t_ours:.2f} ms, reference Poisson rules "
              f"{1e3 * t_ref:.2f} ms, without its trace {1e3 * t_nt:.2f} ms (slope over "
              f"{kl_iters}..{3 * kl_iters} iterations, raw counts)")
        print(f"cnmf_kl_over_reference_poisson_{name}: {t_ours / t_ref:.2f}")
        print(f"cnmf_kl_over_reference_poisson_notrace_{name}: {t_ours / t_nt:.2f}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--betas", default="0,1,2,4,8,16")
    p.add_argument("--seeds", default="0", help="data seeds of the simulation for cnmf_bg")
    p.add_argument("--iters", type=int, default=100)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--skip-ari", action="store_true", help="timing only")
    p.add_argument("--skip-timing", action="store_true", help="ARI only")
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")
    print(f"# cpus={os.cpu_count()}, load={os.getloadavg()[0]:.2f}")
    if not args.skip_ari:
        simulation([float(b) for b in args.betas.split(",") if b],
                   [int(v) for v in args.seeds.split(",") if v])
        mice()
    if not args.skip_timing:
        timing(args.iters, args.repeats)
    print(f"# load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
