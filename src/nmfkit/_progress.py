"""Progress of long runs a user can follow, on a terminal or in a log file.

On a terminal (``stream.isatty()``) a tqdm bar; otherwise (a log file, a pipe, a batch job) a
plain line at most every ``interval`` seconds, and one at the end when any was printed, so a
short run prints nothing and a long one leaves a readable trace::

    rank_search: 7/18 steps (k=4: restarts, 10 fits) after 12 s, about 19 s left
"""

from __future__ import annotations

import sys
import time
from typing import Optional, TextIO

__all__ = ["Progress", "INTERVAL"]

#: Default least seconds between two plain lines.
INTERVAL = 5.0


class Progress:
    """Count ``total`` steps; report them (see the module docstring).

    Parameters
    ----------
    total : int
        Steps of the whole run.
    desc : str
        What runs (the line's prefix).
    enabled : bool
        False reports nothing.
    interval : float, optional
        Least seconds between two plain lines (default :data:`INTERVAL`).
    stream : file, optional
        Where to write; ``sys.stderr`` (looked up when writing) by default.

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> with Progress(2, "demo", True, interval=0.0, stream=out) as p:
    ...     p.advance(note="k=2")
    ...     p.advance(note="k=3")
    >>> out.getvalue().splitlines()[0].startswith("demo: 1/2 steps (k=2)")
    True
    """

    def __init__(self, total: int, desc: str, enabled: bool, *, interval: Optional[float] = None,
                 stream: Optional[TextIO] = None):
        self.total, self.desc, self.enabled = int(total), desc, bool(enabled)
        self.interval = INTERVAL if interval is None else interval
        self._stream = stream
        self.done = 0
        self.start = self._last = time.perf_counter()
        self._printed = False
        self._bar = None
        if self.enabled and self._tty():
            from tqdm.auto import tqdm

            self._bar = tqdm(total=self.total, desc=desc, leave=False, file=self.stream)

    @property
    def stream(self) -> TextIO:
        return self._stream if self._stream is not None else sys.stderr

    def _tty(self) -> bool:
        try:
            return bool(self.stream.isatty())
        except (AttributeError, ValueError):
            return False

    def advance(self, n: int = 1, note: str = "") -> None:
        """``n`` more steps done; ``note`` says which (e.g. ``"k=4: restarts"``)."""
        self.done += n
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(n)
            if note:
                self._bar.set_postfix_str(note, refresh=False)
            return
        now = time.perf_counter()
        if now - self._last >= self.interval:
            self._line(note, now)

    def _line(self, note: str, now: float) -> None:
        elapsed = now - self.start
        left = ""
        if 0 < self.done < self.total:
            left = f", about {elapsed / self.done * (self.total - self.done):.0f} s left"
        what = f" ({note})" if note else ""
        print(f"{self.desc}: {self.done}/{self.total} steps{what} after {elapsed:.0f} s{left}",
              file=self.stream, flush=True)
        self._last, self._printed = now, True

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif self.enabled and self._printed and self._last != self.start:
            self._line("done", time.perf_counter())

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
