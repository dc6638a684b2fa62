"""Which call the current thread or task runs, for what reports on a call from inside it.

The executor (execution.py) sets ``RUNNING`` wherever a call's user code
runs: on the executor's thread, on a pool thread, in a stream's turns and in
the task of an async call. A ``logging`` record made meanwhile names the
call's target (log_forwarding.py); the call's trace context belongs here too.
"""

from __future__ import annotations

from contextvars import ContextVar

from ..protocol import CallMeta, Op

#: The meta of the call whose user code runs in this thread or task; None outside calls.
RUNNING: ContextVar[CallMeta | None] = ContextVar("snakebridge_running_call", default=None)

#: Longest eval/exec code shown in a description, as the host's describeCall does.
_CODE_SHOWN = 40


def describe_target(meta: CallMeta) -> str:
    """The call as the host names it: ``numpy.linalg.norm``, ``<handle #3>.fit``, ``eval(1 + 1)``.

    The handle's type is the host's to know; here it is its number.
    """
    on = f"<handle #{meta.handle}>" if meta.handle else ""
    if meta.op in (Op.EVAL, Op.EXEC):
        code = meta.target if len(meta.target) <= _CODE_SHOWN else f"{meta.target[:_CODE_SHOWN]}…"
        return f"{Op(meta.op).name.lower()}({code})"
    path = meta.target if not on else (f"{on}.{meta.target}" if meta.target else on)
    return path if meta.op == Op.CALL else f"{Op(meta.op).name.lower()} {path}"
