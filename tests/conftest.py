"""Shared fixtures and markers: the backend fixture runs a test on NumPy and on torch."""

from __future__ import annotations

import numpy as np
import pytest


def _torch():
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is in the test extra
        return None
    return torch


@pytest.fixture(params=["numpy", "torch"])
def backend_name(request):
    """Name of the array library a test runs on; torch tests skip without torch."""
    if request.param == "torch" and _torch() is None:
        pytest.skip("torch not installed")
    return request.param


@pytest.fixture
def to_backend(backend_name):
    """Convert a NumPy array to the array type of the current backend (float64 kept)."""
    torch = _torch()

    def convert(a):
        if a is None or backend_name == "numpy":
            return a
        return torch.as_tensor(np.asarray(a))

    return convert


def as_numpy(a):
    """A NumPy copy of a NumPy array, torch tensor or DataFrame."""
    if hasattr(a, "detach"):
        return a.detach().cpu().numpy()
    if hasattr(a, "to_numpy"):
        return a.to_numpy()
    return np.asarray(a)


def pytest_collection_modifyitems(config, items):
    torch = _torch()
    has_gpu = bool(torch is not None and torch.cuda.is_available())
    for item in items:
        if "gpu" in item.keywords and not has_gpu:
            item.add_marker(pytest.mark.skip(reason="needs a CUDA device"))
