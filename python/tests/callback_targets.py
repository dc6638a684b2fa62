"""Functions that call host functions back, for test_worker_callbacks.py and test_server_callbacks.py.

The worker and the server import this module by name (worker_client.py and
server_client.py put the tests' directory on their path); the tests play the
host that runs the callbacks.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from snakebridge import HostCallback, HostCallbackError

#: What the functions below observed, by key: lets a later call report it.
_seen: dict[str, Any] = {}
#: Set when the final record under a key is made (``_done``), for ``wait_seen``.
_recorded: dict[str, threading.Event] = {}
_recorded_lock = threading.Lock()


def _event(key: str) -> threading.Event:
    with _recorded_lock:
        return _recorded.setdefault(key, threading.Event())


def _done(key: str, value: Any) -> None:
    _seen[key] = value
    _event(key).set()


class Opaque:
    """An object no serializer carries by value: it travels as a handle."""

    def __repr__(self) -> str:
        return "<Opaque>"


def apply_plus_one(callback: Callable[[Any], Any], value: Any) -> Any:
    """Uses the callback's result, to show it came back."""
    return callback(value) + 1


def call_many(callback: Callable[[int], Any], count: int) -> list[Any]:
    return [callback(i) for i in range(count)]


def compose(first: Callable[[Any], Any], second: Callable[[Any], Any], value: Any) -> Any:
    return second(first(value))


def call_nested(options: dict[str, Any]) -> Any:
    """Callbacks inside a structure: ``{"on_item": f, "items": [...], "on_done": g}``."""
    for item in options["items"]:
        options["on_item"](item)
    return options["on_done"](len(options["items"]))


def describe_failure(callback: Callable[[str], Any]) -> dict[str, Any]:
    try:
        callback("x")
    except HostCallbackError as exc:
        return {"type": type(exc).__name__, "message": str(exc), "name": exc.js_name, "stack": exc.js_stack}
    return {"type": "none"}


def call_in_thread(callback: Callable[[Any], Any], value: Any) -> Any:
    """Calls back from a thread of its own: a callback may be called from any thread."""
    results: list[Any] = []
    thread = threading.Thread(target=lambda: results.append(callback(value)))
    thread.start()
    thread.join()
    return results[0]


def call_uncaught(callback: Callable[[], Any]) -> Any:
    return callback()


def call_with_keywords(callback: Callable[..., Any]) -> Any:
    return callback(value=1)


async def apply_async(callback: HostCallback, value: Any) -> Any:
    return await callback.acall(value)


def wait_for_callback(key: str, callback: Callable[[], Any]) -> Any:
    """Records whether its wait was interrupted (its finally block ran) under ``key``."""
    _seen[key] = "waiting"
    try:
        return callback()
    finally:
        _done(key, "left")


async def wait_for_callback_async(key: str, callback: HostCallback) -> Any:
    """Records under ``key`` whether its ``acall`` was cancelled."""
    _seen[key] = "waiting"
    try:
        return await callback.acall()
    except asyncio.CancelledError:
        _done(key, "cancelled")
        raise
    finally:
        if _seen[key] == "waiting":
            _done(key, "left")


def seen(key: str) -> Any:
    return _seen.get(key)


async def wait_seen(key: str, timeout: float = 10.0) -> Any:
    """What was recorded under ``key``, once its final record is made (None if none within ``timeout``)."""
    if not await asyncio.to_thread(_event(key).wait, timeout):
        return None
    return _seen.get(key)


def leave_a_callback_waiting(key: str, callback: Callable[[str], Any]) -> None:
    """Returns at once, while a thread of its own calls ``callback``: records how that call ended under ``key``."""

    def run() -> None:
        try:
            callback("late")
        except HostCallbackError as exc:
            _done(key, f"HostCallbackError: {exc}")
        except BaseException as exc:
            _done(key, repr(exc))
        else:
            _done(key, "answered")

    threading.Thread(target=run, daemon=True).start()


async def call_without_await(callback: HostCallback) -> Any:
    """Calls a callback as a sync function would, on the event loop."""
    return callback()


def identity(value: Any) -> Any:
    return value


def describe(callback: HostCallback) -> dict[str, Any]:
    return {"repr": repr(callback), "type": type(callback).__name__, "index": callback.index}


def round_trip_object(callback: Callable[[Any], Any]) -> bool:
    """Sends an object the host can only get as a handle; the host returns that handle."""
    obj = Opaque()
    return callback(obj) is obj


def result_size(callback: Callable[[], Any]) -> int:
    return len(callback())


def report_progress(callback: Callable[[int], Any], count: int) -> Iterator[int]:
    for i in range(count):
        callback(i)
        yield i


async def report_progress_async(callback: HostCallback, count: int) -> AsyncIterator[int]:
    for i in range(count):
        await callback.acall(i)
        yield i
