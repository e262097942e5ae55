r"""A one-hidden-layer autoencoder with non-negative weights, read as a factorisation ``X ≈ W H``.

Training lives in :mod:`nmfkit.solvers.autoencoder`; this module maps the network onto
nmfkit's orientation (``X`` n_samples × n_features, codes ``W``, basis ``H`` =
``components_``). PyTorch is imported only when the model is fitted.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .._validation import BETA_NAMES, check_loss, check_n_components
from ..backends import is_torch
from ..backends._random import check_random_state
from ..exceptions import NMFInputError
from ..solvers.autoencoder import (ACTIVATIONS, CONSTRAINTS, AEConfig, AEParams, activate,
                                   forward, import_torch, train_autoencoder)
from ._base import BOOL, OPEN_FRACTION, POSITIVE_INT, _optional, choice
from ._dense import check_factor, check_features, check_real, gauge
from .convex import _DenseFactorModel

__all__ = ["NonnegativeAutoencoder"]

_EXAMPLES = ("features", "samples")
_HOMOGENEOUS = (None, "identity", "relu")


def _positive(value, name):
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not 0 < value < np.inf:
        raise NMFInputError(f"{name}={value!r} must be a finite number > 0 (or None for the default)")
    return float(value)


class NonnegativeAutoencoder(_DenseFactorModel):
    r"""Autoencoder with non-negative weights and one hidden layer of ``n_components`` units.

    Each training example ``t`` (length ``d``) is encoded as :math:`z = \phi(t E)` and
    decoded as :math:`\hat t = \psi(z D)`, with :math:`E \in \mathbb{R}_+^{d \times k}`
    (``encoder_``), :math:`D \in \mathbb{R}_+^{k \times d}` (``decoder_``), no biases, and
    the objective :math:`\tfrac12 \sum (T - \hat T)^2` (or the generalised KL divergence).

    **Which rows are the examples** (``examples``):

    ``"features"`` (default; the AE-NMF paper, Egendal et al., arXiv 2405.07879)
        The examples are the *columns* of ``X`` (for a genome × mutation-type matrix: the
        96 mutation types), each a vector over the ``n_samples`` samples: ``T = Xᵀ``,
        ``d = n_samples``. The encoder output is the basis and the decoder weights are
        the codes::

            components_ (H, k × n_features)  = φ(Xᵀ E)ᵀ      (the signatures)
            codes       (W, n_samples × k)   = Dᵀ            (the exposures)
            X̂ = ψ(W H)

        With linear activations this is exactly convex NMF, :math:`X \approx W A X` with
        ``W = Dᵀ = decoder_.T`` and ``A = Eᵀ = encoder_.T`` (:class:`nmfkit.ConvexNMF`'s
        ``fit_transform`` output and ``combination_``). New samples are not inputs of
        this network, so ``transform`` is the exact NNLS of ``X`` on ``components_``.

    ``"samples"`` (the usual deep-learning orientation, e.g. MUSE-XAE)
        The examples are the samples: ``T = X``, ``d = n_features``; codes
        ``W = φ(X E)`` (``transform`` is this forward pass) and ``components_ = D``.
        With linear activations, :math:`X \approx X E D`: convex NMF of ``Xᵀ``.

    Parameters
    ----------
    n_components : int, default=2
    examples : {"features", "samples"}, default="features"
    activation, output_activation : {None, "relu", "softplus", "sigmoid"}, default=None
        φ and ψ (None is linear).
    constraint : {"abs", "project", "softplus"}, default="abs"
        Non-negativity of the weights: ``|θ|`` in the forward pass, clipping after each
        step (projected gradient), or ``softplus(θ)``.
    tied : bool, default=False
        ``D = Eᵀ``.
    loss : {"frobenius", "kl"}, default="frobenius"
        Also their aliases ("euclidean", 2; "kullback-leibler", "poisson", 1); other βs
        raise an error.
    optimizer : {"adam", "lbfgs"}, default="adam"
    lr : float or None, default=None
        Learning rate; None is 1e-2 for Adam (the paper used 1e-4, which needs far more
        epochs) and 1 for L-BFGS (strong-Wolfe line search).
    batch_size : int or None, default=None
        Examples per mini-batch (None: full batch; L-BFGS needs the full batch).
    max_iter : int, default=2000
        Epochs.
    tol : float, default=1e-6
        Converged when the objective (validation objective with early stopping) has not
        improved by a relative ``tol`` for ``n_iter_no_change`` epochs (the loss is
        checked every epoch; the one meaning of ``tol``: :mod:`nmfkit.models._base`).
    n_iter_no_change : int, default=20
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the examples, stop on their objective and
        restore the best weights.
    validation_fraction : float, default=0.1
    init : {"random", "custom"}, default="random"
        "random": uniform(0, 1) weights (as in the paper) scaled to the data;
        "custom": ``encoder`` and ``decoder`` passed to ``fit``.
    max_time : float or None, default=None
    random_state : int, Generator or None, default=None
    verbose : int, default=0

    Attributes
    ----------
    components_ : array (k, n_features)
        The basis; rows sum to 1 for ``X >= 0`` (scale moved into the codes), ordered by
        contribution.
    encoder_ : array (d, k)
        The network's non-negative encoder weights (as trained, before the gauge above).
    decoder_ : array (k, d)
        The network's non-negative decoder weights (as trained, before the gauge above).
    loss_, loss_history_ : float, tuple
        Training objective (½ Σ (T − T̂)² or KL) after each epoch; entry 0 is the start.
    validation_loss_history_ : tuple
        With early stopping, the held-out examples' objective per epoch.
    n_iter_, converged_, stop_reason_, reconstruction_err_, result_

    Notes
    -----
    ``fit_transform`` returns the training samples' codes of the network (for
    ``examples="features"`` the decoder weights ``decoder_.T``); ``transform`` of
    ``examples="features"`` is the exact NNLS on ``components_``, equal to them only
    at an exact stationary point.

    The outputs follow the input: torch tensors (on ``X``'s device, in its dtype) for a
    tensor ``X``, NumPy arrays otherwise (float32 stays float32, the rest float64).

    Examples
    --------
    >>> import numpy as np, nmfkit
    >>> X = np.random.default_rng(0).random((20, 30))
    >>> ae = nmfkit.NonnegativeAutoencoder(3, max_iter=50, random_state=0, tol=0)
    >>> W = ae.fit_transform(X)
    >>> W.shape, ae.components_.shape, ae.loss_history_[-1] < ae.loss_history_[0]
    ((20, 3), (3, 30), True)
    """

    _name = "NonnegativeAutoencoder"

    def __init__(self, n_components=2, *, examples="features", activation=None,
                 output_activation=None, constraint="abs", tied=False, loss="frobenius",
                 optimizer="adam", lr=None, batch_size=None, max_iter=2000, tol=1e-6,
                 n_iter_no_change=20, early_stopping=False, validation_fraction=0.1,
                 init="random", max_time=None, random_state=None, verbose=0):
        self.n_components = n_components
        self.examples = examples
        self.activation = activation
        self.output_activation = output_activation
        self.constraint = constraint
        self.tied = tied
        self.loss = loss
        self.optimizer = optimizer
        self.lr = lr
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.init = init
        self.max_time = max_time
        self.random_state = random_state
        self.verbose = verbose

    _own_params = {
        "examples": choice(*_EXAMPLES),
        "activation": choice(*ACTIVATIONS),
        "output_activation": choice(*ACTIVATIONS),
        "constraint": choice(*CONSTRAINTS),
        "tied": BOOL,
        "optimizer": choice("adam", "lbfgs"),
        "lr": _optional(_positive),
        "n_iter_no_change": POSITIVE_INT,
        "early_stopping": BOOL,
        "validation_fraction": OPEN_FRACTION,
        "init": choice("random", "custom"),
    }
    _losses = (2.0, 1.0)

    # -- checks ------------------------------------------------------------------------
    def _check_params(self):
        checked = self._validate_params()
        if self.batch_size is not None and self.optimizer == "lbfgs":
            raise NMFInputError("optimizer='lbfgs' needs the full batch: pass batch_size=None "
                                "(or use optimizer='adam' for mini-batches)")
        if self.optimizer == "lbfgs" and self.constraint == "project":
            raise NMFInputError("optimizer='lbfgs' cannot be combined with constraint='project' (clipping "
                                "after a step breaks its curvature pairs and line search); use "
                                "constraint='abs' or 'softplus' with L-BFGS, or optimizer='adam'")
        return checked

    def _loss_name(self):
        """The canonical name of ``loss`` ("frobenius" or "kl"; aliases and β accepted)."""
        return BETA_NAMES[check_loss(self.loss, self._name, self._losses)]

    def _config(self):
        lr = self.lr if self.lr is not None else (1.0 if self.optimizer == "lbfgs" else 1e-2)
        return AEConfig(self.activation, self.output_activation, self.constraint, self._loss_name(),
                        self.optimizer, float(lr), self.batch_size, self.n_iter_no_change,
                        bool(self.early_stopping))

    # -- fitting -------------------------------------------------------------------------
    def _start(self, T, k, encoder, decoder, rng, torch, user_backend, user_dtype):
        d = T.shape[1]
        if self.init == "custom":
            def factor(M, name, shape):  # validated in the caller's array type, then on T's device
                M = check_factor(M, name, shape, user_backend, user_dtype)
                return torch.as_tensor(M, device=T.device).to(T.dtype)

            E = factor(encoder, "encoder", (d, k))
            if self.tied:
                if decoder is not None:
                    raise NMFInputError("tied=True: the decoder is encoder.T; pass encoder only")
                return E, None
            return E, factor(decoder, "decoder", (k, d))
        if encoder is not None or decoder is not None:
            raise NMFInputError(f"encoder/decoder start the fit only with init='custom' (init={self.init!r})")
        as_t = lambda a: torch.as_tensor(a, dtype=T.dtype, device=T.device)  # noqa: E731
        E = as_t(rng.random((d, k)))
        D = None if self.tied else as_t(rng.random((k, d)))
        cfg = self._config()
        That = forward(T, AEParams(E, D, "project", self.tied), cfg)[1].detach()
        alpha = float((T * That).sum()) / max(float((That * That).sum()), 1e-300)
        if alpha <= 0:
            return E, D
        if self.tied:
            return E * np.sqrt(alpha), None
        D = D * alpha  # exact for a linear or ReLU output
        if self.activation in _HOMOGENEOUS:  # balance the two layers' scales
            c = (float(D.norm()) / float(E.norm())) ** 0.5
            E, D = E * c, D / c
        return E, D

    def fit_transform(self, X, y=None, encoder=None, decoder=None):
        """Fit and return the codes ``W`` (n_samples × k) of the training samples.

        ``encoder`` (d × k) and ``decoder`` (k × d), both ``>= 0``, start the fit when
        ``init="custom"``; from a fitted :class:`nmfkit.ConvexNMF` (``examples="features"``,
        linear): ``encoder=cnmf.combination_.T``, ``decoder=W.T``.
        """
        self._check_params()
        torch = import_torch()
        values, b, _, _ = check_real(X, self._name, nonneg=self._loss_name() == "kl")
        check_features(self, X, reset=True)
        k = check_n_components(self.n_components, values.shape)
        Xt = values if is_torch(values) else _tensor(values, torch)
        T = Xt.T.contiguous() if self.examples == "features" else Xt
        rng = check_random_state(self.random_state)
        E0, D0 = self._start(T, k, encoder, decoder, rng, torch, b, values.dtype)
        params = AEParams(E0, D0, self.constraint, bool(self.tied))
        T_fit, T_val = T, None
        if self.early_stopping:
            m = T.shape[0]
            n_val = max(1, int(round(self.validation_fraction * m)))
            if n_val >= m:
                raise NMFInputError(f"validation_fraction={self.validation_fraction} leaves no "
                                    f"training examples out of {m}; lower it")
            perm = torch.as_tensor(rng.permutation(m), device=T.device)
            T_val, T_fit = T[perm[:n_val]], T[perm[n_val:]]
        outcome, val = train_autoencoder(T_fit, T_val, params, self._config(), max_iter=self.max_iter,
                                         tol=self.tol, max_time=self.max_time, verbose=self.verbose,
                                         seed=int(rng.integers(2**31 - 1)))
        with torch.no_grad():
            E, D = (w.detach().clone() for w in params.weights())
            Z = activate(T @ E, self.activation)
            W, H = (D.T, Z.T) if self.examples == "features" else (Z, D)
            nonneg = float(Xt.min()) >= 0
            W, H, scale, order = gauge(W.contiguous(), H.contiguous(), _torch_backend(Xt),
                                       by="sum" if nonneg else "norm")
        self._scale, self._order = scale, order
        out = (lambda a: a) if is_torch(values) else (lambda a: a.cpu().numpy())
        self.encoder_, self.decoder_ = out(E), out(D)
        self.validation_loss_history_ = val
        W, H = out(W), out(H)
        self._store(W, H, outcome, float(outcome.loss), f"autoencoder-{self.optimizer}", {})
        return W

    # -- using the fitted model ------------------------------------------------------------
    def transform(self, X):
        """Codes of ``X``: the encoder (``examples="samples"``) or the exact NNLS on ``components_``."""
        check_is_fitted(self)
        if self.examples == "features":
            return super().transform(X)
        torch = import_torch()
        values, b = self._data(X, reset=False)
        Xt = values if is_torch(values) else _tensor(values, torch)
        E = torch.as_tensor(self.encoder_, device=Xt.device).to(Xt.dtype)
        scale = self._scale.to(device=Xt.device, dtype=Xt.dtype)
        with torch.no_grad():
            Z = (activate(Xt @ E, self.activation) * scale)[:, self._order.to(Xt.device)]
        return Z if is_torch(values) else Z.cpu().numpy()

    def inverse_transform(self, X):
        """The reconstruction ``ψ(X @ components_)`` of codes ``X`` (ψ = ``output_activation``)."""
        rec = super().inverse_transform(X)
        if self.output_activation in (None, "identity"):
            return rec
        torch = import_torch()
        was_torch = is_torch(rec)
        rec = activate(rec if was_torch else torch.from_numpy(np.ascontiguousarray(rec)),
                       self.output_activation)
        return rec if was_torch else rec.numpy()


def _tensor(values, torch):
    """A tensor sharing a NumPy array's memory (a copy if the array is read-only)."""
    arr = np.ascontiguousarray(values)
    return torch.from_numpy(arr if arr.flags.writeable else arr.copy())


def _torch_backend(t):
    from ..backends import TorchBackend

    return TorchBackend(t.device)
