"""What the worker knows about a call while it is in flight."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class CallState:
    """A call between its CALL frame and its final frame.

    The reader thread creates it and may cancel it or grant it credit at any
    moment; whichever thread runs the call installs the hooks that make those
    take effect there.
    """

    id: int
    session: int = 0
    cancelled: bool = False
    #: Stops the call where it runs (cancels a task, closes a stream, interrupts a thread).
    on_cancel: Callable[[], object] | None = None
    #: Lets a paused stream produce more items.
    on_credit: Callable[[int], object] | None = None
