"""JointNMF (iNMF) fit time against plain NMF of the concatenated data (nmfkit, scikit-learn).

Data: the PBMC 68k subset (700 cells x 765 genes) in two seeded random halves, the second
with a gene-wise log-normal batch effect (sd 0.7), library-size normalised, log1p, genes
scaled by their RMS (the preparation of tests/test_joint.py). ``--tile T`` stacks T copies
of the cells (each copy's batch kept) for a larger problem. k = 10.

Methods, each fitted once per repeat in this process (median wall time of ``--repeats``):

- ``joint``: nmfkit JointNMF(10, lam) at its defaults (NMF start, tol=1e-5, max_iter=300);
- ``joint_fixed``: JointNMF, init="random", tol=0, ``--iters`` iterations (per-iteration cost);
- ``nmf``: nmfkit NMF(10) of the stacked data at its defaults;
- ``sklearn``: sklearn.decomposition.NMF(10, init="nndsvda", max_iter=500) (coordinate descent).

Prints the times, the ratios ``joint / nmf`` and ``joint / sklearn``, and the batch mixing /
cell-type ARI of each method's codes (tests/test_joint.py's scores). Usage::

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_joint.py [--tile 1] [--lam 1.0] [--iters 50]
        [--repeats 3]

(Measured with one BLAS thread: on the shared 2-core machine, under a load of ~10,
multithreaded BLAS made each 350 x 765 x 10 GEMM ~20x slower for every method.)
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

from _timing import timed


def prepare(seed=0, sd=0.7, tile=1):
    from nmfkit.datasets import make_pbmc_batches

    d = make_pbmc_batches(sd=sd, random_state=seed)
    return np.tile(d.X, (tile, 1)), np.tile(d.batch, tile), np.tile(d.labels, tile)


def scores(codes, batch, labels):
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score
    from sklearn.neighbors import NearestNeighbors

    C = codes / np.maximum(np.linalg.norm(codes, axis=1, keepdims=True), 1e-12)
    nn = NearestNeighbors(n_neighbors=21).fit(C).kneighbors(C, return_distance=False)
    mix = float((batch[nn[:, 1:]] != batch[:, None]).mean() / 0.5)
    ari = adjusted_rand_score(labels, KMeans(10, n_init=10, random_state=0).fit_predict(C))
    return mix, float(ari)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tile", type=int, default=1)
    ap.add_argument("--lam", type=float, default=1.0)
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    from sklearn.decomposition import NMF as SkNMF

    from nmfkit.models.joint import JointNMF
    from nmfkit.models.nmf import NMF

    warnings.simplefilter("ignore")
    E, batch, labels = prepare(tile=a.tile)
    print(f"data: {E.shape[0]} cells x {E.shape[1]} genes, 2 batches, k=10, lam={a.lam}")
    runs = {
        "joint": lambda: JointNMF(10, lam=a.lam, random_state=0),
        "joint_fixed": lambda: JointNMF(10, lam=a.lam, init="random", tol=0, max_iter=a.iters,
                                        random_state=0),
        "nmf": lambda: NMF(10, random_state=0),
        "sklearn": lambda: SkNMF(10, init="nndsvda", max_iter=500, random_state=0),
    }
    res = {}
    for name, make in runs.items():
        def fit(make=make, name=name):
            model = make()
            codes = (model.fit_transform(E, batch=batch) if name.startswith("joint")
                     else model.fit_transform(E))
            return model, codes
        t, (model, codes) = timed(fit, a.repeats)
        mix, ari = scores(codes, batch, labels)
        res[name] = t
        print(f"{name:12s} {t:8.3f} s  n_iter={getattr(model, 'n_iter_', '?')!s:>4}  "
              f"mixing={mix:.3f}  ARI={ari:.3f}")
    print(f"joint / nmf: {res['joint'] / res['nmf']:.2f}")
    print(f"joint / sklearn: {res['joint'] / res['sklearn']:.2f}")
    print(f"joint_fixed per iteration: {1e3 * res['joint_fixed'] / a.iters:.1f} ms")


if __name__ == "__main__":
    main()
