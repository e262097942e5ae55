"""Plain NMF parts against Hoyer-sparse parts of the ORL faces; writes sparse_faces.png (run from docs/examples)."""
import time
import numpy as np
import nmfkit
from nmfkit.datasets import load_orl_faces
from nmfkit.plotting import plot_components_images
from matplotlib.figure import Figure
from nmfkit.models.sparse import SparseNMF
from nmfkit.solvers.sparseness import hoyer_sparseness
d = load_orl_faces()
imgs = d.images[:, ::2, ::2].astype(float) / 255.0  # 56 x 46
X = imgs.reshape(len(imgs), -1)
fig = Figure(figsize=(12, 6.2), layout="constrained")
subs = fig.subfigures(2, 1)
for sub, s_H in zip(subs, (None, 0.75)):
    t = time.perf_counter()
    if s_H is None:
        m = nmfkit.NMF(16, max_iter=300, random_state=0).fit(X); title = "plain NMF"
    else:
        m = SparseNMF(16, sparseness_H=s_H, max_iter=300, random_state=0).fit(X); title = f"SparseNMF, sparseness_H={s_H}"
    sp = hoyer_sparseness(m.components_).mean() if hasattr(hoyer_sparseness, "__call__") else float("nan")
    err = np.linalg.norm(X - m.transform(X) @ m.components_) / np.linalg.norm(X)
    print(title, f"mean sparseness {float(np.mean(sp)):.3f} rel err {err:.3f} {time.perf_counter()-t:.1f}s")
    axes = sub.subplots(2, 8)
    for ax, h in zip(axes.ravel(), m.components_):
        ax.imshow(h.reshape(56, 46), cmap="gray_r"); ax.set_axis_off()
    sub.suptitle(f"{title}: mean Hoyer sparseness {float(np.mean(sp)):.2f}, relative error {err:.3f}")
fig.savefig("sparse_faces.png", dpi=80)
