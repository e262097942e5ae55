"""nmfkit: non-negative matrix factorisation and its modern variants.

The public API: estimators (``NMF``), the functional ``nmf()``, its result type
``NMFResult``, and the sub-packages ``datasets``, ``io``, ``plotting``, and the
AnnData adapters ``tl`` / ``pl`` (scanpy's conventions).
Sub-packages load lazily so ``import nmfkit`` stays fast and optional
dependencies (torch, anndata) are imported only when used.
"""

from __future__ import annotations

import importlib

from ._result import NMFResult
from .exceptions import ConvergenceWarning, NMFInputError

__version__ = "0.1.0"

__all__ = [
    "NMF",
    "nmf",
    "MiniBatchNMF",
    "ConvexNMF",
    "SemiNMF",
    "NonnegativeAutoencoder",
    "ContrastiveNMF",
    "contrastive_nmf",
    "contrastive_path",
    "SymmetricNMF",
    "symmetric_nmf",
    "symnmf_affinity",
    "memberships",
    "cluster_labels",
    "SparseNMF",
    "sparse_nmf",
    "hoyer_sparseness",
    "TriNMF",
    "TriNMFResult",
    "tri_nmf",
    "ArchetypalAnalysis",
    "archetypal_analysis",
    "DeepNMF",
    "DeepNMFResult",
    "deep_nmf",
    "SupervisedNMF",
    "supervised_nmf",
    "JointNMF",
    "JointResult",
    "joint_nmf",
    "stack_datasets",
    "NMFResult",
    "NMFInputError",
    "ConvergenceWarning",
    "datasets",
    "io",
    "plotting",
    "selection",
    "signatures",
    "tl",
    "pl",
    "report",
    "top_features",
    "__version__",
]

_LAZY_ATTRS = {
    "NMF": ("nmfkit.models.nmf", "NMF"),
    "nmf": ("nmfkit.models.nmf", "nmf"),
    "MiniBatchNMF": ("nmfkit.models.minibatch", "MiniBatchNMF"),
    "ConvexNMF": ("nmfkit.models.convex", "ConvexNMF"),
    "SemiNMF": ("nmfkit.models.convex", "SemiNMF"),
    "NonnegativeAutoencoder": ("nmfkit.models.autoencoder", "NonnegativeAutoencoder"),
    "ContrastiveNMF": ("nmfkit.models.contrastive", "ContrastiveNMF"),
    "contrastive_nmf": ("nmfkit.models.contrastive", "contrastive_nmf"),
    "contrastive_path": ("nmfkit.selection._contrastive_path", "contrastive_path"),
    "SymmetricNMF": ("nmfkit.models.symmetric", "SymmetricNMF"),
    "symmetric_nmf": ("nmfkit.models.symmetric", "symmetric_nmf"),
    "symnmf_affinity": ("nmfkit.models.symmetric", "symnmf_affinity"),
    "memberships": ("nmfkit.models._membership", "memberships"),
    "cluster_labels": ("nmfkit.models._membership", "cluster_labels"),
    "top_features": ("nmfkit._inspect", "top_features"),
    "SparseNMF": ("nmfkit.models.sparse", "SparseNMF"),
    "sparse_nmf": ("nmfkit.models.sparse", "sparse_nmf"),
    "hoyer_sparseness": ("nmfkit.solvers.sparseness", "hoyer_sparseness"),
    "TriNMF": ("nmfkit.models.tri", "TriNMF"),
    "TriNMFResult": ("nmfkit.models.tri", "TriNMFResult"),
    "tri_nmf": ("nmfkit.models.tri", "tri_nmf"),
    "ArchetypalAnalysis": ("nmfkit.models.archetypal", "ArchetypalAnalysis"),
    "archetypal_analysis": ("nmfkit.models.archetypal", "archetypal_analysis"),
    "DeepNMF": ("nmfkit.models.deep", "DeepNMF"),
    "DeepNMFResult": ("nmfkit.models.deep", "DeepNMFResult"),
    "deep_nmf": ("nmfkit.models.deep", "deep_nmf"),
    "SupervisedNMF": ("nmfkit.models.supervised", "SupervisedNMF"),
    "supervised_nmf": ("nmfkit.models.supervised", "supervised_nmf"),
    "JointNMF": ("nmfkit.models.joint", "JointNMF"),
    "JointResult": ("nmfkit.models.joint", "JointResult"),
    "joint_nmf": ("nmfkit.models.joint", "joint_nmf"),
    "stack_datasets": ("nmfkit.models.joint", "stack_datasets"),
}
_LAZY_MODULES = {"datasets", "io", "plotting", "selection", "backends", "losses", "solvers", "models", "init",
                 "signatures", "tl", "pl", "report"}


def __getattr__(name: str):
    if name in _LAZY_ATTRS:
        module, attr = _LAZY_ATTRS[name]
        return getattr(importlib.import_module(module), attr)
    if name in _LAZY_MODULES:
        return importlib.import_module(f"nmfkit.{name}")
    raise AttributeError(f"module 'nmfkit' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
