"""WorkerOptions: the HELLO options as one typed, frozen dataclass, whose defaults the gRPC server shares."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from snakebridge.errors import ProtocolError
from snakebridge.options import ResourceLimits, SandboxOptions, SharedMemoryOptions, WorkerOptions
from snakebridge.server.options import ServerOptions, UsageError, _parser, parse_options

#: What the host sends (stdio-worker.ts, #handshake), with every option set.
FULL_HELLO: dict[str, Any] = {
    "serializer": "msgpack",
    "serializerOptions": {"tables_as": "arrow"},
    "workerId": "w3",
    "allowEval": False,
    "allowedModules": ["json", "math"],
    "allowUnsafeModules": True,
    "sandbox": {"writablePaths": ["/tmp/a", "/tmp/b"], "network": True},
    "maxFrameBytes": 4096,
    "threads": 2,
    "maxHandlesPerSession": 7,
    "handleTtlMs": 1500,
    "hostTimeoutMs": 60_000,
    "preload": ["numpy"],
    "limits": {"addressSpaceBytes": 1 << 30, "cpuSeconds": 60},
    "lockfile": "/app/snakebridge.lock.json",
    "versionGuard": "warn",
    "logRecords": 20,
    "sharedMemory": {"thresholdBytes": 1048576, "hostPid": 4242},
}


def test_the_defaults() -> None:
    options = WorkerOptions()
    assert options == WorkerOptions(
        serializer="json",
        serializer_options={},
        worker_id=None,
        allow_eval=True,
        allowed_modules=None,
        allow_unsafe_modules=False,
        sandbox=None,
        max_frame_bytes=256 * 1024 * 1024,
        threads=0,
        max_handles_per_session=10_000,
        handle_ttl_ms=30 * 60_000,
        host_timeout_ms=0,
        preload=(),
        limits=ResourceLimits(address_space_bytes=None, cpu_seconds=None),
        lockfile=None,
        version_guard="off",
        log_records=None,
        shared_memory=None,
    )
    assert dict(options.serializer_options) == {}


def test_an_empty_hello_gets_the_defaults() -> None:
    assert WorkerOptions.from_hello({}) == WorkerOptions()


def test_null_is_the_same_as_leaving_an_option_out() -> None:
    assert WorkerOptions.from_hello(dict.fromkeys(FULL_HELLO)) == WorkerOptions()
    assert WorkerOptions.from_hello({"sandbox": {"writablePaths": None, "network": None}}).sandbox == SandboxOptions()
    assert WorkerOptions.from_hello({"limits": {"cpuSeconds": None}}).limits == ResourceLimits()


def test_reads_every_option_the_host_sends() -> None:
    options = WorkerOptions.from_hello(FULL_HELLO)
    assert options == WorkerOptions(
        serializer="msgpack",
        serializer_options={"tables_as": "arrow"},
        worker_id="w3",
        allow_eval=False,
        allowed_modules=("json", "math"),
        allow_unsafe_modules=True,
        sandbox=SandboxOptions(writable_paths=("/tmp/a", "/tmp/b"), network=True),
        max_frame_bytes=4096,
        threads=2,
        max_handles_per_session=7,
        handle_ttl_ms=1500,
        host_timeout_ms=60_000,
        preload=("numpy",),
        limits=ResourceLimits(address_space_bytes=1 << 30, cpu_seconds=60),
        lockfile="/app/snakebridge.lock.json",
        version_guard="warn",
        log_records=20,
        shared_memory=SharedMemoryOptions(threshold_bytes=1048576, host_pid=4242),
    )
    # Every field has its HELLO key: none is left at its default by a full HELLO.
    defaults = WorkerOptions()
    for field in dataclasses.fields(WorkerOptions):
        assert getattr(options, field.name) != getattr(defaults, field.name), field.name


def test_the_host_s_usual_hello_with_no_sandbox_and_no_allowlist() -> None:
    hello = {**FULL_HELLO, "allowedModules": None, "sandbox": None, "limits": {}, "serializerOptions": {}}
    del hello["lockfile"], hello["versionGuard"]
    options = WorkerOptions.from_hello(hello)
    assert options.allowed_modules is None and options.sandbox is None
    assert options.limits == ResourceLimits() and options.lockfile is None and options.version_guard == "off"


def test_an_empty_allowlist_is_kept_as_one_that_allows_nothing() -> None:
    assert WorkerOptions.from_hello({"allowedModules": []}).allowed_modules == ()
    assert WorkerOptions.from_hello({"allowedModules": [""]}).allowed_modules == ("",)


def test_unknown_options_are_ignored() -> None:
    hello = {
        **FULL_HELLO,
        "someFutureOption": {"deep": [1, 2]},
        "sandbox": {**FULL_HELLO["sandbox"], "futureRule": "x"},
        "limits": {**FULL_HELLO["limits"], "openFiles": 5},
    }
    assert WorkerOptions.from_hello(hello) == WorkerOptions.from_hello(FULL_HELLO)


def test_the_options_are_frozen() -> None:
    options = WorkerOptions.from_hello(FULL_HELLO)
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.threads = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        options.serializer_options["tables_as"] = "pandas"  # type: ignore[index]
    assert hash(options) == hash(WorkerOptions.from_hello(FULL_HELLO))


def test_the_serializer_options_are_a_copy() -> None:
    given = {"tables_as": "arrow"}
    options = WorkerOptions.from_hello({"serializerOptions": given})
    given["tables_as"] = "pandas"
    assert options.serializer_options["tables_as"] == "arrow"


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("serializer", 1, "a non-empty string"),
        ("serializer", "", "a non-empty string"),
        ("serializerOptions", ["tables_as"], "an object"),
        ("workerId", 3, "a non-empty string"),
        ("allowEval", "false", "true or false"),
        ("allowEval", 0, "true or false"),
        ("allowedModules", "json", "an array of strings"),
        ("allowedModules", ["json", 1], "an array of strings"),
        ("allowUnsafeModules", 1, "true or false"),
        ("sandbox", True, "an object"),
        ("maxFrameBytes", "4096", "an integer of 1 or more"),
        ("maxFrameBytes", 0, "an integer of 1 or more"),
        ("maxFrameBytes", 4096.5, "an integer of 1 or more"),
        ("threads", -1, "an integer of 0 or more"),
        ("threads", True, "an integer of 0 or more"),
        ("maxHandlesPerSession", 1e4, "an integer of 0 or more"),
        ("handleTtlMs", "30m", "an integer of 0 or more"),
        ("hostTimeoutMs", [60_000], "an integer of 0 or more"),
        ("preload", "numpy", "an array of strings"),
        ("limits", 1024, "an object"),
        ("lockfile", ["a.json"], "a non-empty string"),
        ("lockfile", "", "a non-empty string"),
        ("versionGuard", "strict", '"off" or "warn" or "error"'),
        ("versionGuard", True, '"off" or "warn" or "error"'),
        ("logRecords", "INFO", "an integer of 0 or more"),
        ("logRecords", -10, "an integer of 0 or more"),
    ],
)
def test_an_option_of_the_wrong_type_is_refused_naming_it(key: str, value: Any, expected: str) -> None:
    with pytest.raises(ProtocolError) as info:
        WorkerOptions.from_hello({**FULL_HELLO, key: value})
    assert str(info.value).startswith(f"HELLO option {key} must be {expected}, got ")
    assert info.value.code == "PROTOCOL"


@pytest.mark.parametrize(
    ("key", "member", "value", "expected"),
    [
        ("sandbox", "writablePaths", "/tmp", "an array of strings"),
        ("sandbox", "network", "yes", "true or false"),
        ("limits", "addressSpaceBytes", 0, "an integer of 1 or more"),
        ("limits", "cpuSeconds", "60", "an integer of 1 or more"),
    ],
)
def test_a_nested_option_of_the_wrong_type_is_refused_naming_it(
    key: str, member: str, value: Any, expected: str
) -> None:
    with pytest.raises(ProtocolError, match=f"^HELLO option {key}.{member} must be {expected}, got "):
        WorkerOptions.from_hello({**FULL_HELLO, key: {**FULL_HELLO[key], member: value}})


def test_the_refusal_says_what_came_and_its_json_type() -> None:
    with pytest.raises(
        ProtocolError, match=r"HELLO option threads must be an integer of 0 or more, got 'four' \(string\)"
    ):
        WorkerOptions.from_hello({"threads": "four"})
    with pytest.raises(ProtocolError, match=r"got 'x{76}\.\.\. \(string\)"):
        WorkerOptions.from_hello({"threads": "x" * 500})


@pytest.mark.parametrize(("hello", "kind"), [([1, 2], "array"), ("options", "string"), (None, "null"), (3, "number")])
def test_a_hello_that_is_not_an_object_is_refused(hello: object, kind: str) -> None:
    with pytest.raises(ProtocolError, match=f"the HELLO body is JSON {kind}, not an object of options"):
        WorkerOptions.from_hello(hello)


# --- the gRPC server shares the defaults -------------------------------------------------------------------


def test_the_server_s_command_line_defaults_are_the_dataclass_defaults() -> None:
    assert parse_options([], env={}).calls == WorkerOptions()
    assert ServerOptions().calls == WorkerOptions()


def test_each_argparse_default_is_the_dataclass_default() -> None:
    args = _parser().parse_args([])
    defaults = WorkerOptions()
    assert args.threads == defaults.threads
    assert args.max_handles_per_session == defaults.max_handles_per_session
    assert args.handle_ttl_ms == defaults.handle_ttl_ms
    assert args.version_guard == defaults.version_guard
    assert args.allowed_module == defaults.allowed_modules
    assert tuple(args.preload) == defaults.preload
    assert args.allow_unsafe_modules == defaults.allow_unsafe_modules
    assert (args.sandbox or None) == defaults.sandbox
    assert ResourceLimits(args.limit_address_space_bytes, args.limit_cpu_seconds) == defaults.limits
    assert args.lockfile == defaults.lockfile


def test_the_server_s_command_line_builds_the_same_dataclass() -> None:
    argv = [
        "--threads", "2",
        "--allowed-module", "json",
        "--allowed-module", "math",
        "--allow-unsafe-modules",
        "--sandbox", "--sandbox-writable", "/tmp/a", "--sandbox-writable", "/tmp/b", "--sandbox-network",
        "--max-handles-per-session", "7",
        "--handle-ttl-ms", "1500",
        "--preload", "numpy",
        "--limit-address-space-bytes", str(1 << 30),
        "--limit-cpu-seconds", "60",
        "--lockfile", "/app/snakebridge.lock.json",
        "--version-guard", "warn",
        "--log-fd", "5", "--log-records", "info",
    ]  # fmt: skip
    stdio_only = {"serializer", "serializerOptions", "workerId", "maxFrameBytes", "hostTimeoutMs", "sharedMemory"}
    hello = {key: value for key, value in FULL_HELLO.items() if key not in stdio_only}
    assert parse_options(argv, env={}).calls == WorkerOptions.from_hello(hello)


def test_the_server_forwards_logging_records_only_to_a_log_fd() -> None:
    assert parse_options([], env={}).calls.log_records is None
    options = parse_options(["--log-fd", "5"], env={})
    assert (options.log_fd, options.calls.log_records) == (5, 20)
    assert parse_options(["--log-fd", "5", "--log-records", "DEBUG"], env={}).calls.log_records == 10
    with pytest.raises(UsageError, match="--log-records says which records go to --log-fd: give both"):
        parse_options(["--log-records", "INFO"], env={})


def test_the_server_leaves_the_sandbox_options_alone_without_sandbox() -> None:
    options = parse_options(["--sandbox-writable", "/tmp/a", "--sandbox-network"], env={})
    assert options.calls.sandbox is None
