"""The time a module's introspection may take (wall clock, the import included), on an injectable clock."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

#: Seconds from some fixed point, like ``time.monotonic`` (tests pass a fake one).
Clock = Callable[[], float]
DEFAULT_BUDGET_MS = 15000


class Budget:
    """Tells the walk when to stop typing members, and remembers the ones it did not reach."""

    def __init__(self, limit_ms: int = DEFAULT_BUDGET_MS, clock: Clock = time.monotonic) -> None:
        self.limit_ms = limit_ms
        self.clock = clock
        self.started = clock()
        self.skipped: list[str] = []
        self._exceeded = False

    def elapsed_ms(self) -> int:
        return round((self.clock() - self.started) * 1000)

    def exceeded(self) -> bool:
        """Whether the limit has passed (once it has, it stays passed)."""
        if not self._exceeded and self.elapsed_ms() > self.limit_ms:
            self._exceeded = True
        return self._exceeded

    def skip(self, name: str) -> None:
        self.skipped.append(name)

    def report(self) -> dict[str, Any]:
        """The Module's ``budget`` object."""
        return {
            "limit_ms": self.limit_ms,
            "elapsed_ms": self.elapsed_ms(),
            "exceeded": self._exceeded,
            "skipped": sorted(self.skipped),
        }
