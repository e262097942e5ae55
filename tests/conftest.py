"""Test configuration: tests marked ``gpu`` skip unless torch sees a CUDA device."""

from __future__ import annotations

import pytest


def _has_cuda() -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is in the test extra
        return False
    return bool(torch.cuda.is_available())


def pytest_collection_modifyitems(config, items):
    if _has_cuda():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


_COSMIC_WHEEL = "sigprofilerassignment==1.1.5"
_COSMIC_MEMBER = "SigProfilerAssignment/data/Reference_Signatures/GRCh37/COSMIC_v3.4_SBS_GRCh37.txt"


def _fetch_cosmic(cache):
    """COSMIC v3.4 SBS GRCh37 from the SigProfilerAssignment wheel on PyPI (not bundled:
    COSMIC's terms apply), extracted once into ``cache``; None when it cannot be had."""
    import subprocess
    import sys
    import zipfile

    target = cache / "COSMIC_v3.4_SBS_GRCh37.txt"
    if target.is_file():
        return target
    wheels = cache / "wheels"
    proc = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d",
                           str(wheels), _COSMIC_WHEEL], capture_output=True, text=True, timeout=300)
    found = sorted(wheels.glob("*.whl")) if proc.returncode == 0 else []
    if not found:
        return None
    with zipfile.ZipFile(found[0]) as z:
        target.write_bytes(z.read(_COSMIC_MEMBER))
    return target


@pytest.fixture(scope="session")
def cosmic(tmp_path_factory):
    """The COSMIC v3.4 SBS GRCh37 signatures (signatures × 96).

    From an installed SigProfilerAssignment, ``$NMFKIT_COSMIC``, or fetched from PyPI.
    Under CI (``$CI`` set) a missing reference fails the test instead of skipping it.
    """
    import os

    from nmfkit.signatures import cosmic_path, load_cosmic

    if cosmic_path() is not None:  # an installed SigProfilerAssignment carries the file
        return load_cosmic()
    if os.environ.get("NMFKIT_COSMIC"):
        return load_cosmic(os.environ["NMFKIT_COSMIC"])
    try:
        path = _fetch_cosmic(tmp_path_factory.getbasetemp().parent / "nmfkit-cosmic")
    except Exception as err:  # noqa: BLE001 - any failure to fetch means: unavailable
        path, why = None, err
    else:
        why = "pip download failed (no network?)"
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"COSMIC reference unavailable in CI: {why}")
        pytest.skip(f"COSMIC reference unavailable: {why}")
    return load_cosmic(path)
