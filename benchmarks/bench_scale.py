"""Scale table (issue 12 point 5): streaming a file of n rows, n = 10^4, 10^5, 10^6.

Simulated sparse counts with 2,000 features at 2 % density (about 40 non-zeros per row,
values Poisson(2) + 1, float32) are written once per n as an ``.h5ad`` file (CSR, written
in row chunks with h5py, never held whole). Then, each in a fresh process:

* ``MiniBatchNMF`` (Frobenius, online HALS, k = 10, batch 4,096) fitted **from the file**:
  seconds per epoch (``(t(5 epochs) − t(1 epoch)) / 4``, so the start and the final pass
  cancel) and the process's peak resident memory (``ru_maxrss``);
* the Dask engine (``nmfkit.distributed.nmf`` on ``nmfkit.distributed.read_rows(path)``,
  HALS, ``persist=False``: every task reads its row block from the file on the worker) on a ``LocalCluster`` of 1 and 2
  worker processes (one thread each): seconds per iteration (from 1 and 3 iterations, the
  same way, 1 and 5) and the peak resident memory of the largest worker.

Time should grow linearly in n and memory stay flat (the codes ``W``, n × k, are the only
O(n) state). Prints one table. Usage::

    python benchmarks/bench_scale.py [--ns 10000,100000,1000000] [--dir /tmp/nmfkit-scale]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

M, DENSITY, K, BATCH, CHUNK = 2_000, 0.02, 10, 4_096, 50_000


def write_file(path: Path, n: int, seed: int = 0) -> None:
    """An anndata-readable CSR .h5ad of n x M counts, written in row chunks."""
    import h5py
    import numpy as np
    import pandas as pd
    import scipy.sparse as sp
    from anndata.io import write_elem

    rng = np.random.default_rng(seed)
    tmp = path.with_suffix(".tmp")
    with h5py.File(tmp, "w") as f:
        g = f.create_group("X")
        g.attrs.update({"encoding-type": "csr_matrix", "encoding-version": "0.1.0", "shape": (n, M)})
        data = g.create_dataset("data", (0,), dtype="f4", maxshape=(None,), chunks=(1 << 20,))
        indices = g.create_dataset("indices", (0,), dtype="i4", maxshape=(None,), chunks=(1 << 20,))
        indptr = [np.zeros(1, dtype=np.int64)]
        nnz = 0
        for r0 in range(0, n, CHUNK):
            rows = min(CHUNK, n - r0)
            X = sp.random(rows, M, density=DENSITY, format="csr", dtype=np.float32, random_state=rng,
                          data_rvs=lambda s: rng.poisson(2.0, s) + 1.0)
            X.sort_indices()
            data.resize((nnz + X.nnz,))
            indices.resize((nnz + X.nnz,))
            data[nnz:] = X.data
            indices[nnz:] = X.indices
            indptr.append(X.indptr[1:].astype(np.int64) + nnz)
            nnz += X.nnz
        g.create_dataset("indptr", data=np.concatenate(indptr))
        write_elem(f, "obs", pd.DataFrame(index=[f"c{i}" for i in range(n)]))
        write_elem(f, "var", pd.DataFrame(index=[f"g{j}" for j in range(M)]))
    os.replace(tmp, path)


MINIBATCH = r"""
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
import nmfkit
path, epochs = sys.argv[1], int(sys.argv[2])
t = time.perf_counter()
nmfkit.MiniBatchNMF({k}, batch_size={batch}, max_iter=epochs, tol=0, random_state=0).fit(path)
print(json.dumps({{"t": time.perf_counter() - t,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""

DASK = r"""
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
from distributed import Client, LocalCluster
import nmfkit.distributed
path, workers, iters = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

if __name__ == "__main__":
    X = nmfkit.distributed.read_rows(path, chunk_rows={chunk})  # chunks read on the workers
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        t = time.perf_counter()
        nmfkit.distributed.nmf(X, {k}, client=client, max_iter=iters, tol=0, random_state=0,
                               persist=False, checkpoint_every=10**6)
        elapsed = time.perf_counter() - t
        rss = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps({{"t": elapsed, "rss_mb": max(rss.values())}}))
"""


def run(code: str, *args) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True,
                         check=False)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def per_unit(code, path, *extra):
    a = run(code, path, *extra, 1)
    b = run(code, path, *extra, 5)
    return (b["t"] - a["t"]) / 4, max(a["rss_mb"], b["rss_mb"])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ns", default="10000,100000,1000000")
    p.add_argument("--dir", default="/tmp/nmfkit-scale")
    p.add_argument("--skip-dask", action="store_true")
    args = p.parse_args()
    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    mb_code = MINIBATCH.format(k=K, batch=BATCH)
    dask_code = DASK.format(k=K, chunk=CHUNK)
    print(f"# {M} features, {DENSITY:.0%} density, k = {K}, MiniBatchNMF batch {BATCH}, "
          f"Dask chunks of {CHUNK} rows; {os.cpu_count()} CPUs")
    print(f"{'n':>9} {'nnz':>11} {'file MB':>8} | {'MB s/epoch':>10} {'MB RSS':>7} | "
          f"{'dask1 s/it':>10} {'RSS':>6} | {'dask2 s/it':>10} {'RSS':>6}")
    for n in map(int, args.ns.split(",")):
        path = folder / f"counts_{n}.h5ad"
        if not path.exists():
            t = time.perf_counter()
            write_file(path, n)
            print(f"# wrote {path} in {time.perf_counter() - t:.1f} s", flush=True)
        import h5py

        with h5py.File(path, "r") as f:
            nnz = f["X/data"].shape[0]
        size = path.stat().st_size / 2**20
        mb_t, mb_rss = per_unit(mb_code, path)
        cells = [f"{n:>9} {nnz:>11,} {size:>8.0f} | {mb_t:>10.2f} {mb_rss:>7.0f}"]
        if not args.skip_dask:
            for workers in (1, 2):
                d_t, d_rss = per_unit(dask_code, path, workers)
                cells.append(f"{d_t:>10.2f} {d_rss:>6.0f}")
        print(" | ".join(cells), flush=True)


if __name__ == "__main__":
    main()
