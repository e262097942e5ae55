r"""Training of a one-hidden-layer autoencoder with non-negative weights (PyTorch).

The network maps each training example (a row ``t`` of ``T``, length ``d``) to

.. math::
    z = \phi_\text{enc}(t\, E), \qquad \hat t = \phi_\text{dec}(z\, D),

with encoder weights :math:`E \in \mathbb{R}_+^{d \times k}`, decoder weights
:math:`D \in \mathbb{R}_+^{k \times d}` (``D = Eᵀ`` when tied) and no biases. It minimises
:math:`\tfrac12 \sum (T - \hat T)^2` (``loss="frobenius"``) or the generalised KL divergence
:math:`\sum T \log(T / \hat T) - T + \hat T` (``loss="kl"``). Which matrix plays ``T`` is
the model's business (:class:`nmfkit.NonnegativeAutoencoder`).

Non-negativity of the weights is enforced by

- ``"project"``: the parameters are the weights, clipped at 0 after every optimiser step
  (projected gradient; with L-BFGS a heuristic, since its line search ignores the bound);
- ``"abs"``: weights ``= |θ|`` in the forward pass (the AE-NMF paper's ``fpabs``);
- ``"softplus"``: weights ``= log(1 + e^θ)`` (strictly positive).

One iteration of :func:`nmfkit.solvers.run` is one epoch (all mini-batches once, or one
L-BFGS step on the full batch). Convergence: no relative improvement of the training
objective (or, with early stopping, of the validation objective) larger than ``tol``
for ``n_iter_no_change`` epochs. At the end the best weights seen (by that objective) are
restored, so a final Adam step that overshot is not kept.
torch is imported only when a function here is called.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from dataclasses import dataclass, replace
from typing import Optional

import numpy as np

from ..exceptions import ConvergenceWarning
from ._loop import LoopOptions, run

__all__ = ["import_torch", "AEConfig", "AEParams", "train_autoencoder", "ACTIVATIONS", "CONSTRAINTS"]

CONSTRAINTS = ("project", "abs", "softplus")
ACTIVATIONS = (None, "identity", "relu", "softplus", "sigmoid")


def import_torch():
    """``torch``, or an ImportError that says how to install it."""
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - torch is in the test extra
        raise ImportError(
            "NonnegativeAutoencoder needs PyTorch, which is not installed; install it with "
            "pip install 'nmfkit[torch]' (or pip install torch)"
        ) from exc
    return torch


def activate(Z, name):
    torch = import_torch()
    if name in (None, "identity"):
        return Z
    if name == "relu":
        return torch.relu(Z)
    if name == "softplus":
        return torch.nn.functional.softplus(Z)
    return torch.sigmoid(Z)


@dataclass
class AEConfig:
    activation: Optional[str] = None
    output_activation: Optional[str] = None
    constraint: str = "abs"
    loss: str = "frobenius"
    optimizer: str = "adam"
    lr: float = 1e-3
    batch_size: Optional[int] = None
    n_iter_no_change: int = 20
    early_stopping: bool = False


class AEParams:
    """Raw parameters and the non-negative weights they stand for."""

    def __init__(self, E, D, constraint: str, tied: bool):
        self.constraint = constraint
        self.tied = tied
        self.raw_E = self._raw(E).requires_grad_(True)
        self.raw_D = None if tied else self._raw(D).requires_grad_(True)

    def _raw(self, w):
        torch = import_torch()
        w = w.detach().clone(memory_format=torch.contiguous_format)
        if self.constraint == "softplus":  # inverse softplus, stable for large and tiny w
            w = w.clamp_min(torch.finfo(w.dtype).tiny ** 0.5)
            return w + torch.log(-torch.expm1(-w))
        return w

    def _weight(self, raw):
        torch = import_torch()
        if self.constraint == "abs":
            return raw.abs()
        if self.constraint == "softplus":
            return torch.nn.functional.softplus(raw)
        return raw

    def parameters(self):
        return [self.raw_E] if self.tied else [self.raw_E, self.raw_D]

    def weights(self):
        E = self._weight(self.raw_E)
        return E, (E.T if self.tied else self._weight(self.raw_D))

    def project_(self):
        if self.constraint == "project":
            torch = import_torch()
            with torch.no_grad():
                for p in self.parameters():
                    p.clamp_(min=0.0)

    def state(self):
        return [p.detach().clone() for p in self.parameters()]

    def load(self, state):
        torch = import_torch()
        with torch.no_grad():
            for p, s in zip(self.parameters(), state):
                p.copy_(s)


def forward(T, params: AEParams, cfg: AEConfig):
    E, D = params.weights()
    Z = activate(T @ E, cfg.activation)
    return Z, activate(Z @ D, cfg.output_activation)


def divergence(T, That, loss: str):
    torch = import_torch()
    if loss == "frobenius":
        return 0.5 * ((T - That) ** 2).sum()
    That = That.clamp_min(torch.finfo(That.dtype).eps)
    return (torch.xlogy(T, T) - torch.xlogy(T, That) - T + That).sum()


def evaluate(T, params: AEParams, cfg: AEConfig) -> float:
    torch = import_torch()
    with torch.no_grad():
        return float(divergence(T, forward(T, params, cfg)[1], cfg.loss))


def _make_optimizer(params: AEParams, cfg: AEConfig):
    torch = import_torch()
    if cfg.optimizer == "lbfgs":
        return torch.optim.LBFGS(params.parameters(), lr=cfg.lr, max_iter=20, history_size=20,
                                 line_search_fn="strong_wolfe", tolerance_grad=1e-12,
                                 tolerance_change=1e-15)
    return torch.optim.Adam(params.parameters(), lr=cfg.lr)


@contextlib.contextmanager
def _small_cpu_threads(T, k: int):
    """One intra-op thread for small CPU problems (restored afterwards).

    Thread start-up and spin-waiting dominate products of a few thousand entries: on
    a busy 2-core machine an epoch of a 20 × 12 problem ran ~70× slower on 2 threads.
    """
    torch = import_torch()
    small = T.device.type == "cpu" and T.numel() * max(k, 1) < 2**20
    before = torch.get_num_threads()
    if small and before > 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if small and before > 1:
            torch.set_num_threads(before)


def train_autoencoder(T, T_val, params: AEParams, cfg: AEConfig, *, max_iter: int, tol: float,
                      max_time=None, verbose: int = 0, seed: int = 0):
    """Train ``params`` on the rows of ``T``; return ``(outcome, validation_history)``.

    ``outcome`` is the loop's outcome of the one restart (its block ``params`` holds
    the trained parameters) with ``stop_reason`` one of ``"tol"``, ``"early_stopping"``, ``"max_iter"``,
    ``"max_time"`` or ``"nonfinite"``.
    """
    torch = import_torch()
    m = T.shape[0]
    scale = max(evaluate(T, params, cfg), 1e-300)  # optimise a loss that starts near 1
    opt = _make_optimizer(params, cfg)
    gen = torch.Generator().manual_seed(int(seed))
    batch = m if cfg.batch_size is None else min(int(cfg.batch_size), m)

    def closure():
        opt.zero_grad()
        value = divergence(T, forward(T, params, cfg)[1], cfg.loss) / scale
        value.backward()
        return value

    def step(state, idx=None, want_loss=False):
        p = state["params"][0]
        if cfg.optimizer == "lbfgs":
            opt.step(closure)
            p.project_()
            return None
        order = torch.randperm(m, generator=gen).to(T.device) if batch < m else None
        for start in range(0, m, batch):
            Tb = T if order is None else T[order[start:start + batch]]
            opt.zero_grad()
            value = divergence(Tb, forward(Tb, p, cfg)[1], cfg.loss) * (m / Tb.shape[0]) / scale
            value.backward()
            opt.step()
            p.project_()
        return None

    # best: the reference for "improved by tol"; best_seen/state: the best weights so far
    watch = {"best": math.inf, "best_seen": math.inf, "since": 0, "state": None, "val": [],
             "reason": None}

    def callback(n_iter, state, losses):
        p = state["params"][0]
        value = float(losses[0])
        if cfg.early_stopping:
            value = evaluate(T_val, p, cfg)
            watch["val"].append(value)
        if value < watch["best_seen"]:
            watch.update(best_seen=value, state=p.state())
        if value < watch["best"] * (1.0 - tol) or (tol == 0 and value < watch["best"]):
            watch.update(best=value, since=0)
        else:
            watch["since"] += 1
        if watch["since"] >= cfg.n_iter_no_change:
            watch["reason"] = "early_stopping" if cfg.early_stopping else "tol"
            return True
        return False

    start = evaluate(T_val, params, cfg) if cfg.early_stopping else evaluate(T, params, cfg)
    if cfg.early_stopping:
        watch["val"].append(start)
    watch.update(best=start, best_seen=start, state=params.state())
    options = LoopOptions(max_iter=max_iter, tol=0.0, max_time=max_time, loss_every=1,
                          verbose=verbose, callback=callback, warn=False, desc="autoencoder")
    with _small_cpu_threads(T, params.raw_E.shape[1]):
        outcome = run(step, {"params": [params]}, options,
                      lambda state: np.array([evaluate(T, state["params"][0], cfg)])).restart(0)
    if outcome.stop_reason == "callback":
        outcome = replace(outcome, stop_reason=watch["reason"], converged=True)
    if watch["state"] is not None and watch["best_seen"] < math.inf:
        params.load(watch["state"])  # the best weights seen (on the validation set if any)
        outcome = replace(outcome, loss=evaluate(T, params, cfg))
    if outcome.stop_reason == "max_iter" and tol > 0:
        warnings.warn(f"autoencoder: stopped at max_iter={max_iter} before the objective stopped "
                      f"improving by more than tol={tol:g}; raise max_iter, lr or tol",
                      ConvergenceWarning, stacklevel=3)
    return outcome, tuple(watch["val"])
