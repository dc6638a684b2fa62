"""The worker's end of the stdio transport's shared-memory lane (docs/protocol.md, "Shared memory").

Large arrays in a call's arguments come as unlinked files in the host's
/dev/shm, reached through /proc/<host pid>/fd/<fd> and mapped here without a
copy: numpy views the mapping, read-only like an array read from the pipe.
Large arrays in results and stream items go back
the same way: written once into a file that is unlinked at once, kept open
until the host says (in a RELEASE) that it has read it. Nothing has a name
while it is in use, so a SIGKILL on either side leaves nothing behind: the
kernel frees a segment when its last descriptor and mapping go.
"""

from __future__ import annotations

import itertools
import mmap
import os
import stat
import threading

from ..errors import ProtocolError
from ..protocol.segments import SegmentEntry

#: Where segments are made: the tmpfs every Linux has.
SEGMENT_DIRECTORY = "/dev/shm"
_CREATE = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class SharedMemoryLane:
    """Maps the host's segments, and makes segments for large results until the host has read them."""

    def __init__(self, host_pid: int, threshold_bytes: int, directory: str = SEGMENT_DIRECTORY) -> None:
        self.host_pid = host_pid
        #: Arrays of at least this many bytes go back through a segment.
        self.threshold_bytes = threshold_bytes
        self._directory = directory
        #: Segments sent to the host and not yet released by it: their descriptors, kept open until then.
        self._outstanding: set[int] = set()
        self._lock = threading.Lock()
        self._names = itertools.count(1)

    # --- the host's segments -----------------------------------------------------

    def map(self, entries: list[SegmentEntry], max_bytes: int) -> list[memoryview]:
        """The host's segments, each mapped whole: memory to build numpy arrays on.

        Raises:
            ProtocolError: together they hold more than ``max_bytes`` (what one frame may carry), or
                one cannot be opened, or is not a regular file of the length its entry gives.
        """
        total = sum(entry.length for entry in entries)
        if total > max_bytes:
            raise ProtocolError(
                f"the shared-memory segments of one frame hold {total} bytes, "
                f"more than protocol.maxFrameBytes ({max_bytes})"
            )
        return [self._map_one(entry) for entry in entries]

    def _map_one(self, entry: SegmentEntry) -> memoryview:
        try:
            fd = os.open(f"/proc/{self.host_pid}/fd/{entry.ref}", os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as exc:
            raise ProtocolError(f"the host's shared-memory segment {entry.ref} could not be opened: {exc}") from None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_size != entry.length or entry.length == 0:
                raise ProtocolError(
                    f"the host's shared-memory segment {entry.ref} is not a file of {entry.length} bytes"
                )
            # Read-only, as an array decoded from the pipe is (a view of the received bytes): a function
            # behaves the same whichever way its argument came.
            mapping = mmap.mmap(fd, entry.length, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ)
        finally:
            os.close(fd)
        return memoryview(mapping)

    # --- segments for the host -----------------------------------------------------

    def put(self, raw: memoryview) -> SegmentEntry:
        """A new segment holding ``raw`` (C-contiguous bytes), kept open until the host releases it."""
        path = os.path.join(self._directory, f"snakebridge-w{os.getpid()}-{next(self._names)}")
        fd = os.open(path, _CREATE, 0o600)
        try:
            os.unlink(path)
            data = raw.cast("B")
            written = 0
            while written < len(data):
                written += os.pwrite(fd, data[written:], written)
        except BaseException:
            os.close(fd)
            raise
        with self._lock:
            self._outstanding.add(fd)
        return SegmentEntry(fd, len(data))

    def release(self, refs: list[int]) -> None:
        """Closes the segments the host has read (or will never read). Numbers that are not segments
        sent to it, still open, are ignored: a host cannot make the worker close anything else."""
        with self._lock:
            mine = [ref for ref in refs if ref in self._outstanding]
            self._outstanding.difference_update(mine)
        for fd in mine:
            os.close(fd)

    @property
    def outstanding(self) -> int:
        """Segments sent to the host and not yet released."""
        return len(self._outstanding)
