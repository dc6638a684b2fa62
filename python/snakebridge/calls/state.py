"""What the executor knows about a call while it is in flight, and where its outcomes go."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .callbacks import HostCallback


@dataclass(slots=True)
class CallState:
    """A call between its start and its final outcome.

    The thread that reads the transport creates it and may cancel it or grant
    it credit at any moment; whichever thread runs the call installs the hooks
    that make those take effect there.
    """

    id: int
    session: int = 0
    cancelled: bool = False
    #: Stops the call where it runs (cancels a task, closes a stream, interrupts a thread).
    on_cancel: Callable[[], object] | None = None
    #: Lets a paused stream produce more items.
    on_credit: Callable[[int], object] | None = None
    #: The pool thread slot of a call whose user code runs on the thread pool (``execution._PoolCall``).
    pool_call: Any = None
    #: The call's meta, set as ``running.RUNNING`` wherever its user code runs later (another thread, a task).
    meta: Any = None
    #: The promise its outcome settles, when the host named its result before it ran (``promises.Promise``).
    promise: Any = None


class Outcomes(Protocol):
    """Where the executor sends how calls end, each encoded for the host by the transport.

    Every call gets exactly one final outcome: ``result``, ``error`` (or
    ``error_payload``, an error described already) or ``cancelled``; a stream gets ``item``s first and ends with ``end`` (which
    also acknowledges a cancel) or ``error``. Called from the thread that ran
    the call; ``flush=False`` lets a transport batch what one burst produces
    (the executor flushes when it goes idle). Only ``item`` raises: a value
    that cannot be encoded ends its stream with an error.
    """

    #: Whether the transport's serializer encodes per callable (protobuf): then ``targets`` is kept.
    wants_target: bool
    #: The dotted name each call in flight called, when ``wants_target``.
    targets: dict[int, str]

    def result(self, call_id: int, value: Any, session: int, *, flush: bool = True) -> None: ...
    def item(self, call_id: int, value: Any, session: int, *, flush: bool = True) -> None: ...
    def end(self, call_id: int, *, flush: bool = True) -> None: ...
    def error(self, call_id: int, exc: BaseException, *, flush: bool = True) -> None: ...
    def error_payload(self, call_id: int, payload: dict[str, Any], *, flush: bool = True) -> None: ...
    def cancelled(self, call_id: int, *, flush: bool = True) -> None: ...


class Callbacks(Protocol):
    """The host functions in calls' arguments, as a transport carries them (calls/callbacks.py)."""

    #: Holds back a cancel's interrupt while a request is written; the executor sets it.
    uninterruptible: Callable[[], AbstractContextManager[object]]

    def callback(self, call_id: int, session: int, index: int) -> HostCallback:
        """The callable standing for function ``index`` in the arguments of call ``call_id``."""
        ...
