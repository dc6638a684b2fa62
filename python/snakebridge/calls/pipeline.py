"""Pipelined calls: held back until the promised handles they name are settled
(docs/protocol.md, "Pipelining").

A pipelined call may make a promise (the host named its result before it
existed) and may name promises: as the object it is called on, or in its
arguments. The rules, all on the executor's thread:

- A call is *placed* when every promise it names has been declared (the
  call that makes it was placed). The call's own promise is declared then.
  Over an ordered channel (stdio) a call that names a promise nobody
  declared fails at once (``HANDLE_INVALID``): the host sends the call
  that makes a promise before any call that names it. Over gRPC, where
  separate RPCs may arrive out of order, it waits up to
  ``declare_wait_seconds`` for the declaration, then fails the same way.
- The pipelined calls of one host (its scope) start in the order they were
  placed: a placed call starts once every promise it names has settled and
  every pipelined call placed before it has started. (The host sends them in
  the order they were made, so that is the order of its program.) A call
  only ever waits for calls placed before it, so this cannot deadlock.
  Calls that are not pipelined do not wait for them.
- A call that names a failed promise fails without running, at once, with
  ``PIPELINE_BROKEN`` and the first error of the chain as its cause; the
  promise it makes fails with that error too.
- Once started, a call runs as any call does: sync calls one after another
  on the main thread, or on the pool's threads, coroutines on the event
  loop. So with ``threads`` > 0, or for async functions, calls started in
  order may overlap, as calls on a handle do.

Held and waiting calls are bounded (``max_waiting``); a call past the bound
fails at once. Each is registered with the executor, so that a cancel finds
it and it counts as in flight.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..protocol import CallMeta
from .payloads import bridge_error, describe
from .promises import FAILED, RESOLVED, Promise, PromiseTable, root_failure
from .state import CallState

#: Calls held back or waiting for a declaration, at most, per process.
MAX_WAITING = 10_000
#: How long a call over an unordered transport waits for the call that declares a promise it names.
DECLARE_WAIT_SECONDS = 10.0


@dataclass(slots=True, eq=False)
class PipelinedCall:
    """A pipelined call between its arrival and its start (or its failure)."""

    id: int
    meta: CallMeta
    stream: int
    wire_id: int
    payload: Any
    #: The promises it names, by id: its receiver's and its arguments'.
    names: dict[int, Promise] = field(default_factory=dict)
    #: Ids it names that no placed call has declared (yet).
    missing: list[int] = field(default_factory=list)
    #: The promise it makes, once it is placed.
    makes: Promise | None = None
    #: Its registration while it waits, so that a cancel finds it.
    state: CallState | None = None
    #: When waiting for a declaration gives up (unordered transports).
    deadline: float = 0.0


def broken(failure: dict[str, Any]) -> dict[str, Any]:
    """The error of a call that was not run because a promise it names failed: the first error is its cause."""
    root = root_failure(failure)
    what = f"{root.get('type', 'Error')}: {root.get('message', '')}"
    payload = bridge_error(
        "PIPELINE_BROKEN",
        f"not run: it uses the result of a call that failed ({what}); that error is this one's cause",
    )
    payload["cause"] = root
    return payload


def never_declared(promise_id: int) -> dict[str, Any]:
    return bridge_error(
        "HANDLE_INVALID",
        f"promised handle {promise_id:#x} was never made here, or was released: send the call that makes "
        "it first, on the same worker, and use it before releasing it",
    )


def too_many_waiting(limit: int) -> dict[str, Any]:
    return bridge_error(
        "PROTOCOL",
        f"more than {limit} calls are waiting for results that have not arrived; await some before sending more",
    )


class Pipeline:
    """The pipelined calls of one executor that wait, and the order they start in.

    The executor supplies what to do with a call: ``run`` it (all it names
    is settled, its turn has come), ``fail`` it with an error payload,
    ``admit`` it again (a promise it waited for was declared), or end it as
    ``cancelled``. Only the executor's thread calls its methods, except
    ``hold_cancelled`` (a cancel's hook, from any thread); promises settle on
    any thread and wake the executor's thread through ``wake``.
    """

    def __init__(
        self,
        promises: PromiseTable,
        *,
        ordered: bool,
        wake: Callable[[], None],
        max_waiting: int = MAX_WAITING,
        declare_wait_seconds: float = DECLARE_WAIT_SECONDS,
    ) -> None:
        self.promises = promises
        self.ordered = ordered
        self._wake = wake
        self.max_waiting = max_waiting
        self.declare_wait_seconds = declare_wait_seconds
        #: Placed calls that have not started, in the order they were placed, by scope.
        self.held: dict[str, deque[PipelinedCall]] = {}
        self._held_count = 0
        #: Calls waiting for a promise to be declared (unordered transports), in arrival order.
        self.unplaced: dict[int, PipelinedCall] = {}
        self._cancels: deque[int] = deque()
        promises.on_settled = self._on_settled
        self.run: Callable[[PipelinedCall], None] = _unset
        self.fail: Callable[[PipelinedCall, dict[str, Any]], None] = _unset
        self.admit: Callable[[PipelinedCall], None] = _unset
        self.cancelled: Callable[[PipelinedCall], None] = _unset

    @property
    def waiting(self) -> int:
        """Calls that wait: held back, or waiting for a declaration."""
        return self._held_count + len(self.unplaced)

    # --- from any thread ----------------------------------------------------------------------

    def _on_settled(self, _promise: Promise) -> None:
        self._wake()

    def hold_cancelled(self, call_id: int) -> None:
        """A waiting call was cancelled: the executor's thread ends it at its next turn."""
        self._cancels.append(call_id)
        self._wake()

    # --- the executor's thread -----------------------------------------------------------------

    def place(self, call: PipelinedCall) -> bool:
        """Places a call whose names were read (``names``, ``missing``); True if it may run now (then the
        executor runs it, and calls ``placed``).

        Otherwise it is held back, waits for a declaration, or has failed
        (``fail`` was called).
        """
        if self._place(call):
            return True
        self.placed(call)
        return False

    def placed(self, call: PipelinedCall) -> None:
        """The call was placed (run, held back or failed): calls that waited for the promise it makes are read
        again now, and so come after it."""
        if call.makes is not None and self.unplaced:
            self._readmit_unplaced(call.meta.scope)

    def _place(self, call: PipelinedCall) -> bool:
        if call.missing:
            self._wait_for_declaration(call)
            return False
        if call.meta.promise:
            try:
                call.makes = self.promises.declare(call.meta.scope, call.meta.promise, call.meta.session)
            except Exception as exc:
                self.fail(call, describe(exc))
                return False
        failed = next((p for p in call.names.values() if p.state == FAILED), None)
        if failed is not None:
            self.fail(call, broken(failed.failure or {}))
            return False
        queue = self.held.get(call.meta.scope)
        if not queue and all(p.state == RESOLVED for p in call.names.values()):
            return True
        if self.waiting >= self.max_waiting:
            self.fail(call, too_many_waiting(self.max_waiting))
            return False
        for promise in call.names.values():
            self.promises.watch(promise)
        if queue is None:
            queue = self.held[call.meta.scope] = deque()
        queue.append(call)
        self._held_count += 1
        # A promise may have settled before it was watched: look again.
        self.drain()
        return False

    def declare(self, call: PipelinedCall) -> None:
        """Declares the promise ``call`` makes (HandleError if it cannot be); calls that waited for a
        declaration in its scope are read again."""
        call.makes = self.promises.declare(call.meta.scope, call.meta.promise, call.meta.session)
        if self.unplaced:
            self._readmit_unplaced(call.meta.scope)

    def drain(self) -> None:
        """Starts the held calls whose turn has come, in order; fails those that name a failed promise;
        ends cancelled waiting calls."""
        self._end_cancelled()
        for scope in list(self.held):
            self._drain_scope(scope)
        if self.unplaced:
            self._expire_declarations()

    def _drain_scope(self, scope: str) -> None:
        # Failing or running a call can place others (a declaration readmits calls), which drains again:
        # every step takes its call off the queue first, so each call is run or failed once.
        queue = self.held.get(scope)
        while queue:
            # A call naming a failed promise fails at once, wherever it waits: it can never run.
            for call in [c for c in queue if any(p.state == FAILED for p in c.names.values())]:
                if self._unhold(queue, call):
                    failed = next(p for p in call.names.values() if p.state == FAILED)
                    self.fail(call, broken(failed.failure or {}))
            if not queue or not all(p.state == RESOLVED for p in queue[0].names.values()):
                break
            call = queue.popleft()
            self._held_count -= 1
            self.run(call)  # may settle promises of the calls behind it (a sync call on this thread)
        if not queue and self.held.get(scope) is queue:
            del self.held[scope]

    def _unhold(self, queue: deque[PipelinedCall], call: PipelinedCall) -> bool:
        """Takes a call off its queue; False if it was not there (any more)."""
        try:
            queue.remove(call)
        except ValueError:
            return False
        self._held_count -= 1
        return True

    def _end_cancelled(self) -> None:
        while self._cancels:
            call_id = self._cancels.popleft()
            call = self.unplaced.pop(call_id, None)
            if call is None:
                queue = next((q for q in self.held.values() if any(c.id == call_id for c in q)), None)
                if queue is None:
                    continue  # it started, or ended, meanwhile: the cancel reaches it there
                call = next(c for c in queue if c.id == call_id)
                if not self._unhold(queue, call):
                    continue
            self.cancelled(call)

    # --- unordered transports: waiting for a declaration -----------------------------------------

    def _wait_for_declaration(self, call: PipelinedCall) -> None:
        if self.ordered:
            self.fail(call, never_declared(call.missing[0]))
            return
        if call.deadline and call.deadline <= time.monotonic():
            self.fail(call, never_declared(call.missing[0]))
            return
        if self.waiting >= self.max_waiting:
            self.fail(call, too_many_waiting(self.max_waiting))
            return
        self.unplaced[call.id] = call
        if not call.deadline:  # its first wait: a wake-up at its deadline, when it gives up
            call.deadline = time.monotonic() + self.declare_wait_seconds
            timer = threading.Timer(self.declare_wait_seconds, self._wake)
            timer.daemon = True
            timer.start()

    def _readmit_unplaced(self, scope: str) -> None:
        """A promise of ``scope`` was declared: the calls waiting for one of that scope are read again."""
        for call in [c for c in self.unplaced.values() if c.meta.scope == scope]:
            if self.unplaced.pop(call.id, None) is not None:
                self.admit(call)

    def _expire_declarations(self) -> None:
        now = time.monotonic()
        for call in [c for c in self.unplaced.values() if c.deadline <= now]:
            del self.unplaced[call.id]
            self.fail(call, never_declared(call.missing[0]))


def _unset(*_args: object) -> None:
    raise RuntimeError("the executor did not set up its pipeline")
