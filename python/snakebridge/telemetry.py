"""Python's span of each traced call, through ``opentelemetry-api`` when it is installed
(``pip install snakebridge[otel]``; docs/observability.md).

A call that brings the W3C trace context of the host's span (the host traces
it: an OpenTelemetry SDK is registered in Node) runs inside a span of kind
``SERVER`` named ``python <target>``, a child of the host's span. The executor
makes it the current span wherever the call's code runs (the main thread, a
pool thread, the event loop, each turn of a generator), so spans the user's
code makes during the call are its children. A Python exception is recorded
on it and sets its status to ERROR.

A call without a trace context costs nothing here. Without
``opentelemetry-api``, nothing is imported: the first traced call finds that
out, once, and traced calls then run as untraced ones. A traceparent that
does not parse is ignored, as the W3C asks: the span then starts a trace of
its own, and the call runs all the same.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import TYPE_CHECKING, Any

from . import __version__
from .errors import Cancelled

if TYPE_CHECKING:
    from .calls.state import Outcomes
    from .protocol import CallMeta

#: The instrumentation scope of Python's spans, as the host's is ``@snakebridge/core``.
TELEMETRY_SCOPE = "snakebridge"

_NOT_LOADED: Any = object()
_loaded: CallTracing | None = _NOT_LOADED
_loading = threading.Lock()


def call_tracing() -> CallTracing | None:
    """The tracing of calls, or None when ``opentelemetry-api`` is not installed (looked for once)."""
    global _loaded
    if _loaded is _NOT_LOADED:
        with _loading:
            if _loaded is _NOT_LOADED:
                _loaded = _load()
    return _loaded


def _load() -> CallTracing | None:
    try:
        from opentelemetry import context, trace
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        return CallTracing(trace, context, TraceContextTextMapPropagator())
    except ImportError:
        return None
    except Exception as exc:
        # Installed but broken: calls run untraced, and the log says why once.
        print(f"snakebridge: calls are not traced: opentelemetry failed to load: {exc!r}", file=sys.stderr, flush=True)
        return None


class CallTracing:
    """Starts, activates and ends the spans of traced calls; one per process.

    Spans are kept by call id from ``begin`` until the call's final outcome,
    which ``outcomes`` (the executor's outcomes, wrapped) ends them with.
    """

    def __init__(self, trace: Any, context: Any, propagator: Any) -> None:
        self._trace = trace
        self._context = context
        self._propagator = propagator
        # A proxy until the application sets a tracer provider, then the provider's: get it once.
        self._tracer = trace.get_tracer(TELEMETRY_SCOPE, __version__)
        self._status = trace.Status
        self._error = trace.StatusCode.ERROR
        self._server = trace.SpanKind.SERVER
        self._spans: dict[int, Any] = {}
        self._pid = os.getpid()

    def begin(self, call_id: int, meta: CallMeta, stream: bool) -> Any:
        """Starts the span of call ``call_id``, a child of the host's; returns the context that makes it current."""
        trace = meta.trace
        assert trace is not None
        carrier = {"traceparent": trace.traceparent}
        if trace.tracestate:
            carrier["tracestate"] = trace.tracestate
        parent = self._propagator.extract(carrier)
        span = self._tracer.start_span(
            f"python {meta.target}",
            context=parent,
            kind=self._server,
            attributes={
                "rpc.system": "snakebridge",
                "rpc.method": meta.target,
                "snakebridge.op": _OP_NAMES.get(meta.op, str(meta.op)),
                "snakebridge.kind": "stream" if stream else "call",
                "snakebridge.worker.pid": self._pid,
            },
        )
        self._spans[call_id] = span
        return self._trace.set_span_in_context(span, parent)

    def attach(self, context: Any) -> object:
        """Makes ``context`` current in this thread or task; ``detach`` the token it returns."""
        return self._context.attach(context)

    def detach(self, token: object) -> None:
        self._context.detach(token)

    def end(self, call_id: int, error: BaseException | None = None, cancelled: bool = False) -> None:
        """Ends the span of call ``call_id`` (if it has one) with its outcome. Never raises: the call's
        outcome is sent next, whatever happens to its span."""
        span = self._spans.pop(call_id, None)
        if span is None:
            return
        try:
            self._finish(span, error, cancelled)
        except Exception as exc:
            print(f"snakebridge: the span of a call could not be ended: {exc!r}", file=sys.stderr, flush=True)

    def _finish(self, span: Any, error: BaseException | None, cancelled: bool) -> None:
        if cancelled or isinstance(error, Cancelled):
            span.set_attribute("snakebridge.outcome", "cancelled")
        elif error is not None:
            span.record_exception(error)
            span.set_status(self._status(self._error, f"{type(error).__name__}: {error}"))
            span.set_attribute("error.type", type(error).__qualname__)
            span.set_attribute("snakebridge.outcome", "error")
        else:
            span.set_attribute("snakebridge.outcome", "ok")
        span.end()

    def outcomes(self, inner: Outcomes) -> TracedOutcomes:
        """``inner``, ending each traced call's span as its final outcome goes out."""
        return TracedOutcomes(inner, self)


class TracedOutcomes:
    """An executor's ``Outcomes`` (calls/state.py) that ends the span of a call before its final outcome is
    sent, so that the span is over when the host has the answer. Anything else is ``inner``'s."""

    def __init__(self, inner: Outcomes, tracing: CallTracing) -> None:
        self._inner = inner
        self._tracing = tracing

    @property
    def wants_target(self) -> bool:
        return self._inner.wants_target

    @property
    def targets(self) -> dict[int, str]:
        return self._inner.targets

    def result(self, call_id: int, value: Any, session: int, *, flush: bool = True) -> None:
        self._tracing.end(call_id)
        self._inner.result(call_id, value, session, flush=flush)

    def item(self, call_id: int, value: Any, session: int, *, flush: bool = True) -> None:
        self._inner.item(call_id, value, session, flush=flush)

    def end(self, call_id: int, *, flush: bool = True) -> None:
        self._tracing.end(call_id)
        self._inner.end(call_id, flush=flush)

    def error(self, call_id: int, exc: BaseException, *, flush: bool = True) -> None:
        self._tracing.end(call_id, exc)
        self._inner.error(call_id, exc, flush=flush)

    def cancelled(self, call_id: int, *, flush: bool = True) -> None:
        self._tracing.end(call_id, cancelled=True)
        self._inner.cancelled(call_id, flush=flush)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


_OP_NAMES = {1: "call", 2: "getattr", 3: "setattr", 4: "eval", 5: "exec", 6: "iter"}
