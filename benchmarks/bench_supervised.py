"""SupervisedNMF against unsupervised NMF + logistic regression: fit time and accuracy.

Data: ``load_pbmc68k()`` (700 cells x 765 genes), library-size normalised to 10^4 and
``log1p`` (Frobenius), or the raw counts (``--loss kl``); a seeded 10 % of the
``bulk_labels`` given. Methods, each fitted on all 700 cells with the same k and seed:

- ``supervised``: ``SupervisedNMF(k).fit(X, y_partial)`` (the joint fit, the label-free
  codes and the refitted label factor: everything ``predict`` needs);
- ``nmf+lr``: ``nmfkit.NMF(k).fit_transform(X)`` then ``LogisticRegression`` on the
  labelled cells' codes;
- ``sk_nmf+lr``: the same with ``sklearn.decomposition.NMF`` (init="nndsvda", same loss).

Accuracy on the other 90 %. Times are the median of ``--repeat`` runs per seed,
summed over the seeds; the ratio is supervised / peer (< 1: SupervisedNMF faster).

Run: ``PYTHONPATH=src python benchmarks/bench_supervised.py [--loss kl] [--seeds 3]``
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import scipy.sparse as sp


def _data(loss):
    from nmfkit.datasets import load_pbmc68k

    d = load_pbmc68k()
    X = d.X.tocsr().astype(np.float64)
    y = np.asarray(d.obs["bulk_labels"].cat.codes)
    if loss == "kl":
        return X, y
    Xn = sp.csr_matrix(sp.diags(1e4 / np.asarray(X.sum(axis=1)).ravel()) @ X)
    Xn.data = np.log1p(Xn.data)
    return Xn, y


def _timed(fn, repeat):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times)), out


def _methods(X, y, lab, k, seed, loss):
    from sklearn.decomposition import NMF as SkNMF
    from sklearn.linear_model import LogisticRegression

    from nmfkit.models.nmf import NMF
    from nmfkit.models.supervised import SupervisedNMF

    test = ~lab

    def supervised():
        m = SupervisedNMF(k, loss=loss, random_state=seed, max_iter=1000).fit(X, np.where(lab, y, -1))
        return m.predict(X[test])

    def peer(model):
        def run():
            W = model.fit_transform(X)
            lr = LogisticRegression(max_iter=2000).fit(W[lab], y[lab])
            return lr.predict(W[test])
        return run

    sk_loss = "frobenius" if loss == "frobenius" else "kullback-leibler"
    return {
        "supervised": supervised,
        "nmf+lr": peer(NMF(k, loss=loss, random_state=seed, max_iter=1000)),
        "sk_nmf+lr": peer(SkNMF(k, init="nndsvda", beta_loss=sk_loss,
                                solver="cd" if loss == "frobenius" else "mu",
                                random_state=seed, max_iter=1000)),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loss", choices=("frobenius", "kl"), default="frobenius")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=1)
    a = ap.parse_args(argv)
    X, y = _data(a.loss)
    times, accs = {}, {}
    for seed in range(a.seeds):
        lab = np.zeros(y.size, dtype=bool)
        lab[np.random.default_rng(seed).choice(y.size, round(0.1 * y.size), replace=False)] = True
        for name, fn in _methods(X, y, lab, a.k, seed, a.loss).items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t, pred = _timed(fn, a.repeat)
            times[name] = times.get(name, 0.0) + t
            accs.setdefault(name, []).append(float((pred == y[~lab]).mean()))
    print(f"PBMC68k {X.shape[0]}x{X.shape[1]}, loss={a.loss}, k={a.k}, 10% labelled, "
          f"seeds 0..{a.seeds - 1}")
    print(f"{'method':<12} {'time_s':>8} {'ratio':>7} {'accuracy (mean)':>16}")
    for name in times:
        ratio = times["supervised"] / times[name]
        print(f"{name:<12} {times[name]:8.2f} {ratio:7.2f} {np.mean(accs[name]):16.3f}  "
              f"{np.round(accs[name], 3).tolist()}")


if __name__ == "__main__":
    main()
