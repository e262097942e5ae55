"""
Choosing the number of components k
===================================

How many components should an NMF have? :func:`nmfkit.selection.rank_search` fits
every candidate k several times (one batched computation per k), measures how stable
the components and the samples' clusters are across those restarts, and holds out a
random 10 % of the entries to measure how well each k *predicts* data it did not see
(speckled cross-validation). The chosen ``best_k`` is the smallest k whose held-out
error is within one standard error of the minimum (the one-SE rule).

Data: the 1,797 bundled 8×8 handwritten digits (``nmfkit.datasets.load_digits``,
from scikit-learn's copy of the UCI "Optical Recognition of Handwritten Digits" data,
CC BY 4.0), pixel intensities 0-16, so the Frobenius loss (continuous values) is the
natural one.
"""

# %%
# Search over k
# -------------
# Even ks from 2 to 16, five restarts each. The training error always falls as k grows,
# so it cannot choose k; the held-out error stops falling once extra components only
# fit noise.
import time

import matplotlib.pyplot as plt

from nmfkit.datasets import load_digits
from nmfkit.plotting import plot_components_images, plot_rank_search
from nmfkit.selection import rank_search

digits = load_digits()
X = digits.X
print(f"X: {X.shape[0]} images x {X.shape[1]} pixels")

t0 = time.perf_counter()
search = rank_search(X, range(2, 17, 2), n_restarts=5, random_state=0)
print(f"rank search: {time.perf_counter() - t0:.1f} s")
print(f"chosen k (one-SE rule): {search.best_k}")

columns = ["k", "rel_error", "cv_train_error", "cv_error", "cv_se", "cophenetic", "silhouette"]
print(search.table[columns].round(3).to_string(index=False))

# %%
# The three panels
# ----------------
# Left: held-out error per entry (with one standard error) and the error on the
# training entries; the dashed line is ``best_k``. Middle: silhouette of the matched
# components over the restarts (1 = every restart finds the same components). Right:
# cophenetic correlation and dispersion of the consensus matrix (Brunet et al. 2004).
# Stability is supporting evidence only: it does not enter the rule.
fig = plot_rank_search(search)

# %%
# The held-out error, by hand
# ---------------------------
# The rule compares the per-entry held-out errors of each k with those of the k with
# the lowest mean error, as paired differences. The table's ``cv_error`` column is
# their mean; k's within one standard error of the minimum are "as good", and the
# smallest of them wins.
table = search.table.set_index("k")
k_min = int(table["cv_error"].idxmin())
print(f"lowest held-out error at k = {k_min}: {table.loc[k_min, 'cv_error']:.3f} "
      f"(SE {table.loc[k_min, 'cv_se']:.3f})")
print(f"one-SE choice: k = {search.best_k}: {table.loc[search.best_k, 'cv_error']:.3f}")
print(f"the data have 10 digit classes; "
      f"the search was not told this and chose k = {search.best_k}")

# %%
# Stability at the chosen k
# -------------------------
# The rule looks at prediction only. The middle panel is the second opinion: the
# *worst* component cluster's silhouette says whether every component comes back in
# every restart. A low value at ``best_k`` means that one component differs between
# restarts (several ways to split the remaining strokes fit about equally well): the
# rank predicts well, but read that component with care, or compare restarts
# (``search.restarts[k]``) before interpreting it.
for k in sorted({search.best_k - 2, search.best_k, search.best_k + 2} & set(table.index)):
    print(f"k = {k:2d}: mean silhouette {table.loc[k, 'silhouette']:.2f}, worst cluster "
          f"{table.loc[k, 'min_cluster_silhouette']:.2f}")

# %%
# The components at the chosen k
# ------------------------------
# ``search.best`` is the best restart at ``best_k`` (an :class:`nmfkit.NMFResult`);
# its rows of ``H`` are parts of digits (strokes, loops), each summing to 1.
best = search.best
print(f"best restart at k = {search.best_k}: relative error "
      f"{table.loc[search.best_k, 'rel_error']:.3f}")
fig = plot_components_images(best.H, (8, 8), title=f"NMF components, k = {search.best_k}")
plt.show()
