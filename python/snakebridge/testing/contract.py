"""The fixture module of the invoker contract suite (``@snakebridge/core/testing``).

Every invoker is tested by calling these functions; the mock invoker is
programmed with a JavaScript twin of them (packages/adapter-mock/test/contract-twin.ts).
Keep the two in step.
"""

from __future__ import annotations

import asyncio
import builtins
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

ANSWER = 42

#: Values remembered between calls (per worker process): lets tests observe effects.
_state: dict[str, Any] = {}


def echo(value: Any) -> Any:
    return value


async def async_echo(value: Any) -> Any:
    await asyncio.sleep(0)
    return value


def add(a: Any, b: Any) -> Any:
    return a + b


def greet(name: str, greeting: str = "Hello", *, punctuation: str = "!") -> str:
    return f"{greeting}, {name}{punctuation}"


def fail(type_name: str = "ValueError", message: str = "boom") -> None:
    raise getattr(builtins, type_name)(message)


def fail_with_cause() -> None:
    try:
        {}["missing"]
    except KeyError as exc:
        raise RuntimeError("lookup failed") from exc


def sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def slow_echo(value: Any, seconds: float) -> Any:
    time.sleep(seconds)
    return value


async def cancellable_sleep(tag: str, seconds: float) -> None:
    _state[f"{tag}:started"] = True
    try:
        await asyncio.sleep(seconds)
    except asyncio.CancelledError:
        _state[tag] = "cancelled"
        raise


def remember(key: str, value: Any) -> None:
    _state[key] = value


def recall(key: str) -> Any:
    return _state.get(key)


def count(n: int) -> Iterator[int]:
    yield from range(n)


async def async_count(n: int) -> AsyncIterator[int]:
    for i in range(n):
        await asyncio.sleep(0)
        yield i


def slow_count(n: int, seconds: float) -> Iterator[int]:
    """Yields 0 at once, then sleeps ``seconds`` before each further item: for stream deadlines and aborts."""
    for i in range(n):
        if i:
            time.sleep(seconds)
        yield i


def count_then_fail(n: int) -> Iterator[int]:
    yield from range(n)
    raise RuntimeError("stream failed")


def endless(tag: str) -> Iterator[int]:
    i = 0
    try:
        while True:
            _state[f"{tag}:produced"] = i + 1
            yield i
            i += 1
    finally:
        _state[tag] = "closed"


class Counter:
    def __init__(self, value: int = 0) -> None:
        self.value = value

    def increment(self, by: int = 1) -> int:
        self.value += by
        return self.value

    def bump(self, by: int = 1) -> Counter:
        """Returns itself, as scikit-learn's ``fit`` does: the host must get the same handle back."""
        self.value += by
        return self

    def __repr__(self) -> str:
        return f"Counter({self.value})"


def make_counter(start: int = 0) -> Counter:
    return Counter(start)


def read_counter(counter: Counter) -> int:
    return counter.value
