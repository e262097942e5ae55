r"""NMF with Hoyer's sparseness constraints (Hoyer, JMLR 5:1457–1469, 2004).

The update (projected gradient for a constrained factor, the engine's MU / HALS for a free
one) and the exact projection are in :mod:`nmfkit.solvers.sparseness`.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .._result import NMFResult
from .._validation import check_n_components
from ..backends._random import check_random_state
from ..init import initialize
from ..losses import Penalty, Target, Term
from ..solvers import LoopOptions, run
from ..solvers.engine import objective_fn
from ..solvers.sparseness import SparsenessStep, hoyer_sparseness
from ._base import FRACTION, FactorModel, Param, choice
from ._core import build_target, project
from ._dense import gauge

__all__ = ["SparseNMF", "sparse_nmf", "hoyer_sparseness"]

_INITS = ("nndsvda", "nndsvd", "nndsvdar", "random", "uniform")
_SPARSENESS = Param(lambda v, n, s: None if v is None else FRACTION.check(v, n, s))


class SparseNMF(FactorModel):
    r"""NMF whose factors have a prescribed Hoyer sparseness (Hoyer's ``nmfsc``).

    .. math::
        \min_{W, H \ge 0}\; \tfrac12 \|X - W H\|_F^2 \quad\text{s.t.}\quad
        s(H_{j:}) = s_H,\;\; s(W_{:j}) = s_W \;\; (j = 1..k),

    with Hoyer's sparseness :math:`s(x) = (\sqrt{n} - \|x\|_1/\|x\|_2)/(\sqrt{n} - 1)`
    (0: all entries equal, 1: one non-zero entry). The constraints are exact equalities,
    not penalties; either may be left out (None).

    **Which factor holds the parts.** ``X`` is samples × features (e.g. faces × pixels),
    ``X ≈ W H``: the rows of ``H`` (``components_``) are the basis images, so
    ``sparseness_H`` makes the *parts* sparse (localised face parts at 0.6–0.9), and
    ``sparseness_W`` makes the *codes* sparse (each component used by few samples).
    Hoyer writes the transposed data ``V = Xᵀ ≈ W_Hoyer H_Hoyer``: his ``s_W`` (basis
    images) is our ``sparseness_H`` and his ``s_H`` (coefficients) our ``sparseness_W``.

    Algorithm: a constrained factor takes a projected gradient step onto the constraint
    set (the exact Euclidean projection onto the non-negative vectors with the target
    L1 and L2 norms, :func:`nmfkit.solvers.sparseness.project_l1l2`), with Hoyer's step
    size rule (halved until the objective does not increase, then × 1.2); a free factor
    takes the engine's ``solver`` update. The objective never increases. Columns of
    ``W`` are kept at unit L2 norm during the fit (Hoyer's gauge); at the end the
    library's gauge is applied (rows of ``components_`` sum to 1, ordered by mass),
    which leaves every sparseness unchanged.

    Parameters
    ----------
    n_components : int, default=2
    sparseness_W : float in [0, 1] or None, default=None
        Target sparseness of every column of ``W`` (a component's codes over the samples).
    sparseness_H : float in [0, 1] or None, default=None
        Target sparseness of every row of ``H`` (a part / basis image).
    solver : {"hals", "mu"}, default="hals"
        The engine update of an unconstrained factor (Hoyer used "mu").
    init : {"nndsvda", "nndsvd", "nndsvdar", "random", "uniform"}, default="nndsvda"
        The start (:func:`nmfkit.init.initialize`; "uniform": uniform(0, 1) draws scaled to
        the data, close to Hoyer's random start), then projected onto the constraints.
        An SVD-based start gives smooth parts whose projection is a few blobs; a random
        start leaves speckled parts that need many more iterations to become local.
    loss : "frobenius", default="frobenius"
        Hoyer's model is Frobenius only; other losses raise an error.
    max_iter : int, default=1000
    tol : float, default=1e-5
        Stop when the relative decrease of the objective between two loss checks
        (``loss_every`` iterations apart) is below it.
    max_time : float or None, default=None
    loss_every : int or None, default=10
    random_state : int, Generator or None, default=None
        Seeds the random starts.
    verbose : int, default=0

    Attributes
    ----------
    components_ : array (k, n_features)
        The parts ``H`` (rows sum to 1, ordered by mass).
    sparseness_H_, sparseness_W_ : ndarray (k,)
        The achieved Hoyer sparseness of each row of ``H`` / column of ``W``.
    loss_, loss_history_, n_iter_, converged_, stop_reason_, reconstruction_err_, result_

    Notes
    -----
    ``fit_transform`` returns the fit's ``W`` (which meets ``sparseness_W``);
    ``transform`` returns the exact non-negative least-squares codes of new samples on
    ``components_``, which are not constrained to ``sparseness_W``.

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit.models.sparse import SparseNMF
    >>> X = np.random.default_rng(0).random((40, 30))
    >>> model = SparseNMF(4, sparseness_H=0.7, random_state=0, max_iter=200)
    >>> W = model.fit_transform(X)
    >>> np.allclose(model.sparseness_H_, 0.7)
    True
    """

    _own_params = {"sparseness_W": _SPARSENESS, "sparseness_H": _SPARSENESS,
                   "solver": choice("hals", "mu"), "init": choice(*_INITS)}
    _losses = (2.0,)
    _sparse_input = True

    def __init__(self, n_components=2, *, sparseness_W=None, sparseness_H=None, solver="hals",
                 init="nndsvda", loss="frobenius", max_iter=1000, tol=1e-5, max_time=None,
                 loss_every=10, random_state=None, verbose=0):
        self.n_components = n_components
        self.sparseness_W = sparseness_W
        self.sparseness_H = sparseness_H
        self.solver = solver
        self.init = init
        self.loss = loss
        self.max_iter = max_iter
        self.tol = tol
        self.max_time = max_time
        self.loss_every = loss_every
        self.random_state = random_state
        self.verbose = verbose

    def _start(self, target: Target, k: int):
        b, X = target.backend, target.X
        if self.init == "uniform":  # Hoyer's kind of start (he draws |N(0, 1)|)
            n, p = target.shape
            rng = check_random_state(self.random_state)
            avg = np.sqrt(max(float(X.sum()) / (n * p), 1e-12) / k)
            W = b.from_numpy(avg * rng.random((n, k)), dtype=X.dtype)
            H = b.from_numpy(avg * rng.random((k, p)), dtype=X.dtype)
        else:
            W, H = initialize(X, k, self.init, backend=b, dtype=X.dtype,
                              random_state=self.random_state)
        return {"W": W[None, ...], "H": H[None, ...]}

    def fit_transform(self, X, y=None):
        """Fit the model and return the codes ``W`` (n_samples × n_components)."""
        p = self._validate_params()
        data = self._check(X, reset=True)
        target = build_target(data)
        b = target.backend
        k = check_n_components(p["n_components"], target.shape)
        term = Term(target, 2.0, 1.0, "W", "H")
        step = SparsenessStep(term, b, p["sparseness_W"], p["sparseness_H"], p["solver"])
        every = 10 if p["loss_every"] is None else p["loss_every"]
        options = LoopOptions(max_iter=p["max_iter"], tol=p["tol"], max_time=p["max_time"],
                              loss_every=every, verbose=p["verbose"], desc="sparse-nmf")
        out = run(step, self._start(target, k), options, objective_fn([term], b)).restart(0)
        W, H, _, _ = gauge(out.blocks["W"], out.blocks["H"], b)
        self._store(W, H, out, b)
        return W

    def _store(self, W, H, out, b):
        self.components_ = H
        self.n_components_ = int(H.shape[0])
        self.sparseness_H_ = hoyer_sparseness(b.to_numpy(H), axis=1)
        self.sparseness_W_ = hoyer_sparseness(b.to_numpy(W), axis=0)
        self.n_iter_ = out.n_iter
        self.loss_ = out.loss
        self.loss_history_ = out.loss_history
        self.reconstruction_err_ = float(np.sqrt(2.0 * max(out.loss, 0.0)))
        self.converged_ = out.converged
        self.stop_reason_ = out.stop_reason
        info = {"loss_iters": out.loss_iters, "reconstruction_err": self.reconstruction_err_,
                "sparseness_W": self.sparseness_W_, "sparseness_H": self.sparseness_H_}
        self.result_ = NMFResult(W=W, H=H, loss=out.loss, loss_history=out.loss_history,
                                 n_iter=out.n_iter, converged=out.converged,
                                 stop_reason=out.stop_reason, elapsed=out.elapsed, beta=2.0,
                                 solver=f"sparse-{self.solver}", info=info)

    def transform(self, X):
        """Exact NNLS codes ``W >= 0`` of ``X`` on ``components_`` (not sparseness-constrained)."""
        check_is_fitted(self)
        target = build_target(self._check(X, reset=False))
        H = target.backend.cast_like(self.components_, target.X)
        return project(target, H, beta=2.0, penalty=Penalty())


def sparse_nmf(X, n_components, *, sparseness_W=None, sparseness_H=None, **params) -> NMFResult:
    """Function form of :class:`SparseNMF`: fit and return its :class:`~nmfkit.NMFResult`.

    ``result.info["sparseness_H"]`` / ``["sparseness_W"]`` hold the achieved sparseness.

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit.models.sparse import sparse_nmf
    >>> X = np.random.default_rng(1).random((30, 20))
    >>> res = sparse_nmf(X, 3, sparseness_H=0.5, random_state=0, max_iter=100)
    >>> res.H.shape, bool(np.allclose(res.info["sparseness_H"], 0.5))
    ((3, 20), True)
    """
    model = SparseNMF(n_components, sparseness_W=sparseness_W, sparseness_H=sparseness_H, **params)
    model.fit(X)
    return model.result_
