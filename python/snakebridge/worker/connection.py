"""The worker's pipes: frames in on fd 3 (data) and fd 5 (control), out on fd 4.

The main thread reads the data channel itself and runs each call as it is
read, so a call never waits for a thread hand-off. The control channel is
read by its own thread, so pings and cancels are seen even while user code
runs. stdout and stderr are left to the user's code.

The writer batches the frames one burst of work produces into a single
vectored write; large bodies are written from their own buffers, never
copied into a bigger one.
"""

from __future__ import annotations

import io
import os
import select
import stat
import threading
import time
from collections.abc import Callable

from ..protocol import Frame, FrameReader, FrameTooLarge, Kind, frame_parts
from ..serializers.base import Scattered

#: Most buffers handed to one writev call (IOV_MAX is 1024 on Linux).
_MAX_IOV = 512
#: Deferred frames are written out once they hold this many bytes.
_FLUSH_BYTES = 256 * 1024
#: Deferred frames are written out after at most about this long, whatever the thread that sent them does next.
_FLUSH_LATENCY_SECONDS = 0.002
_READ_CHUNK = 1 << 16

Received = Frame | FrameTooLarge

#: What the host sends on the data channel once HELLO is done; any other kind there is fatal.
DATA_KINDS = frozenset({Kind.CALL, Kind.CREDIT, Kind.CANCEL, Kind.RELEASE})
#: What the host sends on the control channel.
CONTROL_KINDS = frozenset({Kind.PING, Kind.PONG, Kind.CANCEL, Kind.CREDIT, Kind.CALLBACK_RESULT, Kind.CALLBACK_ERROR})


class MalformedFrameError(ValueError):
    """A frame header that breaks the protocol (docs/protocol.md, "Validation").

    Raised by ``FrameSource.read``: the byte stream is out of step, or the
    host sent what it never may, so the connection is done for and the worker
    leaves. A ValueError, as the reader raised before, so code that catches
    ValueError still sees it; ``fault`` names the broken rule.
    """

    def __init__(self, message: str, fault: str = "unexpected-kind") -> None:
        super().__init__(message)
        self.fault = fault


#: Socket buffer asked for on the worker's output (the kernel caps it at net.core.wmem_max).
_SEND_BUFFER = 1 << 20


def widen_send_buffer(fd: int) -> None:
    """Asks for a 1 MiB send buffer on ``fd`` if it is a socket (the host's pipes are socketpairs).

    With the default ~200 KB, a large result crosses in many more writes and
    wake-ups; a megabyte cuts the round trip of an 8 MB array by about a third.
    """
    try:
        if not stat.S_ISSOCK(os.fstat(fd).st_mode):
            return
        # _socket, not socket: the module's enum classes cost every worker's start 2-5 ms, for one setsockopt.
        import _socket

        sock = _socket.socket(fileno=fd)
        try:
            sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_SNDBUF, _SEND_BUFFER)
        finally:
            sock.detach()  # the fd stays open: it is the frame channel
    except OSError:
        pass  # a smaller buffer only costs speed


class Writer:
    """Writes frames to the host. Thread-safe.

    ``send(..., flush=False)`` defers a frame so that a burst of results goes
    out in one write; any ``send`` with ``flush=True`` (the default) or a call
    to ``flush()`` writes everything pending, in order.

    Only the executor's thread defers frames, and it flushes before it waits
    for input, so a lone call's result goes out at once with no other thread
    involved. A deferred frame must still never be held for long when that
    thread goes on to run user code that may block (the next call of a burst,
    a generator's next item): it calls ``flush_soon()`` first, and a flusher
    thread then writes out whatever is still pending after about
    ``_FLUSH_LATENCY_SECONDS``. Waking that thread costs about a tenth of a
    small call's work in the worker, so it is woken only then, at most once
    per burst, never for a lone call.
    """

    def __init__(self, fd: int, on_broken: Callable[[], None]) -> None:
        self._fd = fd
        self._lock = threading.Lock()
        self._pending: list[bytes | bytearray | memoryview] = []
        self._pending_bytes = 0
        self._on_broken = on_broken
        self.broken = False
        self._deferred = threading.Event()
        self._flusher: threading.Thread | None = None

    def send(
        self,
        kind: int,
        id: int,
        body: bytes | bytearray | memoryview | Scattered = b"",
        serializer: int = 0,
        flags: int = 0,
        aux: int = 0,
        *,
        flush: bool = True,
    ) -> None:
        """Queues one frame and, if ``flush`` (or enough is pending), writes everything queued.

        Never raises for a closed pipe: the writer is marked broken and
        ``on_broken`` is called once, since nobody is left to answer.
        """
        header, payload = frame_parts(kind, id, body, serializer, flags, aux)
        with self._lock:
            pending = self._pending
            pending.append(header)
            if type(payload) is Scattered:
                # Parts of it are memory the caller's code may change next (an array it returned): written
                # now, not deferred. (Only bodies of SCATTER_BYTES and more are scattered: over _FLUSH_BYTES.)
                pending += payload.parts
                flush = True
            elif len(payload):
                pending.append(payload)
            self._pending_bytes += len(header) + len(payload)
            if flush or self._pending_bytes >= _FLUSH_BYTES:
                self._flush_locked()

    def flush(self) -> None:
        """Writes every deferred frame now, in the order they were sent."""
        if self._pending:
            with self._lock:
                self._flush_locked()

    def flush_soon(self) -> None:
        """Makes sure the frames deferred so far are written within about ``_FLUSH_LATENCY_SECONDS``,
        even if the calling thread now blocks. Call it before running code that may block."""
        if self._pending and not self._deferred.is_set():
            with self._lock:
                if self._flusher is None:
                    self._flusher = threading.Thread(target=self._flush_late, name="snakebridge-flusher", daemon=True)
                    self._flusher.start()
                self._deferred.set()

    def _flush_late(self) -> None:
        while True:
            self._deferred.wait()
            time.sleep(_FLUSH_LATENCY_SECONDS)
            with self._lock:
                # Cleared under the lock: a frame deferred after this flush sets it again.
                self._deferred.clear()
                self._flush_locked()

    def _flush_locked(self) -> None:
        buffers, self._pending, self._pending_bytes = self._pending, [], 0
        if self.broken or not buffers:
            return
        try:
            _write_all(self._fd, buffers)
        except OSError:
            # The host is gone (EPIPE) or closed fd 4: nobody is left to answer.
            self.broken = True
            self._on_broken()


def _write_all(fd: int, buffers: list[bytes | bytearray | memoryview]) -> None:
    count = len(buffers)
    if count == 1 or (count == 2 and len(buffers[1]) < _READ_CHUNK):
        # One frame, small: one write of one buffer (a header alone, or joined to its body).
        data = buffers[0] if count == 1 else buffers[0] + buffers[1]
        while data:
            data = data[os.write(fd, data) :]
        return
    views = [view for view in map(memoryview, buffers) if view.nbytes]  # an empty one would never be taken off
    while views:
        written = os.writev(fd, views[:_MAX_IOV])
        while written:
            first = views[0]
            if written >= len(first):
                written -= len(first)
                views.pop(0)
            else:
                views[0] = first[written:]
                written = 0


class FrameSource:
    """Reads frames from one pipe: blocking, or only what is already there."""

    def __init__(self, fd: int, frames: FrameReader) -> None:
        self.fd = fd
        self._file = io.FileIO(fd, "rb", closefd=False)
        self._frames = frames
        self._chunk = bytearray(_READ_CHUNK)
        self._view = memoryview(self._chunk)
        self.eof = False

    @property
    def max_frame_bytes(self) -> int:
        return self._frames.max_frame_bytes

    @max_frame_bytes.setter
    def max_frame_bytes(self, value: int) -> None:
        self._frames.max_frame_bytes = value

    def accept(self, kinds: frozenset[int]) -> None:
        """From now on, a frame of any other kind is malformed (checked at its header, before its body)."""
        self._frames.accept = kinds

    def read(self) -> list[Received]:
        """Blocks until at least one byte arrives; returns the frames it completed (maybe none).

        Raises ``MalformedFrameError`` if a header breaks the protocol.
        """
        frames = self._frames
        try:
            if frames.wants():
                count = self._read_body(frames)
            else:
                count = self._file.readinto(self._view) or 0
                frames.feed(self._view[:count])
        except OSError:
            count = 0
        if count == 0:
            self.eof = True
            return []
        try:
            return frames.frames()
        except ValueError as exc:  # FrameReader's only error (FrameError): a header that breaks the protocol
            raise MalformedFrameError(str(exc), getattr(exc, "fault", "unexpected-kind")) from exc

    def _read_body(self, frames: FrameReader) -> int:
        """Reads part of a large body straight into room at the end of the reader's buffer: no copy, and
        no more room than one step beyond what has arrived (a header cannot make the worker allocate)."""
        count = 0
        try:
            with frames.buffer_for_body() as room:
                count = self._file.readinto(room) or 0
        finally:
            frames.filled(count)
        return count

    def read_ready(self) -> list[Received]:
        """Reads only if bytes are waiting; never blocks."""
        readable, _, _ = select.select([self.fd], [], [], 0)
        return self.read() if readable else []


class ControlReader:
    """Reads the control channel on its own thread, so the host's pings and
    cancels are answered even while a call runs on the main thread."""

    def __init__(
        self,
        source: FrameSource,
        dispatch: Callable[[Received], None],
        on_eof: Callable[[], None],
        on_malformed: Callable[[Exception], None],
    ) -> None:
        self._source = source
        source.accept(CONTROL_KINDS)
        self._dispatch = dispatch
        self._on_eof = on_eof
        self._on_malformed = on_malformed
        self._thread = threading.Thread(target=self._run, name="snakebridge-control", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        try:
            while True:
                frames = self._source.read()
                if self._source.eof:
                    self._on_eof()
                    return
                for frame in frames:
                    self._dispatch(frame)
        except (
            ValueError
        ) as exc:  # above all MalformedFrameError: a header that makes no sense, the stream is out of step
            self._on_malformed(exc)
