r"""Joint fine-tuning of a deep (multilayer) NMF chain on the MU engine.

The chain, in nmfkit's orientation (``X`` n_samples × n_features):

.. math::
    X \approx W_L H_L H_{L-1} \cdots H_1 ,

with ``W_L`` (n_samples × k_L) the deepest codes and ``H_l`` (k_l × k_{l-1}, k_0 =
n_features). The state holds the factors under the names of :func:`chain_names`:
``"W"`` then ``"H{L}"`` … ``"H1"``, each with the leading restart axis.

A factor ``F`` with the product ``A`` of the factors on its left and ``B`` of those on
its right fixed sees the objective ``D_β(X | A F B)``, linear in ``F`` with
non-negative coefficients, so the multiplicative update of that one term is monotone
(Lee & Seung's auxiliary function through the linear map ``F ↦ A F B``). Its gradient
parts are the engine's parts of the ordinary term ``D_β(X | C B)`` for its left block
``C = A F`` (:meth:`nmfkit.losses.Term.parts`, sparse ``X`` evaluated at its stored
entries only), carried back through ``A``: ``P_F = Aᵀ P_C``, ``N_F = Aᵀ N_C``. The last
factor ``H1`` is the right block of ``D_β(X | A H_1)`` directly. The ratio and the
exponent γ(β) are the engine's :func:`nmfkit.solvers.mu.mu_apply`; this module holds
no gradient formula.

After each sweep the gauge is fixed without changing the product: each row of
``H1``, ``H2``, … sums to one, its scale moved into the factor on its left (finally
into the codes ``W``), so the scales cannot drift apart across layers.
"""

from __future__ import annotations

import numpy as np

from ..losses import Term
from .mu import mu_apply, mu_gamma

__all__ = ["DeepStep", "chain_names", "chain_product"]


def chain_names(n_layers: int) -> tuple:
    """The block names of the chain, left to right: ``("W", "H{L}", …, "H1")``."""
    return ("W",) + tuple(f"H{l}" for l in range(n_layers, 0, -1))


def chain_product(factors):
    """The product of a list of stacks (R, ·, ·), left to right; None for an empty list."""
    out = None
    for F in factors:
        out = F if out is None else out @ F
    return out


class DeepStep:
    """One sweep of multiplicative updates over every factor of the chain, then the gauge.

    Parameters
    ----------
    target : nmfkit.losses.Target
        The data (dense or CSR; no element weights needed).
    beta : float
        The β of the divergence (2 Frobenius, 1 KL).
    backend : Backend
    n_layers : int
        ``L``, the number of ``H`` factors.
    """

    def __init__(self, target, beta: float, backend, n_layers: int):
        self.backend = backend
        self.names = chain_names(n_layers)
        self.gamma = mu_gamma(beta)
        # X ≈ C B (a factor with factors on both sides or on its right only) and X ≈ A F (H1)
        self.left_term = Term(target, beta, 1.0, "C", "B")
        self.last_term = Term(target, beta, 1.0, "A", "F")

    def prepare(self, state):
        return state

    def _update(self, state, i: int):
        b = self.backend
        chain = [state[n] for n in self.names]
        F = chain[i]
        A = chain_product(chain[:i])
        if i == len(chain) - 1:  # H1: the right block of X ≈ A H1
            P, N = self.last_term.parts({"A": A, "F": F}, "F")
            mu_apply(F, P, N, b, gamma=self.gamma, keep_N=True)
            return
        B = chain_product(chain[i + 1:])
        C = F if A is None else A @ F
        P, N = self.left_term.parts({"C": C, "B": B}, "C")
        if A is not None:
            At = b.mT(A)
            if P.shape[-2] == 1 and A.shape[-2] != 1:  # a broadcast part (KL: 1 Bᵀ): Aᵀ 1 = column sums
                P = b.sum(A, axis=-2)[..., :, None] * P
            else:
                P = At @ P
            N = At @ N
            mu_apply(F, P, N, b, gamma=self.gamma)
        else:
            mu_apply(F, P, N, b, gamma=self.gamma, keep_N=True)

    def __call__(self, state, idx=None, want_loss=False):
        for i in range(len(self.names)):
            self._update(state, i)
        normalise_chain(state, self.names, self.backend)
        return None

    def objective(self, state) -> np.ndarray:
        """``D_β(X | W H_L ⋯ H_1)`` of every restart (float64)."""
        chain = [state[n] for n in self.names]
        return self.last_term.value({"A": chain_product(chain[:-1]), "F": chain[-1]})


def normalise_chain(state, names, b):
    """Rows of every ``H`` sum to one; each scale moves into the factor on its left (in place)."""
    for j in range(len(names) - 1, 0, -1):  # H1 first, the codes W last
        F, left = state[names[j]], state[names[j - 1]]
        s = b.sum(F, axis=-1)  # (R, k)
        s = b.where(s > 0, s, b.ones(s.shape, s.dtype))
        state[names[j]] = F / s[..., None]
        state[names[j - 1]] = left * s[..., None, :]
