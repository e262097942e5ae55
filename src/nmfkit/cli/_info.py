"""``nmfkit info``: versions, optional backends and BLAS threads, for bug reports."""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import importlib.util
import json
import platform
import sys
from typing import Any

__all__ = ["add_parser", "run", "collect"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``info`` sub-command."""
    p = subparsers.add_parser(
        "info",
        help="show versions, optional backends (torch/CUDA, cupy, anndata, dask) and BLAS threads",
        description=(
            "Print the versions of nmfkit, Python and its dependencies, which optional "
            "backends can be imported (torch with CUDA devices, cupy, anndata, dask) and the "
            "BLAS / OpenMP thread pools (threadpoolctl). Paste it into bug reports."
        ),
    )
    p.add_argument("--json", action="store_true", help="print the same as JSON")
    p.set_defaults(handler=run)
    return p


def _optional(name: str) -> dict[str, Any]:
    """Whether ``name`` imports, and its version (import errors are reported, not raised)."""
    if importlib.util.find_spec(name) is None:
        return {"installed": False}
    try:
        module = importlib.import_module(name)
    except Exception as exc:  # a broken install must not break `info`
        return {"installed": True, "importable": False, "error": f"{type(exc).__name__}: {exc}"}
    try:
        version = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        version = str(getattr(module, "__dict__", {}).get("__version__", "?"))
    return {"installed": True, "importable": True, "version": version}


def _torch() -> dict[str, Any]:
    entry = _optional("torch")
    if not entry.get("importable"):
        return entry
    import torch

    entry["version"] = str(torch.__version__)
    try:
        cuda = bool(torch.cuda.is_available())
        entry["cuda"] = cuda
        entry["cuda_version"] = torch.version.cuda
        entry["devices"] = (
            [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if cuda else []
        )
    except Exception as exc:  # pragma: no cover - driver trouble
        entry["cuda"] = False
        entry["error"] = f"{type(exc).__name__}: {exc}"
    return entry


def _cupy() -> dict[str, Any]:
    entry = _optional("cupy")
    if not entry.get("importable"):
        return entry
    import cupy

    try:
        n = cupy.cuda.runtime.getDeviceCount()
        entry["devices"] = [
            cupy.cuda.runtime.getDeviceProperties(i)["name"].decode() for i in range(n)
        ]
    except Exception as exc:  # no driver / no device
        entry["devices"] = []
        entry["error"] = f"{type(exc).__name__}: {exc}"
    return entry


def _blas() -> list[dict[str, Any]]:
    try:
        import scipy.linalg  # noqa: F401  (loads SciPy's BLAS too)
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        return []
    return [
        {
            "api": pool.get("internal_api"),
            "version": pool.get("version"),
            "threads": pool.get("num_threads"),
            "threading_layer": pool.get("threading_layer"),
            "library": pool.get("filepath"),
        }
        for pool in threadpool_info()
    ]


def collect() -> dict[str, Any]:
    """Everything ``nmfkit info`` reports, as a dict."""
    from .._files import versions

    core = versions()
    core["tqdm"] = _optional("tqdm").get("version")
    core["threadpoolctl"] = _optional("threadpoolctl").get("version")
    return {
        "versions": core,
        "python_executable": sys.executable,
        "platform": platform.platform(),
        "optional": {
            "torch": _torch(),
            "cupy": _cupy(),
            "anndata": _optional("anndata"),
            "dask": _optional("dask"),
        },
        "blas": _blas(),
    }


def _describe(entry: dict[str, Any]) -> str:
    if not entry.get("installed"):
        return "not installed"
    if not entry.get("importable"):
        return f"installed but fails to import ({entry.get('error')})"
    text = str(entry.get("version", "?"))
    if "cuda" in entry:
        if entry["cuda"]:
            text += f", CUDA {entry.get('cuda_version')}: " + "; ".join(entry["devices"])
        else:
            text += ", CUDA not available"
    elif "devices" in entry:
        text += ", devices: " + ("; ".join(entry["devices"]) or "none")
    return text


def run(args: argparse.Namespace) -> int:
    """Execute ``nmfkit info``."""
    info = collect()
    if getattr(args, "json", False):
        print(json.dumps(info, indent=2, default=str))
        return 0
    v = info["versions"]
    print(f"nmfkit {v.pop('nmfkit')}")
    print(f"python {v.pop('python')} ({info['python_executable']})")
    print(f"platform {info['platform']}")
    width = max(len(name) for name in [*v, *info["optional"]]) + 2
    print("\ndependencies:")
    for name, version in v.items():
        print(f"  {name:<{width}}{version}")
    print("\noptional backends:")
    for name, entry in info["optional"].items():
        print(f"  {name:<{width}}{_describe(entry)}")
    print("\nBLAS / OpenMP thread pools (threadpoolctl):")
    if not info["blas"]:
        print("  none found")
    for pool in info["blas"]:
        version = f" {pool['version']}" if pool["version"] else ""
        layer = f", {pool['threading_layer']}" if pool.get("threading_layer") else ""
        print(f"  {pool['api']}{version}: {pool['threads']} threads{layer} ({pool['library']})")
    return 0
