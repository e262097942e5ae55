"""MiniBatchNMF against scikit-learn's MiniBatchNMF, in one process on the same data.

For each case scikit-learn runs ``--epochs`` epochs (``tol=0``, ``max_no_improvement=None``)
with batch size ``--batch-size``; its final objective ``L_sk`` is ``D_β(X | W H)`` at the
codes its ``fit_transform`` returns. nmfkit then runs 1, 2, 3, 5, 8, ... epochs (same batch
size, each run a fresh ``fit`` including its final pass over the data, which gives the codes
of every row, ``result_.W``) until its final objective (the same ``D_β`` at those codes)
is at most ``L_sk``; the time of that run
over scikit-learn's time is ``time_to_sklearn_objective`` (issue 12 target <= 0.25).
The final objectives after the same number of epochs are printed too.

Cases: sparse 10x mouse counts (bundled, 10,000 x 1,000, KL, k = 10) and a dense
low-rank matrix (20,000 x 1,000, rank 10 plus 30 % Gaussian noise, Frobenius, k = 10).

Usage::

    python benchmarks/bench_minibatch.py [--epochs 20] [--batch-size 1024] [--repeats 1]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings

import numpy as np
from sklearn.decomposition import MiniBatchNMF as SkMiniBatchNMF

import nmfkit
from nmfkit.backends import NumpyBackend
from nmfkit.datasets import make_low_rank
from nmfkit.losses import Target, beta_divergence

EPOCH_STEPS = (1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 25, 30, 40, 50, 60, 80, 100)


def objective(X, W, H, beta):
    return float(beta_divergence(Target(X, None, NumpyBackend()), np.asarray(W), np.asarray(H), beta))


def sklearn_run(X, k, loss, args):
    sk = SkMiniBatchNMF(k, beta_loss="kullback-leibler" if loss == "kl" else loss, batch_size=args.batch_size, max_iter=args.epochs, tol=0,
                        max_no_improvement=None, random_state=0)
    t = time.perf_counter()
    W = sk.fit_transform(X)
    return time.perf_counter() - t, objective(X, W, sk.components_, 2.0 if loss == "frobenius" else 1.0)


def nmfkit_run(X, k, loss, epochs, args):
    model = nmfkit.MiniBatchNMF(k, loss=loss, batch_size=args.batch_size, max_iter=epochs, tol=0,
                                random_state=0)
    t = time.perf_counter()
    model.fit(X)  # its final pass: the codes of every row at the final H (result_.W)
    elapsed = time.perf_counter() - t
    beta = 2.0 if loss == "frobenius" else 1.0
    return elapsed, objective(X, model.result_.W, model.result_.H, beta)


def case(name, X, k, loss, args):
    t_sk, L_sk = sklearn_run(X, k, loss, args)
    print(f"{name}: scikit-learn {args.epochs} epochs: {t_sk:.2f} s, objective {L_sk:.6g}")
    reached = None
    for e in EPOCH_STEPS:
        if e > 5 * args.epochs:
            break
        t, L = nmfkit_run(X, k, loss, e, args)
        print(f"  nmfkit {e:>3} epochs: {t:.2f} s, objective {L:.6g} ({L / L_sk - 1:+.2%} vs scikit-learn)")
        if L <= L_sk:
            reached = (e, t)
            break
    t_same, L_same = nmfkit_run(X, k, loss, args.epochs, args)
    print(f"{name}: same_epochs_objective_ratio: {L_same / L_sk:.4f} (nmfkit {args.epochs} epochs "
          f"{t_same:.2f} s, time ratio {t_same / t_sk:.3f})")
    if reached is None:
        print(f"{name}: time_to_sklearn_objective: not reached within {5 * args.epochs} epochs")
    else:
        print(f"{name}: time_to_sklearn_objective: {reached[1] / t_sk:.3f} "
              f"({reached[0]} epochs, {reached[1]:.2f} s vs {t_sk:.2f} s)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--cases", default="kl,frobenius")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"nmfkit {nmfkit.__version__}, batch {args.batch_size}, {args.epochs} epochs")
    cases = args.cases.split(",")
    if "kl" in cases:
        X = nmfkit.datasets.load_mouse10k().X
        case("mouse10k KL (sparse 10,000 x 1,000)", X, 10, "kl", args)
    if "frobenius" in cases:
        X = make_low_rank(20_000, 1_000, 10, noise=0.3, kind="gaussian", random_state=0).X
        case("dense low-rank Frobenius (20,000 x 1,000)", X, 10, "frobenius", args)


if __name__ == "__main__":
    main()
