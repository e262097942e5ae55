"""
Mutational signatures of 21 breast cancers
==========================================

De novo extraction of mutational signatures with :func:`nmfkit.signatures.extract`,
which follows SigProfilerExtractor's protocol: for each rank k, NMF (Poisson / KL
loss) of many multinomially resampled copies of the catalog, clustering of the
replicate signatures into a consensus with a stability score, a cross-validation
error beside it, and two rules to choose k. The data are the single-base-substitution
catalog (SBS-96: 6 substitution classes × 16 flanking contexts) of the 21 breast
cancers of Nik-Zainal et al. (2012) Cell 149:979-993, from SigProfilerExtractor's
example data (Alexandrov Lab, BSD-2-Clause):
:func:`nmfkit.datasets.load_breast_cancer_sbs96`.

**This is a shortened run** so that the page builds in seconds: ranks 2-5, 16
replicates per rank, 5 cross-validation folds and at most 2,000 iterations per fit. The full protocol
(``extract(catalog)`` with its defaults) tries k = 1-10 with 100 replicates, 10
folds and up to 5,000 iterations, and takes minutes; its consensus signatures are smoother and its stabilities
more precise.
"""

# %%
# The catalog
# -----------
import time
import warnings

import matplotlib.pyplot as plt
import pandas as pd

from nmfkit.datasets import load_breast_cancer_sbs96
from nmfkit.plotting import plot_exposures, plot_sbs96, plot_signature_selection
from nmfkit.signatures import cosmic_path, extract

data = load_breast_cancer_sbs96()
catalog = data.catalog  # 96 mutation types x 21 samples, as in the file
totals = catalog.sum(axis=0)
print(f"{catalog.shape[1]} samples x {catalog.shape[0]} mutation types; "
      f"mutations per sample: {totals.min()} to {totals.max()} (median {totals.median():.0f})")
print(data.attribution)

# %%
# Is a COSMIC reference available?
# --------------------------------
# nmfkit does not ship the COSMIC signatures (COSMIC's terms apply);
# ``reference="auto"`` reads them from an installed SigProfilerAssignment package.
# :func:`nmfkit.signatures.cosmic_path` says, without importing it, whether that
# package and its file are there. When they are not, the run goes on without the
# decomposition into COSMIC signatures and says so.
path = cosmic_path()
reference = "auto" if path is not None else None
print("COSMIC reference:", path if path is not None else
      "not installed (pip install SigProfilerAssignment): no COSMIC decomposition")

# %%
# Extraction, ranks 2-5
# ---------------------
t = time.perf_counter()
result = extract(catalog, ks=range(2, 6), n_replicates=16, cv_folds=5, max_iter=2000,
                 reference=reference, random_state=0)
print(f"extract: {time.perf_counter() - t:.1f} s")
columns = ["avg_stability", "min_stability", "reconstruction_error", "cv_error", "cv_se",
           "candidate"]
with pd.option_context("display.width", 120, "display.precision", 3):
    print(result.table[columns].to_string())
print(f"\nSigProfiler's rule (stability >= 0.8 / min >= 0.2, then the Wilcoxon walk-down "
      f"on the per-sample errors): k = {result.k_sigprofiler}")
print(f"cross-validation rule (smallest k within one SE of the best held-out error): "
      f"k = {result.k_cv}")
print(f"reported (rule={result.rule!r}): k = {result.k}")
print("\nwalk-down:")
print(result.walkdown.to_string(index=False))

# %%
# The selection panel
# -------------------
# Left: the average and minimum stability (cosine silhouettes of the signature
# clusters) with SigProfiler's thresholds; right: the reconstruction error of the
# consensus refit and the held-out CV error. The dashed lines mark the two rules' k.
plot_signature_selection(result)

# %%
# The signatures at the reported k
# --------------------------------
# Each panel is one consensus signature in the standard SBS-96 layout (percentages of
# its mutations; error bars: standard errors over the replicates). Printed for each:
# its share in each substitution class and its three largest mutation types, which
# are what identify a signature (for instance APOBEC's SBS2 / SBS13 put their mass on
# C>T and C>G in a TpC context, clock-like SBS1 on C>T at CpG).
sol = result.solution
plot_sbs96(sol.signatures, se=sol.signatures_se)
classes = data.var["substitution"]
for name, row in sol.signatures.iterrows():
    by_class = row.groupby(classes.reindex(row.index).to_numpy()).sum()
    top = row.sort_values(ascending=False).index[:3]
    print(f"{name} (stability {sol.stability[name]:.2f}): "
          + ", ".join(f"{c} {v:.0%}" for c, v in by_class.items())
          + f"; top types {', '.join(top)}")

# %%
# Exposures
# ---------
# Mutations attributed to each signature in each sample (non-negative least squares of
# the original catalog on the consensus signatures), samples ordered by their total.
fig, ax = plt.subplots(figsize=(9, 3.5), layout="constrained")
plot_exposures(sol.exposures, ax=ax, order="total")
print(f"median relative error of the per-sample refits: {sol.sample_errors.median():.3f}")

# %%
# Decomposition into COSMIC
# -------------------------
if result.decomposition is not None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        print(result.decomposition.to_string())
else:
    print("no COSMIC decomposition in this build (SigProfilerAssignment is not installed); "
          "with it, result.decomposition lists the COSMIC signatures of each de novo one")
