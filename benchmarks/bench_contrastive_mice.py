"""Contrastive NMF on the bundled mice protein data (issue 17, point 5), side by side.

Target: Saline S/C mice (Control + Ts65Dn, 270 rows = 18 mice × 15 replicates);
background: Saline C/S Controls (135 rows); label: genotype. The proteins are passed as
bundled (no scaling by hand); NaN entries stay masked for the NMF models. Score: ARI of
``KMeans(2, n_init=10, random_state=0)`` on each method's target codes / projections.

Methods:

- ``cnmf``: **the point-5 path**. ``ContrastiveNMF(k, alpha=α)`` with every other
  parameter at its default (``preprocess="auto"``, which resolves to ``"scale"`` on these
  continuous protein levels (printed); Frobenius, no background programs, 4 restarts,
  seed s), ``(k, α)`` label-free: ``contrastive_path(X, Y, alphas=ALPHAS,
  n_components=(1, ..., 5), random_state=s).choose()`` (the rule of issue 17 point 4;
  here no α reaches the contrast line, so the rule's fallback applies: α not past the
  default 2, with a warning), seeds s = 0..4; no ``preprocess`` is passed anywhere;
- ``cnmf_k_at_default_alpha``: k from the rows α = 2 of the same path (a path scanned at
  the default α only);
- ``cnmf_uncapped``: ``choose(max_fallback_alpha=inf)``: the fallback before the cap (the
  largest stable contrast at any α);
- ``cnmf_none``: the point-5 path with ``preprocess=None`` (the data as given; the
  default before ``"auto"``) on the bundled proteins;
- ``grid``: with ``--grid``, the ARI of ``preprocess="scale"`` over k 1-5 × the path's α
  (seed 0), i.e. the ceiling of the setting chosen with the labels;
- ``nmf``: plain NMF (k = 2) of the ``"scale"``-preprocessed target;
- ``pca``: PCA(2) of the standardised target (NaN mean-imputed: PCA cannot mask);
- ``cpca``: contrastive PCA (Abid et al. 2018) on each dataset standardised on its own
  (NaN mean-imputed), 2 directions, at its own label-free α (``cpca_auto`` of
  ``bench_contrastive_real.py``) and at the best of 41 α chosen with the labels;
- ``ceiling``: supervised logistic regression, leave-one-mouse-out (``bench_contrastive.py``).

Usage: ``python benchmarks/bench_contrastive_mice.py [--seeds 0,1,2,3,4] [--grid]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # small GEMMs on a shared machine

import numpy as np  # noqa: E402

ALPHAS = (0.5, 1, 2, 3, 5, 10, 20)


def mice_data():
    """``(X, Y, labels)``: target and background DataFrames (NaN kept), genotype 0/1."""
    from nmfkit.datasets import load_mice_protein

    d = load_mice_protein()
    obs = d.obs
    t = (obs.Treatment == "Saline") & (obs.Behavior == "S/C")
    b = (obs.Treatment == "Saline") & (obs.Behavior == "C/S") & (obs.Genotype == "Control")
    return d.X[t], d.X[b], (obs.Genotype[t] == "Ts65Dn").to_numpy().astype(int)


def ari(labels, Z) -> float:
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    Z = Z.to_numpy() if hasattr(Z, "to_numpy") else np.asarray(Z)
    return float(adjusted_rand_score(labels, KMeans(2, n_init=10, random_state=0).fit_predict(Z)))


DEFAULT = "default"  # cnmf_label_free: pass no preprocess at all (the library's default)


def cnmf_label_free(X, Y, labels, seed, preprocess=DEFAULT):
    """``{name: (k, α, ARI)}`` of the label-free rules on one path (module docstring), and
    ``"_preprocess"``: what the path and the fits used (``preprocess_``)."""
    import nmfkit

    kw = {} if preprocess == DEFAULT else {"preprocess": preprocess}
    path = nmfkit.contrastive_path(X, Y, alphas=ALPHAS, n_components=(1, 2, 3, 4, 5),
                                   random_state=seed, **kw)
    t = path.table
    picks = {"cnmf": path.choose(), "cnmf_k_at_default_alpha": choose_setting_at(t, 2.0),
             "cnmf_uncapped": path.choose(max_fallback_alpha=np.inf)}
    out, used = {}, {path.preprocess}
    for name, (k, a) in picks.items():
        model = nmfkit.ContrastiveNMF(k, alpha=a, random_state=seed, **kw).fit(X, Y)
        used.add(model.preprocess_)
        out[name] = (k, a, ari(labels, model.target_codes_))
    out["_preprocess"] = sorted(used, key=str)
    return out


def choose_setting_at(table, alpha):
    """``choose()`` of the path's rows at one α (= a path scanned at that α only)."""
    from nmfkit.selection._contrastive_path import choose_setting

    return choose_setting(table[table["alpha"] == alpha])


def _zscore(A):
    sd = A.std(axis=0)
    return (A - A.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


def baselines(X, Y, labels):
    """Plain NMF, PCA, cPCA (label-free and label-chosen α) and the supervised ceiling."""
    import nmfkit
    from sklearn.decomposition import PCA

    from bench_contrastive import mice_ceiling
    from bench_contrastive_real import cpca_auto

    Xs = nmfkit.models._contrastive_preprocess.apply_preprocess(X, "scale")
    out = {"nmf": ari(labels, nmfkit.NMF(2, random_state=0).fit_transform(Xs))}
    Xr, Yr = X.to_numpy(), Y.to_numpy()
    mu = np.nanmean(np.r_[Xr, Yr], axis=0)
    Xi, Yi = np.where(np.isnan(Xr), mu, Xr), np.where(np.isnan(Yr), mu, Yr)
    Zx, Zy = _zscore(Xi), _zscore(Yi)
    out["pca"] = ari(labels, PCA(2, random_state=0).fit_transform(Zx))
    a_auto, subspaces = cpca_auto(Zx, Zy)
    scores = {a: ari(labels, Zx @ V) for a, V in subspaces.items()}
    a_best = max(scores, key=scores.get)
    out.update(cpca_auto=scores[a_auto], cpca_auto_alpha=a_auto, cpca_best=scores[a_best],
               cpca_best_alpha=a_best)
    out["ceiling"], out["ceiling_wrong"] = mice_ceiling(Xi, labels, X.index)
    return out


def grid(X, Y, labels, ks=(1, 2, 3, 4, 5), seed=0):
    """ARI of ``preprocess="scale"`` at every ``(k, α)`` (the ceiling chosen with labels)."""
    import nmfkit
    import pandas as pd

    rows = [dict(k=k, alpha=a, ari=ari(labels, nmfkit.ContrastiveNMF(
        k, alpha=a, preprocess="scale", random_state=seed).fit(X, Y).target_codes_))
        for k in ks for a in ALPHAS]
    return pd.DataFrame(rows).pivot(index="k", columns="alpha", values="ari")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--grid", action="store_true", help="also the (k, alpha) grid by labels")
    args = ap.parse_args(argv)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    warnings.simplefilter("ignore")
    X, Y, labels = mice_data()
    seeds = [int(s) for s in args.seeds.split(",") if s]
    print(f"# mice protein: target {X.shape}, background {Y.shape}, "
          f"{int(X.isna().any(axis=1).sum())} target rows with NaN (masked)", flush=True)
    for prep in (DEFAULT, None):
        t0 = time.perf_counter()
        res = [cnmf_label_free(X, Y, labels, s, prep) for s in seeds]
        names = [n for n in res[0] if n != "_preprocess"] if prep == DEFAULT else ["cnmf"]
        said = ("no preprocess passed (default 'auto'), resolved to "
                f"{sorted({str(v) for r in res for v in r['_preprocess']})}"
                if prep == DEFAULT else "preprocess=None")
        for name in names:
            aris = [r[name][2] for r in res]
            label = name if prep == DEFAULT else "cnmf_none"
            print(f"{label} ({said}): chosen (k, alpha) "
                  f"{[r[name][:2] for r in res]}; ARI per seed {np.round(aris, 3).tolist()}, "
                  f"median {np.median(aris):.3f}", flush=True)
        print(f"  ({time.perf_counter() - t0:.0f} s for the {len(seeds)} paths and fits)")
    b = baselines(X, Y, labels)
    print(f"nmf (scale, k=2) {b['nmf']:.3f}  pca {b['pca']:.3f}  cpca label-free "
          f"{b['cpca_auto']:.3f} (alpha={b['cpca_auto_alpha']:.3g})  cpca by labels "
          f"{b['cpca_best']:.3f} (alpha={b['cpca_best_alpha']:.3g})  supervised "
          f"leave-one-mouse-out ceiling {b['ceiling']:.3f} (mice wrong: {b['ceiling_wrong']})",
          flush=True)
    if args.grid:
        print("ARI of preprocess='scale' by (k, alpha), seed 0:")
        print(grid(X, Y, labels).round(3).to_string(), flush=True)


if __name__ == "__main__":
    main()
