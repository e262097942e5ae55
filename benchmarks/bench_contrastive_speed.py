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

``--path``: only the path of the README recipe (k ∈ {1, 2} × 7 α × 3 restarts,
``preprocess="log1p_cp10k"``) in one process, alternating (``--repeats`` rounds):
*before* = one split, one ``fit_pair`` call per restart seed, the targets built anew
for every fit (the driver up to commit b2c7433); *after, 1 split* = the shipped driver
(:mod:`nmfkit.selection._contrastive_path_fit`: the restarts of a ``(k, α)`` batched,
same starts) at ``n_splits=1``; *after, default* = the shipped default (3 splits).
Prints the seconds, the ratios and the largest difference between the two one-split
tables (the same measurement: equal up to rounding).

Usage: ``python benchmarks/bench_contrastive_speed.py [--repeats 3] [--skip-path] [--path]``.
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


def _per_seed_setting(data, k, alpha, seeds, o):
    """The driver before the batching: one ``fit_pair`` per seed, targets rebuilt each time."""
    import numpy as np

    from nmfkit.backends import to_numpy
    from nmfkit.models._contrastive_fit import fit_pair
    from nmfkit.selection._contrastive_path_fit import SettingFit

    dX, dY = data.raw
    fits = [fit_pair(dX, dY, k, alpha=alpha, beta=o.beta, n_restarts=1, max_iter=o.max_iter,
                     tol=o.tol, max_time=None, batch_size=None, basis_floor=1e-10,
                     random_state=int(s), verbose=o.verbose, n_shared=o.n_shared,
                     shared=o.shared) for s in seeds]
    valid = [f for f in fits if f.restart_valid[0]]
    best = min(valid or fits, key=lambda f: f.loss)
    ns = o.n_shared
    return SettingFit([to_numpy(f.H)[ns:] for f in fits], best.H, float(best.loss),
                      np.asarray(best.enrichment), len(valid), sum(f.converged for f in fits))


def path_ab(X, Y, repeats):
    """Seconds of the recipe's path, before and after, alternating; and the table difference."""
    import numpy as np

    import nmfkit
    from nmfkit.selection import _contrastive_path as cp
    from nmfkit.selection import _contrastive_path_fit as cpf

    shipped, build = cp.fit_setting, cpf.PathData.build

    def per_seed_build(dX, dY, Xh, Yh):
        data = build(dX, dY, Xh, Yh)
        object.__setattr__(data, "raw", (dX, dY))
        return data

    def path(before, n_splits):
        cp.fit_setting = _per_seed_setting if before else shipped
        cp.PathData.build = per_seed_build if before else build
        try:
            t0 = time.perf_counter()
            p = nmfkit.contrastive_path(X, Y, n_components=(1, 2), preprocess="log1p_cp10k",
                                        n_splits=n_splits, random_state=0)
            return time.perf_counter() - t0, p
        finally:
            cp.fit_setting, cp.PathData.build = shipped, build

    runs = {"before": (True, 1), "after, 1 split": (False, 1), "after, default (3 splits)":
            (False, None)}
    times, tables = {name: [] for name in runs}, {}
    for _ in range(repeats):
        for name, (before, n_splits) in runs.items():
            t, p = path(before, 3 if n_splits is None else n_splits)
            times[name].append(t)
            tables[name] = p.table
    med = {name: statistics.median(v) for name, v in times.items()}
    a, b = tables["before"], tables["after, 1 split"]
    num = a.select_dtypes("number").columns
    diff = np.nanmax(np.abs(a[num].to_numpy(float) - b[num].to_numpy(float)))
    for name, v in times.items():
        print(f"path k 1-2 x 7 alphas x 3 restarts, {name}: {med[name]:.1f} s "
              f"(runs {np.round(v, 1).tolist()}), before / this {med['before'] / med[name]:.2f}x",
              flush=True)
    print(f"largest difference of the one-split tables, before vs after: {diff:.2g}")


def main(argv=None):
    import numpy as np

    import nmfkit
    from nmfkit.datasets import make_contrastive_counts
    from nmfkit.datasets._planted import log1p_cp10k

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--skip-path", action="store_true")
    ap.add_argument("--data", choices=("sim", "mouse"), default="sim")
    ap.add_argument("--path", action="store_true", help="only the path, before/after (module doc)")
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
    if args.path:
        return path_ab(X, Y, args.repeats)
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
