"""Functions the tracing tests call in a worker: what the worker process has imported."""

from __future__ import annotations

import sys


def opentelemetry_imported() -> bool:
    """Whether anything of opentelemetry is loaded in this process."""
    return any(name == "opentelemetry" or name.startswith("opentelemetry.") for name in sys.modules)


def install_failing_tracer(where: str) -> bool:
    """Sets a tracer provider whose spans fail: at ``start`` (start_span raises) or at ``end`` (end raises)."""
    from opentelemetry import trace
    from opentelemetry.trace import NonRecordingSpan, SpanContext

    class FailingSpan(NonRecordingSpan):
        def end(self, end_time=None) -> None:
            raise RuntimeError("a broken span")

    class FailingTracer(trace.NoOpTracer):
        def start_span(self, *args, **kwargs):
            if where == "start":
                raise RuntimeError("a broken tracer")
            return FailingSpan(SpanContext(1, 1, False))

    class FailingProvider(trace.NoOpTracerProvider):
        def get_tracer(self, *args, **kwargs):
            return FailingTracer()

    trace.set_tracer_provider(FailingProvider())
    return True
