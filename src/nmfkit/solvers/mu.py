r"""The one multiplicative-update engine: any β, any list of terms, any block.

For a block ``A`` bound by the terms ``t`` with signed weights ``w_t`` (Lee & Seung;
Févotte & Idier 2011):

.. math::
    A \leftarrow A \odot \left(\frac{\sum_t N_t}{\sum_t P_t + l_1 + l_2 A}\right)^{\gamma}

where ``(P_t, N_t)`` are the positive / negative gradient parts of ``w_t D_t``
(:meth:`nmfkit.losses.Term.parts`; a negative weight swaps them, which majorises the
concave reward term by its tangent) and

.. math::
    \gamma(\beta) = \begin{cases} 1/(2-\beta) & \beta < 1 \\ 1 & 1 \le \beta \le 2 \\
    1/(\beta-1) & \beta > 2 \end{cases}

makes each half-step non-increasing for one positive term. A zero denominator
becomes :data:`~nmfkit.losses.EPSILON` (the one safe floor, :func:`nmfkit.losses.safe_den`).
Blocks carry a leading restart axis (R, ·, ·); the update is the same for every R.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..losses import safe_den

__all__ = ["mu_gamma", "mu_update", "mu_apply", "summed_parts", "MUStep", "BlockPenalty"]


def mu_gamma(beta: float) -> float:
    """The Févotte-Idier exponent γ(β)."""
    if beta < 1:
        return 1.0 / (2.0 - beta)
    if beta > 2:
        return 1.0 / (beta - 1.0)
    return 1.0


@dataclass(frozen=True)
class BlockPenalty:
    """``l1 ‖A‖₁ + ½ l2 ‖A‖²`` on one block."""

    l1: float = 0.0
    l2: float = 0.0


def summed_parts(state, block: str, terms):
    """``(Σ P_t, Σ N_t)`` over the terms that bind ``block``."""
    P = N = None
    for t in terms:
        if not t.binds(block):
            continue
        p, n = t.parts(state, block)
        P = p if P is None else P + p
        N = n if N is None else N + n
    if P is None:
        raise ValueError(f"no term binds block {block!r}")
    return P, N


def mu_update(state, block: str, terms, backend, penalty: BlockPenalty = BlockPenalty(),
              gamma: float = 1.0):
    """One multiplicative update of ``state[block]`` (in place).

    Returns the summed parts ``(P, N)`` it used (before the penalty; ``N`` may have been
    overwritten by the ratio when it was a temporary), for callers that reuse ``P`` or a
    term's cached Frobenius products.
    """
    P0, N = summed_parts(state, block, terms)
    keep = any(t.caches(N) for t in terms)  # N is also a term's cached product: keep it
    mu_apply(state[block], P0, N, backend, penalty, gamma, keep_N=keep)
    return P0, N


def mu_apply(A, P0, N, backend, penalty: BlockPenalty = BlockPenalty(), gamma: float = 1.0,
             keep_N: bool = False):
    """``A ← A ⊙ (N / (P0 + l1 + l2 A))^γ`` in place, from parts summed by the caller
    (over terms, over row blocks, or decayed over mini-batches). ``N`` is divided in
    place unless ``keep_N``."""
    P = P0
    if penalty.l1:
        P = P + penalty.l1
    if penalty.l2:
        P = P + penalty.l2 * A
    if keep_N:
        ratio = N / safe_den(backend, P)
    else:
        ratio = backend.div_(N, safe_den(backend, P))  # N is a temporary: divide in place
    if gamma != 1:
        ratio = ratio**gamma
    A *= ratio
    return A


@dataclass
class MUStep:
    """One outer MU iteration: each block of ``blocks`` in turn.

    Parameters
    ----------
    terms : list of Term
    backend : Backend
    blocks : tuple of str
        Blocks updated, in order (``("W",)`` keeps ``H`` fixed, as ``transform`` does).
    penalties : dict
        ``block -> BlockPenalty``.
    gamma : float
        The MU exponent (:func:`mu_gamma` of the terms' β).
    """

    terms: list
    backend: object
    blocks: tuple = ("W", "H")
    penalties: dict = field(default_factory=dict)
    gamma: float = 1.0

    def prepare(self, state):
        return state

    def __call__(self, state, idx=None, want_loss=False):
        for blk in self.blocks:
            mu_update(state, blk, self.terms, self.backend,
                      self.penalties.get(blk, BlockPenalty()), self.gamma)
        return None
