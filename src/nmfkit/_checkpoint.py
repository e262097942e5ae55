"""Checkpoints of the one loop (:func:`nmfkit.solvers.run`): a fit's state on disk.

A checkpoint is one ``.npz`` file, written atomically (:func:`nmfkit.io.atomic_write`:
a temporary sibling, fsynced, renamed into place), so a run killed while writing it
(SIGKILL, power loss) leaves the previous checkpoint or none, never a torn one. It holds

- the blocks of the state, every restart (``block:<name>``, host arrays);
- the step's own state (``step:<name>``; the extrapolation's previous point and
  weights: :meth:`nmfkit.solvers.Extrapolated.checkpoint_state`);
- ``meta``: one JSON string with the format version, the fit's key (its parameters and
  a fingerprint of the data: shape, dtype, sum), the iteration reached, the elapsed
  seconds and the loop's per-restart bookkeeping (loss history, iterations, stop
  reasons, which restarts are still running).

Nothing is pickled. The key is compared field by field on resume: a checkpoint
written for other data or other parameters is refused with an
:class:`~nmfkit.exceptions.NMFInputError` naming the fields that differ.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from .backends import get_namespace
from .exceptions import NMFInputError

__all__ = ["FORMAT", "Checkpoints", "fingerprint", "save", "load", "check_path", "remove"]

FORMAT = 1


def check_path(path, every) -> tuple[Path, float]:
    """``checkpoint`` / ``checkpoint_every`` checked: a path whose folder exists, seconds >= 0."""
    p = Path(os.fspath(path))
    if p.is_dir():
        raise NMFInputError(f"checkpoint={str(p)!r} is a folder; pass a file path (e.g. fit.ckpt.npz)")
    if not p.parent.is_dir():
        raise NMFInputError(f"checkpoint={str(p)!r}: its folder {str(p.parent)!r} does not exist; "
                            "create it or pass a path in an existing folder")
    try:
        every = float(every)
    except (TypeError, ValueError):
        every = float("nan")
    if not every >= 0:
        raise NMFInputError(f"checkpoint_every={every!r} must be a number of seconds >= 0 "
                            "(0 writes after every iteration)")
    return p, every


def fingerprint(target) -> dict:
    """Shape, dtype, sparsity and sums (data and element weights) of a data term's target:
    enough to refuse a checkpoint written for other data."""
    b = target.backend
    X = target.X
    if target.sparse:
        total = float(np.asarray(X.data, dtype=np.float64).sum())
    else:
        total = float(b.item(b.sum(X)))
    out = {"shape": [int(s) for s in target.shape], "dtype": str(X.dtype).replace("torch.", ""),
           "sparse": bool(target.sparse), "sum": repr(total)}
    if target.M is not None:
        out["weights_sum"] = repr(float(b.item(b.sum(target.M))))
    return out


def _host(b, a) -> np.ndarray:
    return np.ascontiguousarray(b.to_numpy(a))


def save(path: Path, key: dict, state: dict, backend, *, it: int, elapsed: float,
         record: dict, step_state: dict | None) -> None:
    """Write the checkpoint atomically (replacing the previous one)."""
    from .io import atomic_write

    arrays = {f"block:{k}": _host(backend, v) for k, v in state.items()}
    for k, v in (step_state or {}).items():
        arrays[f"step:{k}"] = _host(backend, v) if not isinstance(v, np.ndarray) else v
    meta = {"format": FORMAT, "key": key, "it": int(it), "elapsed": float(elapsed), "record": record}
    arrays["meta"] = np.array(json.dumps(meta))
    with atomic_write(path, overwrite=True, mode="wb") as f:
        np.savez(f, **arrays)


class Loaded:
    """A checkpoint read back: ``blocks`` and ``step_state`` (NumPy), ``it``, ``elapsed``,
    ``record``."""

    def __init__(self, blocks, step_state, meta):
        self.blocks, self.step_state = blocks, step_state
        self.it, self.elapsed, self.record = meta["it"], meta["elapsed"], meta["record"]


def _differences(saved: Any, now: Any, prefix: str = "") -> list[str]:
    if isinstance(saved, dict) and isinstance(now, dict):
        out = []
        for k in sorted(set(saved) | set(now)):
            out += _differences(saved.get(k), now.get(k), f"{prefix}{k}.")
        return out
    return [] if saved == now else [f"{prefix[:-1]} (checkpoint {saved!r}, now {now!r})"]


def load(path: Path, key: dict) -> Loaded | None:
    """The checkpoint at ``path`` if it exists (None otherwise), after checking its key."""
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {name: z[name] for name in z.files}
        meta = json.loads(str(data.pop("meta")))
    except Exception as exc:  # a file that is not one of ours
        raise NMFInputError(f"checkpoint={str(path)!r} cannot be read as a checkpoint ({exc}); "
                            "delete it or pass another path") from None
    if meta.get("format") != FORMAT:
        raise NMFInputError(f"checkpoint={str(path)!r} has format {meta.get('format')!r}, this "
                            f"version reads {FORMAT}; delete it or pass another path")
    # JSON round trip of the key as written now, so lists/tuples compare alike
    diff = _differences(meta.get("key"), json.loads(json.dumps(key)))
    if diff:
        raise NMFInputError(
            f"checkpoint={str(path)!r} was written by another fit (differs in: {'; '.join(diff)}); "
            "a fit resumes only with the same data and parameters: pass those, or a new "
            "checkpoint path, or delete the file to start afresh")
    blocks = {k[6:]: v for k, v in data.items() if k.startswith("block:")}
    step_state = {k[5:]: v for k, v in data.items() if k.startswith("step:")}
    return Loaded(blocks, step_state, meta)


def remove(path: Path) -> None:
    """Delete the checkpoint of a fit that ended (missing file ignored)."""
    Path(path).unlink(missing_ok=True)


class Checkpoints:
    """The loop's side (:func:`nmfkit.solvers.run`): load once, save every ``every`` seconds."""

    def __init__(self, path, every, key: dict, state: dict, desc: str):
        self.path, self.every = check_path(path, every)
        self.key = key
        if not all(hasattr(v, "shape") for v in state.values()):
            raise NMFInputError(f"checkpoint= is not available for {desc} (its state is "
                                "not arrays); pass checkpoint=None")
        self.last = time.perf_counter()

    def load(self, state):
        got = load(self.path, self.key)
        if got is None:
            return None
        b = get_namespace(*state.values())
        for k, ref in list(state.items()):
            arr = got.blocks.get(k)
            if arr is None or tuple(arr.shape) != tuple(ref.shape):
                raise NMFInputError(f"checkpoint={str(self.path)!r} holds no block {k!r} of shape "
                                    f"{tuple(ref.shape)}; delete it or pass another path")
            state[k] = b.cast_like(b.from_numpy(arr), ref)
        return got

    def maybe_save(self, it, state, rec, step, start, now=False):
        t = time.perf_counter()
        if not now and t - self.last < self.every:
            return
        step_state = step.checkpoint_state() if hasattr(step, "checkpoint_state") else None
        save(self.path, self.key, state, get_namespace(*state.values()), it=it, elapsed=t - start, record=rec.to_dict(), step_state=step_state)
        self.last = time.perf_counter()

    def remove(self):
        remove(self.path)
