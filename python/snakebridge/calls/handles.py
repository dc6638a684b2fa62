"""The handle table: objects that stay in the worker, referred to by id.

Each handle belongs to a session (0 when the call had none). A session may
hold ``max_per_session`` live handles; a handle unused for ``ttl`` seconds is
freed by ``sweep()``.

An object already held for a session comes back as the same handle (a
``fit()`` that returns ``self``), and the handle counts how many times it was
sent: each release takes one back, and the object is freed with the last. So
the host may hold the handle twice, release each copy, and leak nothing. Thread-safe: the main thread, the event loop thread and
the reader thread all touch it.

In restricted mode the Dispatcher sets ``admit`` to the Resolver's rule, so
that no module, interpreter internal or callable of a module off the list is
ever kept for a caller, whichever encoder makes the handle.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import HandleError
from ..serializers.base import HandleWire, short_repr, type_name


@dataclass(slots=True)
class _Entry:
    obj: object
    session: int
    last_used: float = field(default_factory=time.monotonic)
    #: Times the handle was sent to the host and not yet released.
    sent: int = 1


class HandleTable:
    def __init__(self, max_per_session: int = 10_000, ttl_seconds: float = 0.0) -> None:
        self.max_per_session = max_per_session
        self.ttl_seconds = ttl_seconds
        self._entries: dict[int, _Entry] = {}
        #: The handle of each object a session holds, by the object's id (stable while it is held here).
        self._by_object: dict[tuple[int, int], int] = {}
        self._per_session: dict[int, int] = {}
        self._next_id = 1
        self._lock = threading.Lock()
        #: Called with each object before it is kept; raises to refuse it (restricted mode's rule, or nothing).
        self.admit: Callable[[object], None] | None = None

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, obj: object, session: int) -> HandleWire:
        """Keeps ``obj`` and returns the handle to send for it; ``admit`` may refuse it first."""
        return HandleWire(self.keep(obj, session), type_name(obj), short_repr(obj))

    def keep(self, obj: object, session: int) -> int:
        """Keeps ``obj`` (one more sending of its handle, if it has one) and returns its handle id."""
        if self.admit is not None:
            self.admit(obj)
        with self._lock:
            known = self._by_object.get((id(obj), session))
            if known is not None:
                entry = self._entries[known]
                entry.sent += 1
                entry.last_used = time.monotonic()
                return known
            count = self._per_session.get(session, 0)
            if count >= self.max_per_session:
                raise HandleError(
                    f"session {session} already holds {count} handles (handles.maxPerSession); "
                    "release handles you no longer need (await using, or release())"
                )
            handle_id = self._next_id
            # Below 2^31: ids with the top bit set are promised handles, which the host names (calls/promises.py).
            self._next_id = self._next_id + 1 if self._next_id < 0x7FFFFFFF else 1
            self._entries[handle_id] = _Entry(obj, session)
            self._by_object[(id(obj), session)] = handle_id
            self._per_session[session] = count + 1
        return handle_id

    def get(self, handle_id: int) -> object:
        """The object behind ``handle_id``, marked as just used (for the TTL).

        Raises ``HandleError`` (code ``HANDLE_INVALID``) if the handle was released or expired.
        """
        entry = self._entries.get(handle_id)
        if entry is None:
            raise HandleError(f"handle {handle_id} was released or has expired; it can no longer be used")
        entry.last_used = time.monotonic()
        return entry.obj

    def release(self, handle_ids: list[int]) -> None:
        """Takes back one sending of each listed handle, freeing it with the last; unknown ids are ignored."""
        with self._lock:
            for handle_id in handle_ids:
                entry = self._entries.get(handle_id)
                if entry is None:
                    continue
                entry.sent -= 1
                if entry.sent <= 0:
                    self._drop(handle_id)

    def release_session(self, session: int) -> None:
        """Frees every handle that belongs to ``session``."""
        with self._lock:
            for handle_id in [i for i, e in self._entries.items() if e.session == session]:
                self._drop(handle_id)

    def sweep(self) -> int:
        """Frees handles unused for longer than the TTL; returns how many."""
        if self.ttl_seconds <= 0:
            return 0
        deadline = time.monotonic() - self.ttl_seconds
        with self._lock:
            expired = [i for i, e in self._entries.items() if e.last_used < deadline]
            for handle_id in expired:
                self._drop(handle_id)
        return len(expired)

    def _drop(self, handle_id: int) -> None:
        entry = self._entries.pop(handle_id, None)
        if entry is not None:
            self._by_object.pop((id(entry.obj), entry.session), None)
            remaining = self._per_session[entry.session] - 1
            if remaining:
                self._per_session[entry.session] = remaining
            else:
                del self._per_session[entry.session]
