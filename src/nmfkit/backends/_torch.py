"""PyTorch backend: the array-API backend with native torch kernels where they are faster."""

from __future__ import annotations

import numpy as np

from ._array_api import ArrayAPIBackend

__all__ = ["TorchBackend"]


class TorchBackend(ArrayAPIBackend):
    """PyTorch tensors, computed on their own device.

    ``torch`` (the module) is available as ``backend.torch``; ``backend.xp`` is the
    array-API namespace ``array_api_compat.torch``.
    """

    name = "torch"

    def __init__(self, device=None):
        import array_api_compat.torch as xp
        import torch

        self.torch = torch
        super().__init__(xp, device if device is not None else torch.device("cpu"))

    def as_dtype(self, dtype):
        if isinstance(dtype, self.torch.dtype):
            return dtype
        return getattr(self.torch, np.dtype(dtype).name)

    def np_dtype(self, dtype):
        return np.dtype(str(dtype).replace("torch.", ""))

    def as_input(self, X, name: str = "X", dtype=None):
        """A dense float tensor on ``X``'s device, detached from autograd (no copy).

        A tensor that tracks gradients would make every update part of an autograd graph
        (memory and time growing each iteration): NMF takes its values only. Sparse
        layouts and complex dtypes raise NMFInputError.
        """
        from ..exceptions import NMFInputError

        torch = self.torch
        X = X.detach()
        if X.layout != torch.strided:
            raise NMFInputError(f"{name} is a sparse torch tensor; pass {name}.to_dense() or a "
                                "scipy.sparse matrix")
        if X.is_complex():
            raise NMFInputError(f"Complex data not supported: {name} is complex; pass real "
                                f"numbers (abs({name}) or {name}.real)")
        if dtype is not None:
            return X.to(torch.float32 if np.dtype(dtype) == np.float32 else torch.float64)
        return X if X.dtype in (torch.float32, torch.float64) else X.to(torch.float64)

    def asarray(self, a, dtype=None):
        return self.torch.as_tensor(a, dtype=None if dtype is None else self.as_dtype(dtype),
                                    device=self.device)

    def from_numpy(self, a, dtype=None):
        t = self.torch.from_numpy(np.ascontiguousarray(a))
        if dtype is not None:
            t = t.to(self.as_dtype(dtype))
        return t.to(self.device)

    def to_numpy(self, a):
        return a.detach().cpu().numpy()

    def item(self, a) -> float:
        return float(a.item()) if hasattr(a, "item") else float(a)

    def eps(self, dtype) -> float:
        return float(self.torch.finfo(self.as_dtype(dtype)).eps)

    def zeros(self, shape, dtype):
        return self.torch.zeros(shape, dtype=self.as_dtype(dtype), device=self.device)

    def empty(self, shape, dtype):
        return self.torch.empty(shape, dtype=self.as_dtype(dtype), device=self.device)

    def ones(self, shape, dtype):
        return self.torch.ones(shape, dtype=self.as_dtype(dtype), device=self.device)

    def copy(self, a):
        return a.clone()

    def clamp_min_(self, a, value):
        return a.clamp_(min=value)

    def clamp_min(self, a, value):
        return a.clamp(min=value)

    def mul_(self, a, b):
        return a.mul_(b)

    def div_(self, a, b):
        return a.div_(b)

    def add_(self, a, b):
        return a.add_(b)

    def sub_(self, a, b):
        return a.sub_(b)

    def multiply(self, a, b, out=None):
        return self.torch.mul(a, b, out=out)

    def divide(self, a, b, out=None):
        return self.torch.div(a, b, out=out)

    def matmul(self, a, b, out=None):
        return self.torch.matmul(a, b, out=out)

    def put_(self, a, idx, values):
        a[self.index(idx)] = values
        return a

    def sum(self, a, axis=None):
        return a.sum() if axis is None else a.sum(dim=axis)

    def isnan(self, a):
        return self.torch.isnan(a)

    def where(self, cond, a, b):
        return self.torch.where(cond, a, b)

    def nan_to_zero(self, a):
        return self.torch.nan_to_num(a, nan=0.0)

    def log(self, a):
        return self.torch.log(a)

    def log1p(self, a):
        return self.torch.log1p(a)

    def xlogy(self, x, y):
        return self.torch.xlogy(x, y)

    def sqrt(self, a):
        return self.torch.sqrt(a)

    def norm2(self, a) -> float:
        """Squared Frobenius norm, accumulated in float64."""
        return float(self.torch.linalg.vector_norm(a, dtype=self.torch.float64).item()) ** 2

    def sumsq(self, a) -> float:
        """``Σ a²`` in the array's own precision (cheap; for stopping tests)."""
        return float((a * a).sum().item())

    def vdot(self, a, b) -> float:
        """Sum of the elementwise product, accumulated in float64."""
        return float((a.double() * b.double()).sum().item())

    def size(self, a) -> int:
        return int(a.numel())

    def diag(self, a):
        return self.torch.diagonal(a, dim1=-2, dim2=-1).clone()

    def contiguous(self, a):
        return a.contiguous()

    def mT(self, a):
        return a.mT

    def take(self, a, idx, axis=0):
        return self.torch.index_select(a, axis, self.index(idx))

    def index(self, idx):
        return self.torch.as_tensor(np.asarray(idx) if isinstance(idx, (list, tuple, range)) else idx,
                                    dtype=self.torch.int64, device=self.device)

    def solve(self, A, B):
        return self.torch.linalg.solve(A, B)
