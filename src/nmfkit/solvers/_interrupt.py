"""Ctrl-C in the one loop (:func:`nmfkit.solvers.run`).

The first SIGINT during a loop stops it at the end of the iteration (a consistent
iterate, ``stop_reason="interrupted"``); a second one raises KeyboardInterrupt at once.
Drivers of many fits wrap them in :func:`raise_interrupts` so that the interrupted
loop raises instead of returning, and keep the fits they finished.
"""

from __future__ import annotations

import contextlib
import signal
import threading

__all__ = ["raise_interrupts", "raising_interrupts", "sigint_deferred"]

_RAISE = [0]


@contextlib.contextmanager
def raise_interrupts():
    """Inside this block a loop stopped by Ctrl-C raises KeyboardInterrupt (after writing
    its checkpoint) instead of returning its last iterate, so that a driver of many fits
    (``rank_search``, signature extraction) stops at once and keeps the work it finished
    (it catches the KeyboardInterrupt)."""
    _RAISE[0] += 1
    try:
        yield
    finally:
        _RAISE[0] -= 1


class _Flag:
    hit = False


@contextlib.contextmanager
def sigint_deferred():
    """The first Ctrl-C (SIGINT) sets a flag that stops the loop at the end of the
    iteration (a consistent iterate, and an exact checkpoint); a second one raises
    KeyboardInterrupt at once. Only in the main thread and where Python's own SIGINT
    handler is installed (an application's handler is left alone)."""
    flag = _Flag()
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield flag
        return

    def handler(signum, frame):
        if flag.hit:
            raise KeyboardInterrupt
        flag.hit = True

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


def raising_interrupts() -> bool:
    """Whether a :func:`raise_interrupts` block is active."""
    return _RAISE[0] > 0
