"""The fixture module of the pipelining contract suite (``@snakebridge/core/testing``).

Calls on results that have not come back are sent at once and run after
the call that makes them (docs/architecture.md, "Pipelining"). These
functions let the suite see that from Python's side: a ``Tally`` records
the calls made on it in the order they ran, and ``held`` makes one that
exists only once the host opens its gate, so that the calls sent behind it
are certainly held back in the worker meanwhile.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

_lock = threading.Lock()
#: Gates not opened yet, by tag: the loop of the coroutine waiting at each and its event.
_gates: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Event]] = {}
_opened: set[str] = set()


class Tally:
    """Adds up numbers, remembering them in the order the calls that added them ran."""

    def __init__(self, start: int = 0) -> None:
        self.added: list[int] = []
        self.start = start

    def add(self, number: int) -> Tally:
        """Returns itself, as scikit-learn's ``fit`` does: a chain of calls on one object."""
        self.added.append(number)
        return self

    def plus(self, number: int) -> Tally:
        """A new Tally: each call of a chain makes the object the next one is called on."""
        tally = Tally(self.start)
        tally.added = [*self.added, number]
        return tally

    def total(self) -> int:
        return self.start + sum(self.added)

    def order(self) -> list[int]:
        return list(self.added)

    def fail(self, message: str) -> Tally:
        raise ValueError(message)


def tally(start: int = 0) -> Tally:
    return Tally(start)


def total_of(*tallies: Tally) -> int:
    """The totals of tallies passed as arguments, added up."""
    return sum(t.total() for t in tallies)


def number(value: int) -> int:
    """A plain value: the host receives it by value, yet calls sent before it arrived may use it in Python."""
    return value


async def held(tag: str, start: int = 0) -> Tally:
    """A Tally made once ``open_gate(tag)`` was called (from any thread, before or after)."""
    loop = asyncio.get_running_loop()
    event = asyncio.Event()
    with _lock:
        opened = tag in _opened
        if not opened:
            _gates[tag] = (loop, event)
    if not opened:
        await event.wait()
    return Tally(start)


async def held_failure(tag: str, message: str) -> Tally:
    """Raises ValueError(message) once ``open_gate(tag)`` was called."""
    await held(tag)
    raise ValueError(message)


def open_gate(tag: str) -> None:
    with _lock:
        _opened.add(tag)
        gate = _gates.pop(tag, None)
    if gate is not None:
        loop, event = gate
        loop.call_soon_threadsafe(event.set)


def echo(value: Any) -> Any:
    return value
