"""A clock that runs with real time but can be moved forward: the web page's "sandbox clock".

`ManualClock` (in `state`) stands still until a test moves it, which suits tests. A person
clicking through the web page needs time to pass on its own (message timestamps, trigger expiry)
and still be able to jump ahead, e.g. a day, to see what a bot does when an approval is late.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class OffsetClock:
    """Real time plus an offset that only grows; `start` pins what "now" reads at construction."""

    def __init__(self, start: float | None = None, *, source: Callable[[], float] = time.time):
        self._source = source
        self._lock = threading.Lock()
        self._offset = 0.0 if start is None else float(start) - source()
        self._advanced = 0.0

    def __call__(self) -> float:
        return self._source() + self._offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        with self._lock:
            self._offset += seconds
            self._advanced += seconds

    @property
    def advanced(self) -> float:
        """Seconds added by `advance` so far (not counting the `start` shift)."""
        return self._advanced


def describe_offset(seconds: float) -> str:
    """`+1d 2h`, `+30m`, or an empty string for no offset: how far the page's clock was moved."""
    minutes = int(seconds // 60)
    if minutes <= 0:
        return ""
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "", f"{mins}m" if mins else ""]
    return "+" + " ".join(p for p in parts if p)
