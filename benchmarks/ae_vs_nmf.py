"""AE-vs-NMF study on a mutational catalog (Egendal et al., arXiv 2405.07879), reproducible.

R random 80/20 splits of the *samples*. On each training set four models extract K
signatures: NMF (Frobenius), NMF (KL), ConvexNMF and the non-negative linear
autoencoder in the paper's orientation (mutation types are its training examples,
``|·|`` weights, Adam, full batch). For each fit it records

- train error: MSE ``‖X − W H‖²/(n·96)`` and mean generalised KL per entry, with the
  model's own exposures;
- held-out error: the test samples' exposures refitted with the signatures fixed, by NNLS
  (MSE) and by the KL refit (KL per entry);
- the consistency of each method's signatures across the R splits (ACS: Hungarian-matched
  cosine averaged over all pairs of splits);
- the mean Hungarian-matched cosine to COSMIC (v3.4 SBS GRCh37) when available.

Writes ``runs.tsv`` (one row per method and split), ``summary.tsv`` (mean and sd per method)
and ``ae_vs_nmf.png`` (box plots) into ``--out`` (atomically; an existing folder is only
replaced with ``--force``) and prints the summary.

Usage::

    python benchmarks/ae_vs_nmf.py [CATALOG] [--k 4] [--splits 10] [--seed 0] \\
        [--out ae_vs_nmf_out] [--force] [--cosmic PATH]

CATALOG defaults to the bundled 21 breast cancers (nmfkit.datasets.load_breast_cancer_sbs96);
any SBS-96 table in either orientation and row order works (nmfkit.signatures.read_catalog).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np
import pandas as pd

import nmfkit
from nmfkit.cli._outdir import check_out_dir, staged_dir
from nmfkit.exceptions import NMFInputError
from nmfkit.io import atomic_write, write_table
from nmfkit.signatures import average_consistency, load_cosmic, match_signatures, read_catalog, refit_error

METHODS = ("NMF-Frobenius", "NMF-KL", "ConvexNMF", "AE-NMF")


def _models(k: int, seed: int, args):
    return {
        "NMF-Frobenius": nmfkit.NMF(k, loss="frobenius", init="random", max_iter=5000, tol=1e-8,
                                    random_state=seed),
        "NMF-KL": nmfkit.NMF(k, loss="kl", init="random", max_iter=5000, tol=1e-8, random_state=seed),
        # L-BFGS-B from Ding et al.'s k-means start: the convex model's best shot (the
        # multiplicative updates stall well above its optimum on these data)
        "ConvexNMF": nmfkit.ConvexNMF(k, solver="lbfgsb", init="kmeans", max_iter=400, tol=1e-9,
                                      random_state=seed),
        # the paper's AE-NMF: |.| weights, full batch, uniform(0, 1) start; Adam by default
        "AE-NMF": nmfkit.NonnegativeAutoencoder(
            k, examples="features", constraint="abs" if args.ae_optimizer == "adam" else "softplus",
            optimizer=args.ae_optimizer, lr=args.ae_lr if args.ae_optimizer == "adam" else None,
            max_iter=args.ae_epochs, tol=1e-7, n_iter_no_change=50, random_state=seed),
    }


def _kl(X, Xh) -> float:
    Xh = np.maximum(Xh, np.finfo(np.float32).eps)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(X > 0, X * np.log(X / Xh), 0.0)
    return float((t - X + Xh).mean())


def _load(args):
    if args.catalog is None:
        X = nmfkit.datasets.load_breast_cancer_sbs96().X
        return read_catalog(X, orientation="samples_x_types"), "bundled 21 breast cancers"
    return read_catalog(args.catalog), args.catalog


def _cosmic(args):
    try:
        return load_cosmic(args.cosmic), None
    except FileNotFoundError as exc:
        return None, str(exc)


def run_study(args):
    X, source = _load(args)
    n = X.shape[0]
    n_test = max(1, int(round(0.2 * n)))
    if n - n_test < args.k:
        raise NMFInputError(f"{n} samples leave {n - n_test} for training, fewer than K={args.k}")
    cosmic, why = _cosmic(args)
    print(f"# catalog: {source}: {n} samples x 96 types; K={args.k}; {args.splits} splits "
          f"({n - n_test} train / {n_test} test); seed {args.seed}")
    print(f"# COSMIC: {'%d reference signatures' % len(cosmic) if cosmic is not None else why}")
    rng = np.random.default_rng(args.seed)
    rows, sigs = [], {m: [] for m in METHODS}
    for split in range(args.splits):
        perm = rng.permutation(n)
        test, train = X.iloc[perm[:n_test]], X.iloc[perm[n_test:]]
        Xtr = train.to_numpy()
        for name, model in _models(args.k, args.seed * 1000 + split, args).items():
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", nmfkit.ConvergenceWarning)
                W = np.asarray(model.fit_transform(Xtr))
            secs = time.perf_counter() - t0
            H = np.asarray(model.components_)
            rec = W @ H
            alive = H.sum(axis=1) > 0  # a component can die (an all-zero row): K - dead signatures
            S = H[alive] / H[alive].sum(axis=1, keepdims=True)
            sigs[name].append(S)
            row = {"method": name, "split": split, "train_mse": float(((Xtr - rec) ** 2).mean()),
                   "test_mse": refit_error(test.to_numpy(), S, loss="frobenius").error,
                   "train_kl": _kl(Xtr, rec), "test_kl": refit_error(test.to_numpy(), S, loss="kl").error,
                   "dead": int((~alive).sum()), "n_iter": int(model.n_iter_), "seconds": secs}
            if cosmic is not None:
                match = match_signatures(pd.DataFrame(S, columns=X.columns), cosmic)
                row["cosmic_cosine"] = match.mean
                row["cosmic_match"] = ",".join(map(str, match.names))
            rows.append(row)
        print(f"# split {split + 1}/{args.splits} done", file=sys.stderr)
    runs = pd.DataFrame(rows)
    acs = {m: average_consistency(sigs[m]) for m in METHODS}
    return runs, acs, cosmic is not None


def summarise(runs: pd.DataFrame, acs) -> pd.DataFrame:
    cols = [c for c in ("train_mse", "test_mse", "train_kl", "test_kl", "cosmic_cosine", "dead", "seconds")
            if c in runs]
    g = runs.groupby("method", sort=False)[cols]
    mean, sd = g.mean(), g.std()
    out = pd.DataFrame(index=mean.index)
    for c in cols:
        out[c] = mean[c]
        out[c + "_sd"] = sd[c]
    out["consistency_acs"] = [acs[m].mean for m in out.index]
    # paired view: in how many splits each method had the lowest error
    for c in ("train_mse", "test_mse"):
        best = runs.loc[runs.groupby("split")[c].idxmin(), "method"].value_counts()
        out[f"lowest_{c}_splits"] = [int(best.get(m, 0)) for m in out.index]
    return out


def plot(runs, acs, has_cosmic, path, force):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("train_mse", "train MSE", True), ("test_mse", "held-out MSE (NNLS refit)", True),
              ("test_kl", "held-out KL/entry (KL refit)", True), (None, "consistency (pairwise ACS)", False)]
    if has_cosmic:
        panels.append(("cosmic_cosine", "mean cosine to COSMIC", False))
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 3.8))
    for ax, (col, title, log) in zip(axes, panels):
        data = [acs[m].pairs if col is None else runs.loc[runs.method == m, col].to_numpy() for m in METHODS]
        ax.boxplot(data, showmeans=True)
        ax.set_xticks(range(1, len(METHODS) + 1), METHODS, rotation=30, ha="right", fontsize=8)
        ax.set_title(title, fontsize=9)
        if log:
            ax.set_yscale("log")
    fig.tight_layout()
    with atomic_write(path, overwrite=force, mode="wb") as handle:
        fig.savefig(handle, format="png", dpi=120)
    plt.close(fig)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("catalog", nargs="?", default=None, help="SBS-96 catalog (default: bundled 21 breast)")
    p.add_argument("--k", type=int, default=4, help="number of signatures K (default 4)")
    p.add_argument("--splits", type=int, default=10, help="number of random 80/20 splits R (default 10)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="ae_vs_nmf_out", help="output folder (default ae_vs_nmf_out)")
    p.add_argument("--force", action="store_true", help="replace an existing output folder")
    p.add_argument("--cosmic", default=None, help="COSMIC SBS file (default: from SigProfilerAssignment)")
    p.add_argument("--ae-optimizer", choices=("adam", "lbfgs"), default="adam",
                   help="AE optimiser: the paper's Adam with |.| weights (default) or L-BFGS with softplus")
    p.add_argument("--ae-lr", type=float, default=1e-2, help="Adam learning rate of the AE (default 1e-2)")
    p.add_argument("--ae-epochs", type=int, default=5000, help="most AE epochs (default 5000)")
    args = p.parse_args(argv)
    try:
        if args.splits < 2 or args.k < 1:
            raise NMFInputError("--splits must be >= 2 (consistency needs pairs) and --k >= 1")
        check_out_dir(args.out, args.force)  # fail before the work, not after
        t0 = time.perf_counter()
        runs, acs, has_cosmic = run_study(args)
        summary = summarise(runs, acs)
        with staged_dir(args.out, args.force) as stage:
            write_table(runs.set_index(["method", "split"]), stage / "runs.tsv")
            write_table(summary, stage / "summary.tsv")
            plot(runs, acs, has_cosmic, stage / "ae_vs_nmf.png", False)
    except (NMFInputError, FileNotFoundError) as exc:
        print(f"ae_vs_nmf: error: {exc}", file=sys.stderr)
        return 2
    with pd.option_context("display.width", 200, "display.max_columns", 30, "display.precision", 4):
        print(summary)
    best = {c: summary[c].idxmin() for c in ("train_mse", "test_mse")}
    print(f"# lowest train MSE: {best['train_mse']}; lowest held-out MSE: {best['test_mse']}")
    print(f"# wrote {os.path.join(args.out, 'runs.tsv')}, summary.tsv, ae_vs_nmf.png "
          f"in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
