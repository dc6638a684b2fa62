"""Python's spans of calls, read back through calls: for the tests of trace propagation from the host.

``install()`` gives the worker (or server) process an OpenTelemetry SDK tracer
provider that keeps finished spans in memory; ``finished()`` returns them as
plain values the host decodes. The other functions are user code that makes
spans of its own during a call, in each way a call can run: a sync function
(inline or on a pool thread), a coroutine function, a generator, an async
generator, one that raises. Needs ``opentelemetry-sdk`` (the dev install has it).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

_exporter = InMemorySpanExporter()
_installed = False
_lock = threading.Lock()
#: The spans the functions below make, as a user's library would make its own.
_tracer = trace.get_tracer("snakebridge.testing.tracing")


def install() -> bool:
    """Sets the process's tracer provider (once: OpenTelemetry allows one) and forgets spans finished so far."""
    global _installed
    with _lock:
        if not _installed:
            provider = TracerProvider()
            provider.add_span_processor(SimpleSpanProcessor(_exporter))
            trace.set_tracer_provider(provider)
            _installed = True
    _exporter.clear()
    return True


def finished() -> list[dict[str, Any]]:
    """The spans finished since ``install()``, oldest first, with ids in hex as the host writes them."""
    return [_describe(span) for span in _exporter.get_finished_spans()]


def current_span() -> dict[str, Any] | None:
    """The span current where this call runs, or None when there is none (the call was not traced)."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return {"trace_id": f"{context.trace_id:032x}", "span_id": f"{context.span_id:016x}"}


def log_in_span(message: str) -> dict[str, Any] | None:
    """Logs ``message`` as a warning of logger ``app.traced`` inside a span of its own (``user log``);
    returns that span's ids, which the host's record of it must carry."""
    with _tracer.start_as_current_span("user log"):
        logging.getLogger("app.traced").warning(message)
        return current_span()


def add(a: float, b: float) -> float:
    """Adds, inside a span of its own: ``user add``, with the thread it ran on."""
    with _tracer.start_as_current_span("user add") as span:
        span.set_attribute("thread.name", threading.current_thread().name)
        return a + b


async def async_add(a: float, b: float) -> float:
    """``add`` as a coroutine, with an await inside its span."""
    with _tracer.start_as_current_span("user async add") as span:
        span.set_attribute("thread.name", threading.current_thread().name)
        await asyncio.sleep(0)
        return a + b


def count(n: int) -> Iterator[int]:
    """0 … n-1, each made in a span of its own: ``user item <i>``."""
    for i in range(n):
        with _tracer.start_as_current_span(f"user item {i}") as span:
            span.set_attribute("thread.name", threading.current_thread().name)
        yield i


async def async_count(n: int) -> AsyncIterator[int]:
    """``count`` as an async generator."""
    for i in range(n):
        with _tracer.start_as_current_span(f"user async item {i}"):
            await asyncio.sleep(0)
        yield i


def fail(message: str) -> None:
    """Raises ValueError(message) inside a span of its own: ``user fail``."""
    with _tracer.start_as_current_span("user fail"):
        raise ValueError(message)


def _describe(span: Any) -> dict[str, Any]:
    context = span.get_span_context()
    parent = span.parent
    return {
        "name": span.name,
        "kind": span.kind.name,
        "trace_id": f"{context.trace_id:032x}",
        "span_id": f"{context.span_id:016x}",
        "parent_span_id": None if parent is None else f"{parent.span_id:016x}",
        "status": span.status.status_code.name,
        "status_description": span.status.description,
        "attributes": dict(span.attributes or {}),
        "events": [{"name": event.name, "attributes": dict(event.attributes or {})} for event in span.events],
    }
