r"""Symmetric NMF (SymNMF) for graph clustering (Kuang, Ding & Park, SDM 2012; Kuang, Yun & Park, JGO 2015).

.. math:: \min_{H \ge 0} \| A - H H^\top \|_F^2 ,

with ``A`` (n × n) a symmetric similarity matrix: given (``affinity="precomputed"``) or built
from the rows of ``X`` as the authors build it (``affinity="nearest_neighbors"``: self-tuning
Gaussian similarity on the union kNN graph, normalised-cut scaled; :mod:`._symgraph`). Point
``i`` belongs to cluster ``argmax_j H_ij``. The solver (penalised ANLS, and why) is
:mod:`nmfkit.solvers.symmetric`.
"""

from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_is_fitted

from .._result import NMFResult
from .._validation import _read, check_features, check_fitted_backend, check_n_components, check_shape
from ..backends import is_sparse, to_numpy
from ..backends._random import check_random_state
from ..exceptions import NMFInputError
from ..solvers import LoopOptions, run
from ..solvers.nnls import nnls_codes
from ..solvers.symmetric import SymANLSStep, symmetric_objective, symnmf_start
from ._base import BOOL, POSITIVE_INT, FactorModel, Param, choice
from ._symgraph import SymGraph

__all__ = ["SymmetricNMF", "symmetric_nmf", "symnmf_affinity"]


def _optional(kind):
    def check(v, n, s):
        if v is None:
            return None
        ok = isinstance(v, numbers.Real) and not isinstance(v, bool) and v >= 0
        if kind == "int":
            ok = isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1
        if not ok:
            what = "an int >= 1" if kind == "int" else "a number >= 0"
            raise NMFInputError(f"{n}={v!r} must be None or {what}")
        return v

    return Param(check)


def _host(X, name, *, square=False):
    """``X`` as host float64 (ndarray or CSR), its backend and input dtype; finite, 2-D."""
    values, b, _, _ = _read(X, name, None)
    check_shape(values, name)
    dtype = values.dtype
    if b.name != "numpy":
        values = np.asarray(b.to_numpy(values))
    values = values.astype(np.float64) if not is_sparse(values) else sp.csr_matrix(values, dtype=np.float64)
    data = values.data if is_sparse(values) else values
    if not np.isfinite(data).all():
        raise NMFInputError(f"{name} has NaN or infinite entries; SymmetricNMF needs finite values: "
                            "impute or drop them")
    if square and (data < 0).any():
        raise NMFInputError(f"{name} (a precomputed affinity) has negative entries; similarities must "
                            "be >= 0 (e.g. np.exp(-D**2 / s**2) of distances D)")
    return values, b, dtype


def _check_symmetric(A):
    if A.shape[0] != A.shape[1]:
        raise NMFInputError(f"affinity='precomputed' needs a square n × n similarity matrix, got shape "
                            f"{tuple(A.shape)}; pass X with affinity='nearest_neighbors' to build one")
    D = A - A.T
    gap = abs(D).max() if is_sparse(D) else np.abs(D).max()
    scale = (abs(A).max() if A.nnz else 0.0) if is_sparse(A) else np.abs(A).max()
    if float(gap) > 1e-8 * max(float(scale), 1e-300):
        raise NMFInputError(f"the precomputed affinity is not symmetric (max |A − Aᵀ| = {float(gap):.3g}); "
                            "pass (A + A.T) / 2")


def symnmf_affinity(X, *, n_neighbors=None, scale_neighbor=7, similarity="gaussian", normalize=True):
    """The SymNMF similarity graph of the rows of ``X`` (CSR, n × n, symmetric, zero diagonal).

    The authors' construction (:mod:`nmfkit.models._symgraph`): self-tuning Gaussian
    similarity (scale: the ``scale_neighbor``-th neighbour's distance) or cosine similarity,
    on the union of the ``n_neighbors``-NN graph (``⌊log2 n⌋ + 1`` by default), scaled to
    ``D^{-1/2} A D^{-1/2}`` when ``normalize``. Pass it to :class:`SymmetricNMF` with
    ``affinity="precomputed"`` (or to another clustering method, for a comparison on the
    same graph).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).random((50, 3))
    >>> A = symnmf_affinity(X)
    >>> A.shape, bool(abs(A - A.T).max() < 1e-12), float(A.diagonal().max())
    ((50, 50), True, 0.0)
    """
    values, _, _ = _host(X, "X")
    return SymGraph(n_neighbors, scale_neighbor, similarity, normalize).fit(values).affinity_


class SymmetricNMF(FactorModel):
    r"""Symmetric NMF clustering: ``A ≈ H Hᵀ`` for a similarity matrix ``A``.

    .. math:: \min_{H \ge 0} \| A - H H^\top \|_F^2

    ``H`` (n_samples × k) is the soft cluster membership of each point, its hard cluster
    ``argmax_j H_ij`` (``labels_``); non-negativity replaces spectral clustering's
    orthogonality, so no k-means post-step is needed. Solved by the authors' penalised ANLS
    (:mod:`nmfkit.solvers.symmetric`).

    Parameters
    ----------
    n_components : int, default=2
        The number of clusters k.
    affinity : {"nearest_neighbors", "precomputed"}, default="nearest_neighbors"
        "nearest_neighbors": ``X`` is data (n_samples × n_features, dense or sparse, any
        sign) and ``A`` is the authors' kNN graph (:func:`symnmf_affinity`);
        "precomputed": ``X`` is ``A`` itself (n × n, symmetric, ``>= 0``, dense or sparse).
    n_neighbors : int or None, default=None
        kNN support of the graph; None: ``⌊log2 n⌋ + 1`` (the authors').
    scale_neighbor : int, default=7
        The neighbour whose distance is the local scale ``σ_i`` (Gaussian similarity).
    similarity : {"gaussian", "cosine"}, default="gaussian"
        Self-tuning Gaussian, or cosine similarity (for text) on the same kNN support.
    normalize : bool, default=True
        Normalised-cut scaling ``D^{-1/2} A D^{-1/2}`` of the built graph.
    alpha : float or None, default=None
        Penalty ``α ‖W − H‖²`` of the ANLS surrogate; None: ``max(A)²`` (the authors').
    n_init : int, default=1
        Restarts (run together); the one with the lowest ``‖A − H Hᵀ‖²`` is kept (the
        authors' ``rep``).
    solver : {"hals", "bpp"}, default="hals"
        The NNLS of each ANLS block: "bpp" exact (block principal pivoting, as the
        authors), "hals" up to 10 coordinate sweeps from the previous iterate (3-4x faster
        per fit on the digits graph, same objective and clusters; still monotone).
    max_iter : int, default=500
    tol : float, default=1e-5
        Relative decrease of the penalised objective between two loss checks (the authors
        stop on the projected-gradient norm instead).
    max_time, loss_every, random_state, verbose
        As in :mod:`nmfkit.models._base`.

    Attributes
    ----------
    H_ : array (n_samples, k)
        The factor; columns ordered by mass (largest first).
    components_ : array (k, n_samples)
        ``H_.T`` (so ``A ≈ components_.T @ components_``).
    labels_ : ndarray of int (n_samples,)
        ``argmax`` of the rows of ``H_``.
    affinity_matrix_ : ndarray or CSR (n_samples, n_samples)
        The ``A`` that was factorised (float64, on the host).
    loss_ : float
        ``‖A − H Hᵀ‖²_F``.
    loss_history_ : tuple
        The penalised objective at the start and at each check.
    alpha_, n_iter_, converged_, stop_reason_, result_

    Notes
    -----
    ``fit_transform`` returns ``H_``; ``transform`` gives new points their memberships: the
    exact NNLS ``argmin_{W >= 0} ‖S − W components_‖`` of their affinity rows ``S`` to the
    training points (given with "precomputed": m × n_fit; built by the same kNN rules with
    "nearest_neighbors"). At a stationary point of SymNMF the NNLS codes of the training rows
    are ``H`` itself. Torch input is computed on the host (graph and NNLS are CPU work) and
    the results are returned as tensors on the input's device.

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit.models.symmetric import SymmetricNMF
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(c, 0.3, (40, 2)) for c in ((0, 0), (4, 0), (0, 4))])
    >>> model = SymmetricNMF(3, random_state=0).fit(X)
    >>> from sklearn.metrics import adjusted_rand_score
    >>> adjusted_rand_score(np.repeat([0, 1, 2], 40), model.labels_)
    1.0
    """

    _own_params = {
        "affinity": choice("nearest_neighbors", "precomputed"),
        "n_neighbors": _optional("int"),
        "scale_neighbor": POSITIVE_INT,
        "similarity": choice("gaussian", "cosine"),
        "normalize": BOOL,
        "alpha": _optional("float"),
        "n_init": POSITIVE_INT,
        "solver": choice("hals", "bpp"),
    }
    _nonneg_input = False
    _sparse_input = True

    def __init__(self, n_components=2, *, affinity="nearest_neighbors", n_neighbors=None,
                 scale_neighbor=7, similarity="gaussian", normalize=True, alpha=None, n_init=1,
                 solver="hals", max_iter=500, tol=1e-5, max_time=None, loss_every=1, random_state=None, verbose=0):
        self.n_components = n_components
        self.affinity = affinity
        self.n_neighbors = n_neighbors
        self.scale_neighbor = scale_neighbor
        self.similarity = similarity
        self.normalize = normalize
        self.alpha = alpha
        self.n_init = n_init
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.max_time = max_time
        self.loss_every = loss_every
        self.random_state = random_state
        self.verbose = verbose

    def _affinity(self, X, p):
        pre = p["affinity"] == "precomputed"
        values, b, dtype = _host(X, "X", square=pre)
        check_features(self, X, reset=True)
        if pre:
            _check_symmetric(values)
            self._graph = None
            return values, b, dtype
        self._graph = SymGraph(p["n_neighbors"], p["scale_neighbor"], p["similarity"],
                               p["normalize"]).fit(values)
        return self._graph.affinity_, b, dtype

    def fit_transform(self, X, y=None):
        """Fit and return the memberships ``H`` (n_samples × k)."""
        p = self._validate_params()
        A, b, dtype = self._affinity(X, p)
        n = A.shape[0]
        k = check_n_components(p["n_components"], (n, n))
        rng = check_random_state(p["random_state"])
        H0 = symnmf_start(A, k, p["n_init"], rng)
        step = SymANLSStep(A, p["alpha"], inner=p["solver"])
        options = LoopOptions(max_iter=p["max_iter"], tol=p["tol"], max_time=p["max_time"],
                              loss_every=p["loss_every"] or 1, verbose=p["verbose"], desc="symnmf")
        out = run(step, {"W": H0.copy(), "H": H0}, options, step.objective)
        fits = [symmetric_objective(A, out.state["H"][r]) for r in range(p["n_init"])]
        best = int(np.argmin(fits))
        res = out.restart(best)
        H = res.blocks["H"]
        H = H[:, np.argsort(-H.sum(axis=0), kind="stable")]
        self._store(A, H, res, fits[best], step.alpha, b, dtype)
        return self.H_

    def _store(self, A, H, res, loss, alpha, b, dtype):
        self.affinity_matrix_ = A
        self.labels_ = np.argmax(H, axis=1)
        Hb = b.from_numpy(np.ascontiguousarray(H), dtype=dtype)
        self.H_ = Hb
        self.components_ = b.contiguous(b.mT(Hb))
        self.n_components_ = int(H.shape[1])
        self.loss_, self.alpha_ = float(loss), float(alpha)
        self.loss_history_ = res.loss_history
        self.n_iter_, self.converged_, self.stop_reason_ = res.n_iter, res.converged, res.stop_reason
        info = {"labels": self.labels_, "alpha": self.alpha_, "loss_iters": res.loss_iters,
                "penalised_loss": res.loss}
        self.result_ = NMFResult(W=Hb, H=self.components_, loss=self.loss_, loss_history=res.loss_history,
                                 n_iter=res.n_iter, converged=res.converged, stop_reason=res.stop_reason,
                                 elapsed=res.elapsed, beta=2.0, solver=f"symnmf-anls-{self.solver}",
                                 info=info)

    def transform(self, X):
        """Memberships of new points: NNLS of their affinity rows on ``components_`` (Notes)."""
        check_is_fitted(self)
        values, b, dtype = _host(X, "X", square=False)
        check_fitted_backend(self.components_, b, "SymmetricNMF")
        check_features(self, X, reset=False)
        S = self._graph.rows(values) if self._graph is not None else values
        Hfit = np.asarray(b.to_numpy(self.components_), dtype=np.float64).T  # n_fit × k
        R = np.asarray(S @ Hfit).T
        W = nnls_codes(np.ascontiguousarray(Hfit.T), np.ascontiguousarray(R))
        return b.from_numpy(np.ascontiguousarray(W), dtype=dtype)

    def fit_predict(self, X, y=None):
        """Fit and return the hard clusters ``labels_``."""
        return self.fit(X).labels_

    def predict(self, X):
        """Hard clusters of new points: ``argmax`` of :meth:`transform`."""
        return np.argmax(np.asarray(to_numpy(self.transform(X))), axis=1)


def symmetric_nmf(X, n_components, **params) -> NMFResult:
    """Symmetric NMF ``A ≈ H Hᵀ`` (the function form of :class:`SymmetricNMF`).

    Takes :class:`SymmetricNMF`'s parameters; returns its ``result_``: ``W`` is ``H``
    (n × k), ``H`` is ``Hᵀ`` (k × n), ``info["labels"]`` the clusters, ``loss`` is
    ``‖A − H Hᵀ‖²``.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.linalg import block_diag
    >>> A = block_diag(np.ones((6, 6)), np.ones((4, 4)))   # two cliques
    >>> res = symmetric_nmf(A, 2, affinity="precomputed", random_state=0)
    >>> res.info["labels"].tolist(), bool(res.loss < 1e-8)
    ([0, 0, 0, 0, 0, 0, 1, 1, 1, 1], True)
    """
    return SymmetricNMF(n_components, **params).fit(X).result_
