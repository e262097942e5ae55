"""Worker-side pieces of the distributed fit: one row block ``X_b`` and its codes ``W_b``.

Every function here runs inside a dask task on the worker that holds the row block; it
calls the single-machine engine on that block (the same ``Target`` / ``Term``, the same
``hals_sweep``, ``mu_update`` and gradient parts) and returns what the client sums over
the blocks. The functions take and return NumPy / SciPy objects; dask is imported only to tell
it the size of a block's ``Target`` (so that the scheduler runs a block's tasks where
its data are instead of moving them).

The codes of a block are stored as ``At_b`` (1, k, m_b), C-contiguous: the layout
:meth:`nmfkit.solvers.HALSStep.prepare` gives ``W`` (its transposed view), and the
multiplicative updates use the (1, m_b, k) view ``mT(At_b)`` as the engine's ``W``.
"""

from __future__ import annotations

import numpy as np

from ..backends import get_namespace, is_sparse
from ..losses import Target, Term
from ..solvers import BlockPenalty, hals_sweep, mu_update
from ..solvers.hals import block_products, complete_data, penalty_values


_SIZEOF = []


def _register_sizeof():
    """Once per process (on the worker, where results are sized)."""
    if _SIZEOF:
        return
    _SIZEOF.append(True)
    try:
        from dask.sizeof import sizeof
    except ImportError:  # pragma: no cover - the workers always have dask
        return

    @sizeof.register(Target)
    def _sizeof_target(t):
        X = t.X
        n = (X.data.nbytes + X.indices.nbytes + X.indptr.nbytes) if t.sparse else X.nbytes
        return int(n + (0 if t.M is None else t.M.nbytes))



def _float(X):
    """``X`` in a floating dtype (integers become float64), CSR kept sparse."""
    if X.dtype.kind != "f":
        X = X.astype(np.float64)
    if is_sparse(X):
        import scipy.sparse as sp

        X = X if sp.isspmatrix_csr(X) or isinstance(X, sp.csr_array) else sp.csr_matrix(X)
    return X


def inspect(X, M, r0: int, r1: int, beta: float):
    """Check one row block: ``(error or None, Σ M ⊙ X, Σ M, zeros observed)``.

    The message names the block's rows ``r0:r1`` and the fix.
    """
    where = f"rows {r0}:{r1} of X"
    vals = X.data if is_sparse(X) else np.asarray(X)
    if vals.size and not np.all(np.isfinite(vals)):
        return (f"{where} hold NaN or inf entries; NMF needs finite data: replace them (mark "
                "missing entries with mask= (0 = missing) and set them to 0)", 0.0, 0.0, 0)
    if vals.size and vals.min() < 0:
        return (f"{where} hold {int((vals < 0).sum())} negative entries; NMF needs X >= 0: shift, "
                "clip or transform the data first", 0.0, 0.0, 0)
    if M is not None:
        M = np.asarray(M)
        if M.shape != X.shape:
            return (f"the mask block for {where} has shape {M.shape}, not {X.shape}", 0.0, 0.0, 0)
        if not np.all(np.isfinite(M)) or (M.size and M.min() < 0):
            return (f"the mask for {where} has negative, NaN or inf entries; use 1 = observed, "
                    "0 = missing", 0.0, 0.0, 0)
        Xd = X.toarray() if is_sparse(X) else X
        zeros = int(np.sum((Xd == 0) & (M > 0))) if beta <= 0 else 0
        return None, float(np.sum(M * Xd)), float(np.sum(M)), zeros
    zeros = 0
    if beta <= 0:
        zeros = int(np.prod(X.shape) - np.count_nonzero(vals)) if not is_sparse(X) else \
            int(np.prod(X.shape) - X.nnz + np.sum(vals == 0))
    return None, float(vals.sum()), float(np.prod(X.shape)), zeros


MMAP_THRESHOLD = 64 * 2**20


def tune_malloc(threshold: int = MMAP_THRESHOLD) -> bool:
    """Serve allocations up to ``threshold`` bytes from the heap in this (worker) process.

    dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_`` set, which switches off
    glibc's dynamic mmap threshold: every temporary over 128 kB (the nnz-long ratio
    buffers and products of a block) is then a fresh ``mmap`` whose pages fault in on
    every use. Measured on one 50,000-row block of a sparse KL step: 0.25 s in a worker
    against 0.074 s with this setting (0.09 s in a plain process). Returns whether glibc
    took it (False elsewhere: nothing changes).
    """
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(-3, int(threshold)))  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        return False


def make_target(X, M=None) -> Target:
    """The block's data term (a masked sparse block is densified: weights need dense X)."""
    _register_sizeof()
    X = _float(X)
    if M is not None:
        if is_sparse(X):
            X = X.toarray()
        M = np.asarray(M, dtype=X.dtype)
    return Target(X, M, get_namespace(X))


class BlockReader:
    """A row block read inside each task that uses it (``persist=False``).

    Holds the block's ``dask.delayed`` data (and mask), which a plain object keeps out of
    the task graph: the task computes it with the synchronous scheduler, uses it and
    drops it, so a worker holds one block's data at a time instead of all of its blocks
    for the whole iteration (measured before: a 10⁶-row file's every block, 1 GB per
    worker, resident during each iteration).
    """

    def __init__(self, x, m=None):
        self.x, self.m = x, m

    def target(self) -> Target:
        import dask

        X, M = dask.compute(self.x, self.m, scheduler="sync")
        return make_target(X, M)


def _as_target(t):
    return t.target() if isinstance(t, BlockReader) else t


def _term(t: Target) -> Term:
    return Term(t, 2.0, 1.0, "W", "H")


def start_codes(W0):
    """``At_b`` (1, k, m_b) C-contiguous from a start ``W_b`` (m_b, k)."""
    return np.ascontiguousarray(np.asarray(W0).T)[None, ...]


def codes(At):
    """``W_b`` (m_b, k) from ``At_b``."""
    return np.ascontiguousarray(At[0].T)


def norm2(t: Target) -> float:
    t = _as_target(t)
    return float(t.norm2)


# -- HALS -----------------------------------------------------------------------------
def _hals_data(t: Target, At, H, scale: float):
    """The block's data for HALS: ``X_b``, or with element weights the complete data
    ``X̃_b = M̃ ⊙ X_b + (1 − M̃) ⊙ (W_b H)`` (``M̃ = M / scale``, ``scale`` the largest
    weight over all blocks) of the EM majorisation, as :meth:`HALSStep._data` forms it."""
    if t.M is None:
        return t.X
    return complete_data(t, t.backend.mT(At), H, t.M / scale if scale != 1.0 else t.M)


def mask_max(t: Target) -> float:
    t = _as_target(t)
    return 0.0 if t.M is None else float(t.M.max())


def hals_w_begin(t: Target, At, H, scale: float = 1.0):
    """The W half-step's products on this block: ``(Rm_b = H X_bᵀ (1, k, m_b), At_b)``, as
    :func:`~nmfkit.solvers.hals.block_products` forms them (with element weights, for the
    complete data of the EM majorisation)."""
    t = _as_target(t)
    b = t.backend
    Rm, _ = block_products(_term(t), _hals_data(t, At, H, scale), {"W": b.mT(At), "H": H}, "W", b)
    return b.contiguous(Rm), At, 0.0


def hals_w_sweep(cur, G, d, penalty: BlockPenalty, track: bool):
    """One :func:`~nmfkit.solvers.hals_sweep` on a copy of the block's codes:
    ``(Rm_b, new At_b, squared change)``. The client sums the changes over the blocks and
    applies the inner rule as ``hals_sweeps`` does (one small round trip per sweep;
    memory O(rows × k) per block; inputs are never modified, so a retried task is safe)."""
    Rm, At, _ = cur
    b = get_namespace(Rm)
    A = At.copy()
    change = hals_sweep(A, Rm, G, d, b, penalty, track=track)
    return Rm, A, 0.0 if change is None else float(change[0])


def sweep_change(cur) -> float:
    return cur[2]


def sweep_codes(cur):
    return cur[1]


def hals_h_products(t: Target, At, penalty: BlockPenalty, H=None, scale: float = 1.0):
    """``(W_bᵀ X_b (1, k, n), W_bᵀ W_b (1, k, k), W-penalty of the block)``, the H
    half-step's products (oriented as :meth:`HALSStep._products` forms them; with
    element weights ``X̃_b`` at the new ``W_b`` and the last ``H``)."""
    t = _as_target(t)
    b = t.backend
    A = b.mT(At)
    X = t.X if t.M is None else _hals_data(t, At, H, scale)
    Rt, Gt = block_products(_term(t), X, {"W": A, "H": H}, "H", b)
    return Rt, Gt, penalty_values(A, penalty, b)


# -- MU -------------------------------------------------------------------------------
def mu_w(t: Target, At, H, beta: float, penalty: BlockPenalty, gamma: float):
    """The W half-step of the multiplicative engine on this block (a new ``At_b``)."""
    t = _as_target(t)
    b = t.backend
    state = {"W": b.mT(At.copy()), "H": H}
    mu_update(state, "W", [Term(t, beta, 1.0, "W", "H")], b, penalty, gamma)
    return np.ascontiguousarray(b.mT(state["W"]))


def mu_h_parts(t: Target, At, H, beta: float):
    """``(P_b, N_b)``: this block's share of the gradient parts of H."""
    t = _as_target(t)
    b = t.backend
    P, N = Term(t, beta, 1.0, "W", "H").parts({"W": b.mT(At), "H": H}, "H")
    return np.asarray(P), np.asarray(N)


def value(t: Target, At, H, beta: float, penalty: BlockPenalty):
    """``(D_β(X_b | W_b H) + W_b's penalty,)``: this block's share of the objective."""
    t = _as_target(t)
    b = t.backend
    A = b.mT(At)
    return (Term(t, beta, 1.0, "W", "H").value({"W": A, "H": H}) + penalty_values(A, penalty, b),)


def residual2(t: Target, At, H) -> float:
    """``‖X_b − W_b H‖²`` evaluated from the residual (the cancellation guard's path)."""
    t = _as_target(t)
    X = t.X.toarray() if t.sparse else t.X
    return float(t.backend.norm2(X - At[0].T @ H[0]))


def add(*parts):
    """Sum of tuples of arrays / floats, element by element (one node of a tree sum)."""
    out = list(parts[0])
    for p in parts[1:]:
        for i, v in enumerate(p):
            out[i] = out[i] + v
    return tuple(out)
