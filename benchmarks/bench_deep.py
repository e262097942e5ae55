"""DeepNMF (10, 5) against flat NMF with k = 5 and k = 10, in one process on the same data.

No deep-NMF package exists on PyPI (reference §6: peers are unpackaged Theano / MATLAB
code), so the peer is nmfkit's own flat NMF at the two ranks of the chain: what a user
would fit instead. Each fit's wall time, the ratio DeepNMF / NMF, and the ARI of argmax
clusters (top layer and k = 5 against the 5 super-categories, first layer and k = 10
against the 10 groups) are printed.

Cases (newsgroups10, bundled, sparse throughout):

* ``frobenius``: tf-idf (l2-normalised rows, scikit-learn's ``TfidfTransformer``) of all
  9,546 documents × 27,137 words; NMF by accelerated HALS (nmfkit's default), DeepNMF's
  pre-training by HALS and fine-tuning by multiplicative updates;
* ``kl``: word counts of the seeded 1,500-document subset of ``tests/test_deep.py`` (words
  in >= 3 of them), KL, ``--iters`` iterations everywhere (pre-training, fine-tuning, NMF).

Usage::

    python benchmarks/bench_deep.py [--case frobenius|kl|both] [--iters 100]
"""

from __future__ import annotations

import argparse
import platform
import time
import warnings

import numpy as np
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.metrics import adjusted_rand_score

import nmfkit
from nmfkit.models.deep import DeepNMF


def _data(case):
    d = nmfkit.datasets.load_newsgroups10()
    sup, grp = d.obs["super"].to_numpy(), d.obs["group"].to_numpy()
    if case == "frobenius":
        return TfidfTransformer().fit_transform(d.X), sup, grp
    idx = np.sort(np.random.default_rng(0).choice(d.X.shape[0], 1500, replace=False))
    X = d.X[idx]
    keep = np.flatnonzero(np.diff((X > 0).tocsc().indptr) >= 3)
    return X[:, keep].tocsr(), sup[idx], grp[idx]


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def run_case(case, iters):
    X, sup, grp = _data(case)
    kw = {"loss": case, "random_state": 0}
    it = {} if case == "frobenius" else {"max_iter": iters}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r5, t5 = _timed(lambda: nmfkit.nmf(X, 5, **kw, **it))
        r10, t10 = _timed(lambda: nmfkit.nmf(X, 10, **kw, **it))
        deep_it = {} if case == "frobenius" else {"pretrain_max_iter": iters, "max_iter": iters}
        m, td = _timed(lambda: DeepNMF((10, 5), **kw, **deep_it).fit(X))
    ari = adjusted_rand_score
    print(f"\n[{case}] X {X.shape[0]} x {X.shape[1]} sparse, nnz {X.nnz}")
    print(f"  NMF k=5     {t5:8.2f} s  iters {r5.n_iter:4d}  ARI(super) {ari(sup, r5.W.argmax(1)):.3f}")
    print(f"  NMF k=10    {t10:8.2f} s  iters {r10.n_iter:4d}  ARI(group) {ari(grp, r10.W.argmax(1)):.3f}")
    print(f"  DeepNMF     {td:8.2f} s  fine-tuning iters {m.n_iter_:4d}  ARI(super, top) "
          f"{ari(sup, m.labels_):.3f}  ARI(group, layer 1) {ari(grp, m.codes_[0].argmax(1)):.3f}")
    print(f"  ratio DeepNMF / NMF k=5 {td / t5:.2f}   DeepNMF / NMF k=10 {td / t10:.2f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", choices=("frobenius", "kl", "both"), default="both")
    ap.add_argument("--iters", type=int, default=100)
    args = ap.parse_args()
    print(f"nmfkit {nmfkit.__version__}, numpy {np.__version__}, {platform.processor() or platform.machine()}")
    for case in (("frobenius", "kl") if args.case == "both" else (args.case,)):
        run_case(case, args.iters)


if __name__ == "__main__":
    main()
