"""The options calls run with, typed and frozen, with one set of defaults for both transports.

The stdio worker builds them from the JSON object of its HELLO frame
(``WorkerOptions.from_hello``; the host's side is ``#handshake`` in
packages/adapter-stdio/src/worker/stdio-worker.ts), the gRPC server from its
command line (server/options.py). A default here is what a worker or server
uses when it is told nothing; the host normally sends every option.

``from_hello`` checks each option's type and range, and refuses a bad one
with a ``ProtocolError`` that names it. Keys it does not know are ignored, so
a newer host can talk to an older worker; ``null`` is the same as leaving an
option out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, TypeVar, cast

from .errors import ProtocolError

VersionGuardMode = Literal["off", "warn", "error"]
VERSION_GUARD_MODES: tuple[VersionGuardMode, ...] = ("off", "warn", "error")

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class SandboxOptions:
    """The OS sandbox to enter at start (sandbox.py, docs/security.md)."""

    #: Paths that stay writable; everything else is read-only.
    writable_paths: tuple[str, ...] = ()
    #: Whether network sockets may be opened.
    network: bool = False


@dataclass(frozen=True, slots=True)
class SharedMemoryOptions:
    """The host's shared-memory lane (``sharedMemory``; docs/protocol.md, "Shared memory")."""

    #: Arrays of at least this many bytes go back to the host through a segment, not the pipe.
    threshold_bytes: int
    #: The host's process id: its segments are reached through /proc/<host pid>/fd/<fd>.
    host_pid: int


@dataclass(frozen=True, slots=True)
class ResourceLimits:
    """Per-process resource limits, applied before any user code runs (None: left as inherited)."""

    #: RLIMIT_AS, in bytes.
    address_space_bytes: int | None = None
    #: RLIMIT_CPU, in seconds of CPU time.
    cpu_seconds: int | None = None


def _no_serializer_options() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    """What a worker (or the gRPC server) runs calls with. HELLO's key for each field is its camelCase name."""

    #: Serializer id of arguments and results (``serializer``): json, msgpack, arrow, protobuf.
    serializer: str = "json"
    #: Keyword arguments of the serializer's constructor (``serializerOptions``), read-only.
    serializer_options: Mapping[str, Any] = field(default_factory=_no_serializer_options, hash=False)
    #: The worker's id in the host's pool (``workerId``), for messages.
    worker_id: str | None = None
    #: Whether eval/exec of code strings is allowed (``allowEval``).
    allow_eval: bool = True
    #: Restricted mode: only these modules can be called (``allowedModules``); None: any.
    allowed_modules: tuple[str, ...] | None = None
    #: Let ``allowed_modules`` name modules that reach arbitrary objects or code (``allowUnsafeModules``).
    allow_unsafe_modules: bool = False
    #: The OS sandbox to enter at start (``sandbox``); None: no sandbox.
    sandbox: SandboxOptions | None = None
    #: Largest frame either way, in bytes (``maxFrameBytes``; stdio only).
    max_frame_bytes: int = 256 * 1024 * 1024
    #: 0: sync calls run one at a time on the main thread; N: on N threads (``threads``).
    threads: int = 0
    #: Live handles one session may hold (``maxHandlesPerSession``).
    max_handles_per_session: int = 10_000
    #: A handle unused this long is freed; 0: never (``handleTtlMs``).
    handle_ttl_ms: int = 30 * 60_000
    #: Exit when the host has not answered a heartbeat for this long; 0: never (``hostTimeoutMs``; stdio only).
    host_timeout_ms: int = 0
    #: Modules imported before the first call (``preload``).
    preload: tuple[str, ...] = ()
    #: Resource limits (``limits``: ``addressSpaceBytes``, ``cpuSeconds``).
    limits: ResourceLimits = ResourceLimits()
    #: The typed bindings' lockfile, checked at start (``lockfile``); None: no check.
    lockfile: str | None = None
    #: What a lockfile that differs from the installed packages does (``versionGuard``).
    version_guard: VersionGuardMode = "off"
    #: Send ``logging`` records at this level and above to the host as records (``logRecords``, a Python level);
    #: None: Python's logging is left alone. Off by default: a host that does not ask may not know LOG frames.
    log_records: int | None = None
    #: The host's shared-memory lane (``sharedMemory``; stdio on Linux); None: everything goes through the pipe.
    shared_memory: SharedMemoryOptions | None = None

    @classmethod
    def from_hello(cls, hello: object) -> WorkerOptions:
        """The options of a HELLO body, parsed from JSON.

        Raises:
            ProtocolError: ``hello`` is not an object, or an option has the wrong type or range
                (the message names it).
        """
        if not isinstance(hello, Mapping):
            raise ProtocolError(f"the HELLO body is JSON {_json_type(hello)}, not an object of options")
        values: dict[str, Any] = {}
        for name, key, read in _HELLO:
            value = hello.get(key)
            if value is not None:
                values[name] = read(key, value)
        return cls(**values)


# --- reading HELLO's JSON values ----------------------------------------------------------------


def _refuse(key: str, expected: str, value: object) -> ProtocolError:
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return ProtocolError(f"HELLO option {key} must be {expected}, got {shown} ({_json_type(value)})")


def _json_type(value: object) -> str:
    """The JSON name of a parsed JSON value's type, as the host's author knows it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _boolean(key: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise _refuse(key, "true or false", value)
    return value


def _string(key: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise _refuse(key, "a non-empty string", value)
    return value


def _integer(minimum: int) -> Callable[[str, object], int]:
    def read(key: str, value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise _refuse(key, f"an integer of {minimum} or more", value)
        return value

    return read


def _strings(key: str, value: object) -> tuple[str, ...]:
    # An empty string is a module name no module has: an allowlist of [""] allows nothing, as the host means it.
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _refuse(key, "an array of strings", value)
    return tuple(value)


def _object(key: str, value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _refuse(key, "an object", value)
    return value


def _serializer_options(key: str, value: object) -> Mapping[str, Any]:
    return MappingProxyType(dict(_object(key, value)))


def _version_guard(key: str, value: object) -> VersionGuardMode:
    if not isinstance(value, str) or value not in VERSION_GUARD_MODES:
        raise _refuse(key, " or ".join(f'"{mode}"' for mode in VERSION_GUARD_MODES), value)
    return cast(VersionGuardMode, value)


def _member(owner: dict[str, Any], key: str, member: str, read: Callable[[str, object], _T], default: _T) -> _T:
    """``owner[member]`` read as the option ``key.member``, or ``default`` when it is absent or null."""
    value = owner.get(member)
    return default if value is None else read(f"{key}.{member}", value)


def _sandbox(key: str, value: object) -> SandboxOptions:
    sandbox = _object(key, value)
    return SandboxOptions(
        writable_paths=_member(sandbox, key, "writablePaths", _strings, ()),
        network=_member(sandbox, key, "network", _boolean, False),
    )


def _shared_memory(key: str, value: object) -> SharedMemoryOptions:
    lane = _object(key, value)
    positive = _integer(1)
    threshold = lane.get("thresholdBytes")
    host_pid = lane.get("hostPid")
    return SharedMemoryOptions(
        threshold_bytes=positive(f"{key}.thresholdBytes", threshold),
        host_pid=positive(f"{key}.hostPid", host_pid),
    )


def _limits(key: str, value: object) -> ResourceLimits:
    limits = _object(key, value)
    positive = _integer(1)
    return ResourceLimits(
        address_space_bytes=_member(limits, key, "addressSpaceBytes", positive, None),
        cpu_seconds=_member(limits, key, "cpuSeconds", positive, None),
    )


#: (field, HELLO key, reader) for every field of WorkerOptions.
_HELLO: tuple[tuple[str, str, Callable[[str, Any], Any]], ...] = (
    ("serializer", "serializer", _string),
    ("serializer_options", "serializerOptions", _serializer_options),
    ("worker_id", "workerId", _string),
    ("allow_eval", "allowEval", _boolean),
    ("allowed_modules", "allowedModules", _strings),
    ("allow_unsafe_modules", "allowUnsafeModules", _boolean),
    ("sandbox", "sandbox", _sandbox),
    ("max_frame_bytes", "maxFrameBytes", _integer(1)),
    ("threads", "threads", _integer(0)),
    ("max_handles_per_session", "maxHandlesPerSession", _integer(0)),
    ("handle_ttl_ms", "handleTtlMs", _integer(0)),
    ("host_timeout_ms", "hostTimeoutMs", _integer(0)),
    ("preload", "preload", _strings),
    ("limits", "limits", _limits),
    ("lockfile", "lockfile", _string),
    ("version_guard", "versionGuard", _version_guard),
    ("log_records", "logRecords", _integer(0)),
    ("shared_memory", "sharedMemory", _shared_memory),
)
