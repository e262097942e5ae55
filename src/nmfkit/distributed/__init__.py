r"""Full-batch NMF on a dask.distributed cluster, with the single-machine engine's updates.

``X`` (a ``dask.array`` chunked by rows, dense or with ``scipy.sparse.csr_matrix``
chunks) stays on the workers; each row block ``X_b`` keeps its own codes ``W_b`` next to
it. An iteration is the engine's (:class:`nmfkit.solvers.HALSStep` /
:class:`nmfkit.solvers.MUStep`) with its products summed over the row blocks:

* HALS (Frobenius): ``H`` and ``H Hᵀ`` go to every worker, each block runs the engine's
  :func:`~nmfkit.solvers.hals_sweep` on its ``W_b`` one sweep at a time and the client
  applies the Gillis–Glineur stopping rule to the summed changes; the blocks'
  ``(W_bᵀ X_b, W_bᵀ W_b)`` are summed in a tree and ``H`` is swept on the client.
  Element weights (a mask) by the engine's EM majorisation.
* MU (any β, masks): :func:`~nmfkit.solvers.mu_update` of ``W_b`` on its worker; the
  blocks' gradient parts of ``H`` are summed and :func:`~nmfkit.solvers.mu_apply`
  updates ``H``.

The iterations run in the library's one loop (``tol``, ``max_iter``, ``max_time``,
progress bar, callback, Ctrl-C). ``W`` is gathered every ``checkpoint_every``
iterations; a lost worker is survived by going on from that checkpoint.

``import nmfkit.distributed`` needs no dask; using it needs ``pip install 'nmfkit[distributed]'``.

Examples
--------
>>> import nmfkit.distributed  # no dask needed to import
>>> callable(nmfkit.distributed.nmf)
True
"""

from ._api import nmf, read_rows
from ._engine import RecoveryWarning
from ._estimator import DaskNMF

__all__ = ["DaskNMF", "RecoveryWarning", "nmf", "read_rows"]
