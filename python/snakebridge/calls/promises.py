"""Promised handles: results the host named before they existed (docs/protocol.md, "Pipelining").

The host gives a call a promised id (the top bit set, so that it never
meets a handle id the worker chose) and sends calls that use the result
at once, naming that id where a handle would go. Each promise records the
outcome of the call that makes it: the Python value, whatever it is (an
object, or a number the host receives by value), or the error that ended
the call. ``calls/pipeline.py`` holds calls back until the promises they
name are settled.

Promises are keyed by the host's pipeline scope and id: a gRPC server
serves several hosts, each numbering its own promises; a stdio worker has
one host and the empty scope. An entry lives until the host releases it,
its session is released, or it has gone unused for the handle TTL. Each
session may hold ``max_per_session`` promises, as it may hold that many
handles. Thread-safe: calls settle their promises on the thread that ran
them.

A call on a promise (the promise is its receiver) runs as a call on a
handle does: the first such call keeps the value in the handle table, and
the promise holds that handle until it is released itself.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

from ..errors import Cancelled, HandleError
from ..protocol import PROMISED
from .payloads import bridge_error, describe

PENDING = 0
RESOLVED = 1
FAILED = 2

#: What a promise's failure says when its call was cancelled.
CANCELLED_PAYLOAD_MESSAGE = "the call was cancelled"


class Promise:
    """The outcome of one call, named by the host before the call ran.

    The state changes once, from ``PENDING``, on whichever thread ran the
    call, under the table's lock; if a held call ``watched`` it, the table
    tells the executor then.
    """

    __slots__ = (
        "_table",
        "failure",
        "handle",
        "id",
        "last_used",
        "released",
        "scope",
        "session",
        "state",
        "value",
        "watched",
    )

    def __init__(self, table: PromiseTable, promise_id: int, scope: str, session: int) -> None:
        self._table = table
        self.id = promise_id
        self.scope = scope
        self.session = session
        self.state = PENDING
        self.value: Any = None
        #: The error payload of the call that should have made it (the first failure, when calls failed in a chain).
        self.failure: dict[str, Any] | None = None
        #: A held call waits for it to settle.
        self.watched = False
        self.last_used = time.monotonic()
        #: The handle its value is kept under for calls on it, once one ran (0: none yet).
        self.handle = 0
        #: The host released it: it is no longer in the table.
        self.released = False

    def resolve(self, value: Any) -> None:
        """The call returned ``value``; from any thread. A promise settles once: later outcomes are ignored."""
        self._table.settle(self, RESOLVED, value, None)

    def fail(self, exc: BaseException) -> None:
        """The call raised ``exc`` (or was cancelled); from any thread."""
        if isinstance(exc, (Cancelled, asyncio.CancelledError)):
            payload = bridge_error("CANCELLED", CANCELLED_PAYLOAD_MESSAGE)
        else:
            payload = describe(exc)
        self.fail_with(payload)

    def fail_with(self, payload: dict[str, Any]) -> None:
        """The call failed as ``payload`` describes; from any thread."""
        self._table.settle(self, FAILED, None, root_failure(payload))

    def __repr__(self) -> str:
        return f"<promise {self.id:#x} {('pending', 'resolved', 'failed')[self.state]}>"


def root_failure(payload: dict[str, Any]) -> dict[str, Any]:
    """The error that started a chain of failures: a call failed because a promise it used had failed
    (``PIPELINE_BROKEN``) carries that first error as its cause."""
    if payload.get("code") == "PIPELINE_BROKEN" and isinstance(payload.get("cause"), dict):
        return payload["cause"]
    return payload


class PromiseTable:
    """The promises of one process, by the host's scope and id."""

    def __init__(self, max_per_session: int = 10_000, ttl_seconds: float = 0.0) -> None:
        self.max_per_session = max_per_session
        self.ttl_seconds = ttl_seconds
        self._entries: dict[tuple[str, int], Promise] = {}
        self._per_session: dict[int, int] = {}
        self.lock = threading.Lock()
        #: Called (outside the lock) with each promise that settles while calls wait on it.
        self.on_settled: Callable[[Promise], None] = _nothing

    def __len__(self) -> int:
        return len(self._entries)

    def declare(self, scope: str, promise_id: int, session: int) -> Promise:
        """A call that makes ``promise_id`` was placed: its promise exists from now on, pending.

        Raises HandleError when the id does not name a promise, is already in
        use, or the session holds as many promises as it may.
        """
        if not promise_id & PROMISED:
            raise HandleError(f"{promise_id} is not a promised handle id: those have the top bit (2^31) set")
        key = (scope, promise_id)
        with self.lock:
            if key in self._entries:
                raise HandleError(f"promised handle {promise_id:#x} is already in use; promise each id once")
            count = self._per_session.get(session, 0)
            if count >= self.max_per_session:
                raise HandleError(
                    f"session {session} already holds {count} promised handles (handles.maxPerSession); "
                    "await or release results you no longer need"
                )
            promise = self._entries[key] = Promise(self, promise_id, scope, session)
            self._per_session[session] = count + 1
        return promise

    def get(self, scope: str, promise_id: int) -> Promise | None:
        """The promise under ``promise_id``, marked as just used; None if it was never declared or was released."""
        promise = self._entries.get((scope, promise_id))
        if promise is not None:
            promise.last_used = time.monotonic()
        return promise

    def settle(self, promise: Promise, state: int, value: Any, failure: dict[str, Any] | None) -> None:
        with self.lock:
            if promise.state != PENDING:
                return
            promise.value = value
            promise.failure = failure
            promise.state = state
            watched = promise.watched
        if watched:
            self.on_settled(promise)

    def watch(self, promise: Promise) -> None:
        """A held call waits for ``promise``: under the lock, so that a settle either sees that or was seen."""
        with self.lock:
            promise.watched = True

    def receiver_handle(self, promise: Promise, add: Callable[[object, int], int]) -> int:
        """The handle a call on ``promise`` is made through: its value, kept with ``add(value, session)`` the
        first time. Raises HandleError once the promise was released (the handle would never be freed)."""
        with self.lock:
            if promise.released:
                raise HandleError(f"promised handle {promise.id:#x} was released; it can no longer be used")
            if not promise.handle:
                promise.handle = add(promise.value, promise.session)
            return promise.handle

    def release(self, scope: str, promise_ids: list[int]) -> list[int]:
        """Forgets promises; calls already holding one still get its value. Unknown ids are ignored.

        Returns the handles the promises held, for the caller to release.
        """
        with self.lock:
            return [handle for promise_id in promise_ids if (handle := self._drop((scope, promise_id)))]

    def release_session(self, session: int) -> None:
        """Forgets every promise made in ``session`` (whose handles go with the session)."""
        with self.lock:
            for key in [key for key, promise in self._entries.items() if promise.session == session]:
                self._drop(key)

    def sweep(self) -> list[int]:
        """Forgets settled promises unused for longer than the TTL; returns the handles they held."""
        if self.ttl_seconds <= 0:
            return []
        deadline = time.monotonic() - self.ttl_seconds
        with self.lock:
            expired = [k for k, p in self._entries.items() if p.state != PENDING and p.last_used < deadline]
            return [handle for key in expired if (handle := self._drop(key))]

    def _drop(self, key: tuple[str, int]) -> int:
        """Forgets the promise under ``key``; returns the handle it held (0 for none)."""
        promise = self._entries.pop(key, None)
        if promise is None:
            return 0
        promise.released = True
        remaining = self._per_session[promise.session] - 1
        if remaining:
            self._per_session[promise.session] = remaining
        else:
            del self._per_session[promise.session]
        return promise.handle


def _nothing(_promise: Promise) -> None:
    """No executor listens: nothing waits."""
