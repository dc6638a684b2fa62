"""The server's command line: what it listens on, how it is secured, and the
options calls run with, the ``WorkerOptions`` the stdio worker gets from its
HELLO (eval, allowed modules, preload, handles, limits), with the same
defaults. Validated here, once, so the rest can trust them."""

from __future__ import annotations

import argparse
import ipaddress
import os
from dataclasses import dataclass, replace
from pathlib import Path

from ..options import VERSION_GUARD_MODES, ResourceLimits, SandboxOptions, WorkerOptions

#: Largest message either direction, as `grpc.maxMessageBytes` defaults to in the host.
DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024
TOKEN_ENV = "SNAKEBRIDGE_TOKEN"
#: The default of --pipeline-wait-ms, when set (a managed server takes it from the host's python.env).
PIPELINE_WAIT_ENV = "SNAKEBRIDGE_PIPELINE_WAIT_MS"
#: Separate RPCs of one host arrive in order but for milliseconds, or the time a large call's bytes take.
DEFAULT_PIPELINE_WAIT_MS = 10_000
#: The defaults of the options calls run with, shared with the stdio worker.
_CALL_DEFAULTS = WorkerOptions()
#: Python's levels by the names the command line takes.
_LOG_LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40}


class UsageError(Exception):
    """The command line asks for something the server refuses to do."""


@dataclass(frozen=True, slots=True)
class ServerOptions:
    host: str = "127.0.0.1"
    port: int = 0
    #: Listen on this Unix socket instead of host:port.
    unix: str | None = None
    #: Write one JSON line (port, pid) here once serving, then close it.
    ready_fd: int | None = None
    #: Exit when this fd reaches end of file: the host that started us is gone.
    lifeline_fd: int | None = None
    #: Also serve grpc.health.v1 alone, in plaintext, on this port (for probes that cannot do TLS).
    health_port: int | None = None
    tls_cert: bytes | None = None
    tls_key: bytes | None = None
    #: With it, clients must present a certificate signed by this CA (mutual TLS).
    tls_client_ca: bytes | None = None
    token: str | None = None
    insecure: bool = False
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    #: What calls run with: threads, eval, allowed modules, preload, handles, limits, sandbox, version guard.
    #: The stdio-only options (serializer, max_frame_bytes, host_timeout_ms) keep their defaults.
    calls: WorkerOptions = _CALL_DEFAULTS
    #: A cancelled sync call that has not stopped after this long makes the server exit (0: never).
    cancel_grace_ms: int = 0
    #: How long a pipelined call that names a promised handle not declared yet waits for the call that makes it
    #: (separate RPCs may arrive out of order), before it fails with HANDLE_INVALID (docs/protocol.md).
    pipeline_wait_ms: int = DEFAULT_PIPELINE_WAIT_MS
    shutdown_grace_ms: int = 5_000
    #: The level of the server's own messages (the ``snakebridge`` loggers); all of ``logging`` without --log-fd.
    log_level: str = "WARNING"
    #: Write ``logging`` records as JSON lines to this fd (a managed server's host reads them), at
    #: ``calls.log_records`` and above, instead of text on stderr.
    log_fd: int | None = None
    #: Said once at start: the server is exposed without TLS or a token (--insecure).
    exposure_warning: str | None = None

    @property
    def address(self) -> str:
        """What gRPC binds: ``host:port`` (IPv6 in brackets) or ``unix:path``."""
        if self.unix is not None:
            return f"unix:{self.unix}"
        host = self.host
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"{host}:{self.port}"

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach: 127.0.0.0/8, ::1, localhost."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_options(argv: list[str] | None = None, env: dict[str, str] | None = None) -> ServerOptions:
    """The options of ``python -m snakebridge.server``; raises UsageError for a refused combination."""
    env = dict(os.environ) if env is None else env
    args = _parser().parse_args(argv)
    token = args.token
    if token is None and args.token_file is not None:
        token = Path(args.token_file).read_text(encoding="utf-8").strip()
    if token is None:
        token = env.get(TOKEN_ENV) or None
    if (args.tls_cert is None) != (args.tls_key is None):
        raise UsageError("--tls-cert and --tls-key go together")
    if args.tls_client_ca is not None and args.tls_cert is None:
        raise UsageError("--tls-client-ca (mutual TLS) needs --tls-cert and --tls-key")
    if args.max_message_bytes <= 0:
        raise UsageError("--max-message-bytes must be positive")
    if args.log_records is not None and args.log_fd is None:
        raise UsageError("--log-records says which records go to --log-fd: give both")
    options = ServerOptions(
        host=args.host,
        port=args.port,
        unix=args.unix,
        ready_fd=args.ready_fd,
        lifeline_fd=args.lifeline_fd,
        health_port=args.health_port,
        tls_cert=_read(args.tls_cert),
        tls_key=_read(args.tls_key),
        tls_client_ca=_read(args.tls_client_ca),
        token=token,
        insecure=args.insecure,
        max_message_bytes=args.max_message_bytes,
        calls=_calls(args),
        cancel_grace_ms=args.cancel_grace_ms,
        pipeline_wait_ms=_pipeline_wait_ms(args, env),
        shutdown_grace_ms=args.shutdown_grace_ms,
        log_level=args.log_level,
        log_fd=args.log_fd,
    )
    return replace(options, exposure_warning=_check_exposure(options))


def _calls(args: argparse.Namespace) -> WorkerOptions:
    """The options calls run with, from the command line; what it leaves out keeps WorkerOptions' default."""
    if args.version_guard != "off" and args.lockfile is None:
        raise UsageError(f"--version-guard {args.version_guard} needs --lockfile")
    allowed_modules = tuple(args.allowed_module) if args.allowed_module is not None else None
    # Restricted mode turns eval off unless asked: eval would walk around the allowlist.
    allow_eval = args.allow_eval
    if allow_eval is None:
        allow_eval = _CALL_DEFAULTS.allow_eval and allowed_modules is None
    return WorkerOptions(
        allow_eval=allow_eval,
        allowed_modules=allowed_modules,
        allow_unsafe_modules=args.allow_unsafe_modules,
        sandbox=SandboxOptions(tuple(args.sandbox_writable), args.sandbox_network) if args.sandbox else None,
        threads=args.threads,
        max_handles_per_session=args.max_handles_per_session,
        handle_ttl_ms=args.handle_ttl_ms,
        preload=tuple(args.preload),
        limits=ResourceLimits(args.limit_address_space_bytes, args.limit_cpu_seconds),
        lockfile=args.lockfile,
        version_guard=args.version_guard,
        log_records=None if args.log_fd is None else _LOG_LEVELS[args.log_records or "INFO"],
    )


def _check_exposure(options: ServerOptions) -> str | None:
    """Anything beyond loopback needs TLS and a token, unless the operator says --insecure (then: a warning)."""
    if options.unix is not None or is_loopback(options.host):
        return None
    missing = [what for what, ok in (("TLS", options.tls), ("a token", options.token)) if not ok]
    if not missing:
        return None
    if not options.insecure:
        raise UsageError(
            f"refusing to listen on {options.host}, which other machines can reach, without {' and '.join(missing)}: "
            f"pass --tls-cert/--tls-key and --token (or {TOKEN_ENV}), or --insecure on a network you trust"
        )
    return (
        f"listening on {options.host} without {' and '.join(missing)} (--insecure): "
        "anyone who can reach this port can run code in this process"
    )


def _pipeline_wait_ms(args: argparse.Namespace, env: dict[str, str]) -> int:
    if args.pipeline_wait_ms is not None:
        return args.pipeline_wait_ms
    text = env.get(PIPELINE_WAIT_ENV)
    if not text:
        return DEFAULT_PIPELINE_WAIT_MS
    try:
        return _non_negative(text)
    except (ValueError, argparse.ArgumentTypeError):
        raise UsageError(f"{PIPELINE_WAIT_ENV} must be a number of milliseconds, 0 or more, not {text!r}") from None


def _read(path: str | None) -> bytes | None:
    return None if path is None else Path(path).read_bytes()


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m snakebridge.server",
        description="Serve SnakeBridge calls over gRPC (see bridge.proto and docs/deployment.md).",
    )
    where = parser.add_argument_group("where to listen")
    where.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    where.add_argument("--port", type=_non_negative, default=0, help="port; 0 picks a free one (default: 0)")
    where.add_argument("--unix", metavar="PATH", help="listen on a Unix socket instead of host:port")
    where.add_argument(
        "--ready-fd", type=int, metavar="N", help='write {"port", "pid"} as one line to fd N once serving'
    )
    where.add_argument("--lifeline-fd", type=int, metavar="N", help="exit when fd N reaches end of file")
    where.add_argument(
        "--health-port",
        type=_non_negative,
        metavar="PORT",
        help="also serve only grpc.health.v1, in plaintext, on this port (Kubernetes gRPC probes cannot do TLS)",
    )

    security = parser.add_argument_group("security")
    security.add_argument("--tls-cert", metavar="PEM", help="server certificate chain")
    security.add_argument("--tls-key", metavar="PEM", help="server private key")
    security.add_argument("--tls-client-ca", metavar="PEM", help="require client certificates signed by this CA")
    security.add_argument("--token", help=f"bearer token clients must send (prefer {TOKEN_ENV} or --token-file)")
    security.add_argument("--token-file", metavar="PATH", help="read the bearer token from this file")
    security.add_argument("--insecure", action="store_true", help="allow a non-loopback address without TLS or token")
    security.add_argument(
        "--allow-eval",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="eval/exec (default: on, off with --allowed-module)",
    )
    security.add_argument(
        "--allowed-module", action="append", metavar="MODULE", help="only these modules can be called (repeatable)"
    )
    security.add_argument(
        "--allow-unsafe-modules",
        action="store_true",
        help="let --allowed-module name modules that reach arbitrary objects or code (operator, os, …)",
    )
    security.add_argument("--sandbox", action="store_true", help="enter the OS sandbox once listening (Linux)")
    security.add_argument(
        "--sandbox-writable", action="append", default=[], metavar="PATH", help="writable in the sandbox (repeatable)"
    )
    security.add_argument("--sandbox-network", action="store_true", help="let the sandboxed server open sockets")

    calls = parser.add_argument_group("calls")
    calls.add_argument(
        "--threads",
        type=_non_negative,
        default=_CALL_DEFAULTS.threads,
        help="threads for sync calls; 0 runs them on the main thread (default: %(default)s)",
    )
    calls.add_argument("--preload", action="append", default=[], metavar="MODULE", help="import before serving")
    calls.add_argument("--max-message-bytes", type=int, default=DEFAULT_MAX_MESSAGE_BYTES)
    calls.add_argument(
        "--max-handles-per-session",
        type=_non_negative,
        default=_CALL_DEFAULTS.max_handles_per_session,
        help="(default: %(default)s)",
    )
    calls.add_argument(
        "--handle-ttl-ms",
        type=_non_negative,
        default=_CALL_DEFAULTS.handle_ttl_ms,
        help="0: never expire (default: %(default)s)",
    )
    calls.add_argument("--cancel-grace-ms", type=_non_negative, default=0, help="exit if a cancelled call runs on")
    calls.add_argument(
        "--pipeline-wait-ms",
        type=_non_negative,
        help=f"how long a pipelined call waits for the call that makes the result it uses to arrive "
        f"(default: {PIPELINE_WAIT_ENV}, else {DEFAULT_PIPELINE_WAIT_MS})",
    )
    calls.add_argument("--shutdown-grace-ms", type=_non_negative, default=5_000, help="on SIGTERM")
    calls.add_argument("--limit-address-space-bytes", type=int, metavar="BYTES", help="RLIMIT_AS")
    calls.add_argument("--limit-cpu-seconds", type=int, metavar="SECONDS", help="RLIMIT_CPU")
    calls.add_argument("--lockfile", metavar="PATH", help="the snakebridge.lock.json of typed bindings")
    calls.add_argument(
        "--version-guard",
        choices=VERSION_GUARD_MODES,
        default=_CALL_DEFAULTS.version_guard,
        help="at start, warn or refuse when installed packages differ from --lockfile (default: %(default)s)",
    )
    logs = parser.add_argument_group("logs")
    logs.add_argument(
        "--log-level",
        default="WARNING",
        type=str.upper,
        choices=list(_LOG_LEVELS),
        help="level of the server's own messages; of all logging without --log-fd (default: %(default)s)",
    )
    logs.add_argument(
        "--log-fd",
        type=int,
        metavar="N",
        help="write logging records to fd N as JSON lines, for the host that started this server, not to stderr",
    )
    logs.add_argument(
        "--log-records",
        type=str.upper,
        choices=list(_LOG_LEVELS),
        help="with --log-fd: the records written there, and the root logger's level (default: INFO)",
    )
    return parser
