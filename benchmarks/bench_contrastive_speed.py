"""Seconds per ContrastiveNMF fit in the README recipe against plain NMF of the same size (issue 17).

Data (``--data``): ``sim``, 1,000 + 1,000 cells × 2,000 genes of counts (the bcNMF count
simulation, ``make_contrastive_counts(beta=8)``, its first 2,000 genes); ``mouse``, the
planted-program case ``make_planted_program("mouse10k", n_cells=2000)`` (1,000 + 1,000
real cells × the 1,000 bundled genes; more iterations than the simulation). Timed, each the median of
``--repeats`` runs:

- ``cnmf k=1`` / ``cnmf k=2``: ``ContrastiveNMF(k, alpha=3, preprocess="log1p_cp10k")``
  (Frobenius, no background programs, the default 4 restarts, float64), whole ``fit``;
- ``nmf k=1`` / ``nmf k=2``: ``nmfkit.NMF(k)`` (Frobenius, its default solver) of the 2,000
  log-normalised cells stacked (the same amount of data), whole ``fit``;
- ``path``: ``contrastive_path`` with its defaults (k ∈ {1, 2, 3} × 7 α × 3 restarts)
  and ``preprocess="log1p_cp10k"`` — the label-free choice, run once per data set.

Usage: ``python benchmarks/bench_contrastive_speed.py [--repeats 3] [--skip-path]``.
BLAS threads are left as they are (set ``OPENBLAS_NUM_THREADS=1`` on a loaded machine).
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings


def _time(fn, repeats):
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def main(argv=None):
    import numpy as np

    import nmfkit
    from nmfkit.datasets import make_contrastive_counts
    from nmfkit.datasets._planted import log1p_cp10k

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--skip-path", action="store_true")
    ap.add_argument("--data", choices=("sim", "mouse"), default="sim")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    if args.data == "sim":
        d = make_contrastive_counts(beta=8, random_state=0)
        X, Y = d.X[:, :2000], d.Y[:, :2000]
    else:
        from nmfkit.datasets._planted import make_planted_program

        d = make_planted_program("mouse10k", n_cells=2000, random_state=0)
        X, Y = d.X, d.Y
    print(f"data {args.data}: target {X.shape}, background {Y.shape}")
    both = log1p_cp10k(np.vstack([X, Y]))
    for k in (1, 2):
        model = nmfkit.ContrastiveNMF(k, alpha=3, preprocess="log1p_cp10k", random_state=0)
        t = _time(lambda: model.fit(X, Y), args.repeats)
        print(f"cnmf k={k}: {t:.2f} s  ({model.n_iter_} iterations, 4 restarts)", flush=True)
        nmf = nmfkit.NMF(k, random_state=0)
        t = _time(lambda: nmf.fit(both), args.repeats)
        print(f"nmf  k={k}: {t:.2f} s  ({nmf.n_iter_} iterations)", flush=True)
    if not args.skip_path:
        t = _time(lambda: nmfkit.contrastive_path(X, Y, preprocess="log1p_cp10k",
                                                  random_state=0), 1)
        print(f"path (k 1-3 x 7 alphas x 3 restarts): {t:.1f} s", flush=True)


if __name__ == "__main__":
    main()
