"""Python ``logging`` records, sent to the host as records rather than as text on stderr.

When the host asks for them (HELLO's ``logRecords``, the server's
``--log-records``), the runtime installs a ``ForwardingHandler`` on the root
logger at start and sets the root's level. Each record becomes one JSON
object (docs/protocol.md, "Log records"): its level, level name, logger name,
formatted message with any traceback, and the target of the call that was
running where it was made. The stdio worker sends it in a ``LOG`` frame; a
managed gRPC server writes it as one line on its log channel (``--log-fd``).

Messages are cut to fit a record (``LOG_RECORD_MAX_BYTES``, which the host
enforces). Logging from a signal handler is not supported, as with Python's
own handlers.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from .calls.running import RUNNING, describe_target
from .protocol import CallMeta

#: Largest record the host reads, in bytes (packages/process-pool/src/output/log-record.ts).
LOG_RECORD_MAX_BYTES = 1024 * 1024
#: Longest message sent, in characters: escaped as JSON (at most 12 bytes each), it fits a record.
MAX_MESSAGE_CHARS = 64 * 1024
#: Longest logger or level name sent, in characters.
MAX_NAME_CHARS = 256


def record_body(level: int, level_name: str, logger: str, message: str, call: CallMeta | None = None) -> bytes:
    """A record as the host reads it: compact JSON, ASCII only (a lone surrogate travels as ``\\udcff``)."""
    body: dict[str, Any] = {
        "level": level,
        "levelName": _cut(level_name, MAX_NAME_CHARS),
        "logger": _cut(logger, MAX_NAME_CHARS),
        "message": _cut(message, MAX_MESSAGE_CHARS),
    }
    if call is not None:
        body["call"] = {"target": _cut(describe_target(call), MAX_NAME_CHARS), **_trace_ids(call)}
    return json.dumps(body, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def _trace_ids(call: CallMeta) -> dict[str, str]:
    """The trace and span ids a record made during ``call`` belongs to, for log correlation: the span
    current in Python if OpenTelemetry is in use here (the call's server span, or the user's own inside it),
    else the host's span that made the call; none for a call that brought no trace context."""
    trace_api = sys.modules.get("opentelemetry.trace")  # never imported here: only read if the user's code did
    if trace_api is not None:
        context = trace_api.get_current_span().get_span_context()
        if context.is_valid:
            return {"traceId": format(context.trace_id, "032x"), "spanId": format(context.span_id, "016x")}
    trace = getattr(call, "trace", None)
    if trace is None:
        return {}
    match = _TRACEPARENT.fullmatch(trace.traceparent)
    if match is None or match[1] == "0" * 32 or match[2] == "0" * 16:
        return {}  # malformed or invalid: as the tracing layer, ignore it
    return {"traceId": match[1], "spanId": match[2]}


#: version, trace id, parent (span) id, flags (https://www.w3.org/TR/trace-context/#traceparent-header).
_TRACEPARENT = re.compile(r"[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}(?:-.*)?")


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]} …[cut: {len(text) - limit} more characters]"


class ForwardingHandler(logging.Handler):
    """Sends each record it handles to ``sink`` as a record body (``record_body``).

    ``guard`` holds back a cancel's interrupt while a record is written, so
    that a cancelled call cannot leave half a record on the channel; the
    runtime sets it to its executor's ``uninterruptible`` once there is one.
    """

    def __init__(self, sink: Callable[[bytes], None], level: int) -> None:
        super().__init__(level)
        self._sink = sink
        self.guard: Callable[[], AbstractContextManager[object]] = contextlib.nullcontext
        self.setFormatter(logging.Formatter("%(message)s"))  # the message, then any traceback and stack

    def emit(self, record: logging.LogRecord) -> None:
        try:
            body = record_body(record.levelno, record.levelname, record.name, self.format(record), RUNNING.get())
        except Exception:
            self.handleError(record)  # a message whose arguments do not fit it: reported as logging does
            return
        with self.guard():
            self._sink(body)


def forward_logging(sink: Callable[[bytes], None], level: int) -> ForwardingHandler:
    """Sends the records at ``level`` and above to ``sink``: a handler on the root logger, whose level it sets.

    With a handler on the root logger, ``logging.basicConfig`` in user code
    does nothing (unless ``force=True``): records keep going to the host.
    """
    handler = ForwardingHandler(sink, level)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    return handler
