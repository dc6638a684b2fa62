"""What ``snakebridge doctor`` needs to know about this interpreter, as one JSON object on stdout.

Run as ``python -m snakebridge.doctor --json [DISTRIBUTION ...]`` with the
runtime on PYTHONPATH, the way workers run. It reports the interpreter and its
environment, this runtime's version (and a pip-installed ``snakebridge``, if
any), the packages each serializer needs, the installed versions of those and
of the distributions named on the command line, and the platform features the
pool relies on. It only reads metadata: it never imports an optional package
(msgpack, pyarrow, numpy, grpc…), so a broken one cannot break the report.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
from importlib import metadata
from typing import Any

from . import PROTOCOL_VERSION, __version__
from .serializers import REGISTRY

#: Version of this report's shape; the host checks it.
FORMAT = 1
#: The directory this runtime was imported from (the one the host put on PYTHONPATH).
RUNTIME_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def report(distributions: list[str], check_fd: int | None = None) -> dict[str, Any]:
    """Everything the doctor reports, as a JSON-ready dict."""
    return {
        "format": FORMAT,
        "executable": sys.executable,
        "version": platform.python_version(),
        "version_info": list(sys.version_info[:3]),
        "implementation": platform.python_implementation(),
        "prefix": sys.prefix,
        "base_prefix": sys.base_prefix,
        "venv": environment(),
        "platform": {"system": sys.platform, "machine": platform.machine(), "release": platform.release()},
        "runtime": {"version": __version__, "protocol": PROTOCOL_VERSION, "path": RUNTIME_ROOT},
        "installed_snakebridge": installed_snakebridge(RUNTIME_ROOT),
        "serializers": {name: list(packages) for name, (_module, _cls, packages) in REGISTRY.items()},
        "distributions": {
            name: installed_version(name) for name in dict.fromkeys([*serializer_packages(), *distributions])
        },
        "features": {
            "extra_fds": extra_fds(check_fd),
            "parent_death_signal": parent_death_signal(),
            "rlimits": rlimits(),
            "sandbox": sandbox(),
        },
    }


def serializer_packages() -> list[str]:
    """Every package some serializer needs: the host learns what its serializer needs from ``serializers``."""
    return [package for _module, _cls, packages in REGISTRY.values() for package in packages]


def environment() -> dict[str, Any]:
    """The virtual or conda environment this interpreter runs in, and whether it is the activated one."""
    prefix = sys.prefix
    conda = os.path.isdir(os.path.join(prefix, "conda-meta"))
    if not conda and prefix == sys.base_prefix:
        return {"kind": None, "path": None, "activated": False}
    activated = any(
        value and os.path.realpath(value) == os.path.realpath(prefix)
        for value in (os.environ.get("VIRTUAL_ENV"), os.environ.get("CONDA_PREFIX"))
    )
    return {"kind": "conda" if conda else "venv", "path": prefix, "activated": activated}


def installed_version(name: str) -> str | None:
    """The installed version of a distribution, or None; from its metadata, without importing it."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
    except Exception:  # broken metadata: report it as missing rather than fail the whole report
        return None


def installed_snakebridge(runtime_root: str) -> dict[str, str] | None:
    """A ``snakebridge`` distribution installed in this interpreter (pip), not the runtime the host put on the path.

    It is what ``python -m snakebridge.server`` runs where no host sets PYTHONPATH.
    """
    own = os.path.realpath(runtime_root)
    paths = [entry for entry in sys.path if os.path.realpath(entry or ".") != own]
    for distribution in metadata.distributions(name="snakebridge", path=paths):
        return {"version": distribution.version, "location": str(distribution.locate_file(""))}
    return None


def extra_fds(fd: int | None) -> dict[str, Any]:
    """Whether file descriptor ``fd``, which the host opened as a pipe, arrived (the stdio frame channel needs 3-5)."""
    if fd is None:
        return {"ok": None, "detail": "not checked (run with --check-fd N and a pipe at fd N)"}
    try:
        os.fstat(fd)
    except OSError as exc:
        return {"ok": False, "detail": f"fd {fd} did not reach the process: {exc.strerror}"}
    return {"ok": True, "detail": f"fd {fd} reached the process"}


def parent_death_signal() -> dict[str, Any]:
    """Whether Linux's PR_SET_PDEATHSIG is usable, as the worker uses it (ctypes, prctl); read-only here."""
    if not sys.platform.startswith("linux"):
        return {"ok": False, "detail": f"Linux only; this is {sys.platform}"}
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        current = ctypes.c_int(0)
        pr_get_pdeathsig = 2
        if libc.prctl(pr_get_pdeathsig, ctypes.byref(current), 0, 0, 0) != 0:
            return {"ok": False, "detail": f"prctl failed: {os.strerror(ctypes.get_errno())}"}
    except (OSError, AttributeError, ImportError) as exc:
        return {"ok": False, "detail": f"prctl is not reachable through ctypes: {exc}"}
    return {"ok": True, "detail": "prctl(PR_SET_PDEATHSIG) is available"}


def sandbox() -> dict[str, Any]:
    """Whether the OS sandbox (security.sandbox) can be entered here: Landlock and its ABI version."""
    from .sandbox import landlock_abi

    abi = landlock_abi()
    if abi < 1:
        return {"ok": False, "detail": f"no Landlock on {sys.platform} {platform.release()}", "abi": 0}
    network = "with TCP rules" if abi >= 4 else "without TCP rules (seccomp still refuses sockets)"
    return {"ok": True, "detail": f"Landlock ABI {abi}, {network}", "abi": abi}


def rlimits() -> dict[str, Any]:
    """Whether the resource module offers the limits pool.limits sets (RLIMIT_AS, RLIMIT_CPU)."""
    try:
        import resource
    except ImportError:
        return {"ok": False, "as": False, "cpu": False, "detail": "no resource module on this platform"}
    found = {}
    for key, name in (("as", "RLIMIT_AS"), ("cpu", "RLIMIT_CPU")):
        limit = getattr(resource, name, None)
        try:
            found[key] = limit is not None and resource.getrlimit(limit) is not None
        except (OSError, ValueError):
            found[key] = False
    missing = [name for key, name in (("as", "RLIMIT_AS"), ("cpu", "RLIMIT_CPU")) if not found[key]]
    detail = "RLIMIT_AS and RLIMIT_CPU are available" if not missing else f"{' and '.join(missing)} missing"
    return {"ok": not missing, **found, "detail": detail}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m snakebridge.doctor", description="What snakebridge doctor needs to know about this interpreter."
    )
    parser.add_argument("--json", action="store_true", help="one line of JSON (default: indented)")
    parser.add_argument("--check-fd", type=int, metavar="N", help="check that the pipe the host opened at fd N arrived")
    parser.add_argument("distributions", nargs="*", metavar="DISTRIBUTION", help="report their installed versions")
    args = parser.parse_args(argv)
    # Anything printed while gathering (a noisy .pth file, a sitecustomize) goes to stderr: stdout is the report.
    with contextlib.redirect_stdout(sys.stderr):
        result = report(args.distributions, args.check_fd)
    sys.stdout.write(json.dumps(result, indent=None if args.json else 2) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
