"""Progress events of a run (`{"event": "module"…}`, `{"event": "member"…}`): member events at most every 100 ms."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .budget import Clock

#: Receives each event as a dict; the CLI writes them to stderr as JSON lines.
ProgressCallback = Callable[[dict[str, Any]], None]
_INTERVAL = 0.1  # seconds


class Progress:
    """Reports one module's progress to a callback (or to nothing)."""

    def __init__(self, callback: ProgressCallback | None, clock: Clock, module: str) -> None:
        self.callback = callback
        self.clock = clock
        self.module = module
        self._last: float | None = None

    def start(self, total: int) -> None:
        if self.callback is not None:
            self.callback({"event": "module", "module": self.module, "total": total})

    def member(self, done: int, total: int) -> None:
        if self.callback is None:
            return
        now = self.clock()
        if self._last is None or now - self._last >= _INTERVAL:
            self._last = now
            self.callback({"event": "member", "module": self.module, "done": done, "total": total})
