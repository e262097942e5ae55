"""Peak memory of a KL fit on a large sparse matrix (issue 3, point 7).

A 100,000 x 2,000 CSR matrix of counts at 2 % density (4 million stored entries,
rank-20 Poisson structure), k = 20, KL multiplicative updates for ``--max-iter``
iterations from the default start (NNDSVDA).

Measured with the kernel's own high-water mark: after X is built, ``/proc/self/clear_refs``
resets the peak RSS (``VmHWM``) to the current RSS, so the peak read after the fit is
the fit's. Reported against the baseline RSS taken after the imports and before X
exists (interpreter and libraries are not counted; X itself, the factors and every
temporary are). Prints ``kl_sparse_peak_over_csr_plus_factors: <ratio>`` (target <= 3).

Linux only. Usage::

    python benchmarks/bench_memory.py [--n-samples 100000] [--n-features 2000] [--density 0.02]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import scipy.sparse as sp

import nmfkit


def _status(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def make_counts(m, n, k, density, seed=0):
    """CSR counts with a rank-k Poisson structure, built row block by row block."""
    rng = np.random.default_rng(seed)
    W = rng.gamma(0.5, 1.0, size=(m, k))
    H = rng.gamma(0.5, 1.0, size=(k, n))
    per_row = rng.binomial(n, density, size=m)
    indptr = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(per_row, out=indptr[1:])
    nnz = int(indptr[-1])
    indices = np.empty(nnz, dtype=np.int32)
    data = np.empty(nnz, dtype=np.float64)
    for r0 in range(0, m, 5000):
        r1 = min(m, r0 + 5000)
        for i in range(r0, r1):
            cols = np.sort(rng.choice(n, size=per_row[i], replace=False))
            indices[indptr[i] : indptr[i + 1]] = cols
        lo, hi = indptr[r0], indptr[r1]
        rows = np.repeat(np.arange(r0, r1), per_row[r0:r1])
        mean = np.einsum("ij,ij->i", W[rows], H[:, indices[lo:hi]].T)
        data[lo:hi] = 1.0 + rng.poisson(mean)  # stored entries are observed counts >= 1
    return sp.csr_matrix((data, indices, indptr.astype(np.int32)), shape=(m, n))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-samples", type=int, default=100_000)
    ap.add_argument("--n-features", type=int, default=2000)
    ap.add_argument("--density", type=float, default=0.02)
    ap.add_argument("-k", type=int, default=20)
    ap.add_argument("--max-iter", type=int, default=20)
    args = ap.parse_args(argv)
    if not sys.platform.startswith("linux"):
        print("# bench_memory needs Linux (/proc/self/status)")
        return
    # import everything the fit uses first (nmfkit loads sub-packages lazily): the
    # baseline is the interpreter with its libraries loaded, before X exists
    import nmfkit.models.nmf  # noqa: F401
    import scipy.special  # noqa: F401
    import sklearn.utils.extmath  # noqa: F401

    base = _status("VmRSS")
    X = make_counts(args.n_samples, args.n_features, args.k, args.density)
    csr_bytes = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    m, n = X.shape
    factor_bytes = (m + n) * args.k * 8
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")  # reset VmHWM to the current RSS
    before_fit = _status("VmRSS")
    t0 = time.perf_counter()
    res = nmfkit.nmf(X, args.k, loss="kl", max_iter=args.max_iter, tol=0, random_state=0)
    elapsed = time.perf_counter() - t0
    peak = _status("VmHWM")
    used = peak - base
    budget = csr_bytes + factor_bytes
    mb = 1 / 2**20
    print(f"# X {X.shape}, nnz {X.nnz} ({X.nnz / (m * n):.3%}), k={args.k}, "
          f"{res.n_iter} KL iterations in {elapsed:.1f} s, loss {res.loss:.6g}")
    print(f"# CSR arrays {csr_bytes * mb:.1f} MB + factors {factor_bytes * mb:.1f} MB = "
          f"{budget * mb:.1f} MB")
    print(f"# RSS: baseline (imports) {base * mb:.1f} MB, with X {before_fit * mb:.1f} MB, "
          f"peak during fit {peak * mb:.1f} MB -> {used * mb:.1f} MB above baseline")
    print(f"kl_sparse_peak_over_csr_plus_factors: {used / budget:.2f}")


if __name__ == "__main__":
    main()
