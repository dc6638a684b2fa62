"""An Executor run in the test process, with a writer that records its frames: for races too narrow
to hit through a real worker, where a test forces the moment instead."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import NamedTuple

from worker_client import JSON

from snakebridge.calls import Dispatcher, HandleTable, Resolver
from snakebridge.protocol import Frame, Kind
from snakebridge.worker.callbacks import HostCallbacks
from snakebridge.worker.executor import Executor
from snakebridge.worker.outcomes import Outcomes

#: The frames that end a call.
FINAL = (Kind.RESULT, Kind.ERROR, Kind.END)
#: How long a slow write takes: pure Python all along, where an asynchronous exception would land.
SLOW_WRITE_SECONDS = 0.3


class RecordingWriter:
    """Stands in for the worker's Writer: keeps the frames it is asked to send.

    It can play a host that is gone (``broken``), and write frames of the
    kinds in ``slow_kinds`` slowly, setting ``writing`` as it starts.
    """

    def __init__(self, broken: bool = False) -> None:
        self.frames: list[Frame] = []
        self.broken = broken
        self.slow_kinds: set[int] = set()
        self.changed = threading.Condition()
        self.sent = threading.Event()
        self.writing = threading.Event()

    def send(self, kind, id, body=b"", serializer=0, flags=0, aux=0, *, flush=True) -> None:
        if self.broken:
            return
        if kind in self.slow_kinds:
            self.writing.set()
            deadline = time.monotonic() + SLOW_WRITE_SECONDS
            while time.monotonic() < deadline:
                pass
        with self.changed:
            self.frames.append(Frame(kind, id, bytes(body), serializer, flags, aux))
            self.changed.notify_all()
        self.sent.set()

    def flush(self) -> None:
        pass

    def wait_for(self, predicate: Callable[[list[Frame]], object], timeout: float) -> bool:
        with self.changed:
            return bool(self.changed.wait_for(lambda: predicate(self.frames), timeout))

    def final_frames(self, call_id: int) -> list[Frame]:
        return [f for f in self.frames if f.id == call_id and f.kind in FINAL]


class InProcess(NamedTuple):
    executor: Executor
    writer: RecordingWriter
    #: The host callbacks registry, when asked for.
    callbacks: HostCallbacks | None


@contextlib.contextmanager
def executors() -> Iterator[Callable[..., InProcess]]:
    """Yields a factory of Executors (JSON, a recording writer); stops them all and restores SIGUSR1 after."""
    previous = signal.getsignal(signal.SIGUSR1)
    made: list[Executor] = []

    def make(threads: int = 0, *, callbacks: bool = False) -> InProcess:
        writer = RecordingWriter()
        handles = HandleTable()
        outcomes = Outcomes(writer, JSON, handles, 1 << 20)  # type: ignore[arg-type]
        registry = HostCallbacks(writer, outcomes, {1: JSON}, handles.get) if callbacks else None  # type: ignore[arg-type]
        executor = Executor({1: JSON}, outcomes, Dispatcher(Resolver(), handles), writer.flush, threads, registry)
        made.append(executor)
        return InProcess(executor, writer, registry)

    try:
        yield make
    finally:
        for executor in made:
            executor._async.stop()
            if executor._pool is not None:
                executor._pool.shutdown(wait=True)
        signal.signal(signal.SIGUSR1, previous)
