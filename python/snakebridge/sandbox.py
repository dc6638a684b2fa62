"""The OS sandbox a worker or server enters at start (``security.sandbox``; docs/security.md).

Linux only, unprivileged, and nothing to install: the kernel's Landlock makes
the file system read-only except the listed paths and (without ``network``)
forbids TCP bind and connect; a seccomp filter refuses to create any socket
but a Unix one, and io_uring, which could create sockets around it; no new
privileges can be gained (setuid binaries stop working), and where the
kernel can (Landlock ABI 6) the process can no longer signal processes
outside the sandbox, the host included.

Both restrict the calling thread and every thread and process it starts
afterwards. The stdio worker enters before it starts any thread, so the whole
worker is inside; a gRPC server enters in the thread that runs calls and in
each thread of its call pool (see server/main.py), while gRPC's own I/O
threads, which run no user code, stay outside so it can keep serving.

The restrictions cannot be lifted by the process once entered. A kernel
without Landlock makes ``enter_sandbox`` raise rather than run unsandboxed.
"""

from __future__ import annotations

import ctypes
import os
import platform
import struct
import sys
from collections.abc import Sequence

from .errors import SnakeBridgeError

# Landlock (linux/landlock.h). The syscall numbers are the same on every architecture.
_SYS_LANDLOCK_CREATE_RULESET = 444
_SYS_LANDLOCK_ADD_RULE = 445
_SYS_LANDLOCK_RESTRICT_SELF = 446
_LANDLOCK_CREATE_RULESET_VERSION = 1
_LANDLOCK_RULE_PATH_BENEATH = 1

_FS_EXECUTE = 1 << 0
_FS_WRITE_FILE = 1 << 1
_FS_READ_FILE = 1 << 2
_FS_READ_DIR = 1 << 3
_FS_REMOVE_DIR = 1 << 4
_FS_REMOVE_FILE = 1 << 5
_FS_MAKE_CHAR = 1 << 6
_FS_MAKE_DIR = 1 << 7
_FS_MAKE_REG = 1 << 8
_FS_MAKE_SOCK = 1 << 9
_FS_MAKE_FIFO = 1 << 10
_FS_MAKE_BLOCK = 1 << 11
_FS_MAKE_SYM = 1 << 12
_FS_REFER = 1 << 13  # ABI 2
_FS_TRUNCATE = 1 << 14  # ABI 3

#: Every way of changing the file system, by the Landlock ABI that can restrict it. Reading and executing
#: are not restricted: the sandbox makes the file system read-only, it does not hide it.
_FS_WRITES_BY_ABI = {
    1: _FS_WRITE_FILE
    | _FS_REMOVE_DIR
    | _FS_REMOVE_FILE
    | _FS_MAKE_CHAR
    | _FS_MAKE_DIR
    | _FS_MAKE_REG
    | _FS_MAKE_SOCK
    | _FS_MAKE_FIFO
    | _FS_MAKE_BLOCK
    | _FS_MAKE_SYM,
    2: _FS_REFER,
    3: _FS_TRUNCATE,
}
#: The rights a file (not a directory) can be given in a rule: a directory's other rights do not apply to it.
_FS_FILE_RIGHTS = _FS_EXECUTE | _FS_WRITE_FILE | _FS_READ_FILE | _FS_TRUNCATE

_NET_BIND_TCP = 1 << 0  # ABI 4
_NET_CONNECT_TCP = 1 << 1
_SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
_SCOPE_SIGNAL = 1 << 1

#: Files everyone may write even in a read-only world: writing to them changes nothing.
_ALWAYS_WRITABLE = ("/dev/null", "/dev/zero", "/dev/full")

# prctl and seccomp (linux/prctl.h, linux/seccomp.h, linux/filter.h).
_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2
_SECCOMP_RET_ALLOW = 0x7FFF0000
_SECCOMP_RET_ERRNO = 0x00050000
_SECCOMP_RET_KILL_PROCESS = 0x80000000
_BPF_LD_W_ABS = 0x20
_BPF_JEQ_K = 0x15
_BPF_JGE_K = 0x35
_BPF_RET_K = 0x06
_AF_UNIX = 1
_EACCES = 13
_X32_SYSCALL_BIT = 0x40000000

#: (audit arch, socket syscall, io_uring_setup syscall) of the architectures the filter knows.
_ARCHITECTURES = {
    "x86_64": (0xC000003E, 41, 425),
    "aarch64": (0xC00000B7, 198, 425),
}


class SandboxUnavailable(SnakeBridgeError):
    """The sandbox was asked for, but this system cannot provide it."""

    code = "WORKER_START_FAILED"


def enter_sandbox(writable_paths: Sequence[str], *, network: bool) -> None:
    """Puts the calling thread, and all it starts from now on, in the sandbox. There is no way out.

    Args:
        writable_paths: directories (and what is below them) or files that may be changed.
        network: let sockets other than Unix ones be created, and TCP bind and connect.

    Raises:
        SandboxUnavailable: not Linux, a kernel without Landlock, or a path that does not exist.
    """
    if not sys.platform.startswith("linux"):
        raise SandboxUnavailable(f"the sandbox needs Linux (Landlock and seccomp); this is {sys.platform}")
    libc = ctypes.CDLL(None, use_errno=True)
    _no_new_privileges(libc)
    _restrict_with_landlock(libc, writable_paths, network=network)
    if not network:
        _refuse_sockets(libc)


def landlock_abi() -> int:
    """The Landlock ABI version the kernel offers; 0 when it has none (or it is disabled)."""
    if not sys.platform.startswith("linux"):
        return 0
    libc = ctypes.CDLL(None, use_errno=True)
    version = libc.syscall(_SYS_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), _LANDLOCK_CREATE_RULESET_VERSION)
    return max(version, 0)


def _no_new_privileges(libc: ctypes.CDLL) -> None:
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise SandboxUnavailable(f"prctl(PR_SET_NO_NEW_PRIVS) failed: {os.strerror(ctypes.get_errno())}")


def _restrict_with_landlock(libc: ctypes.CDLL, writable_paths: Sequence[str], *, network: bool) -> None:
    abi = landlock_abi()
    if abi < 1:
        raise SandboxUnavailable(
            "the kernel has no Landlock (Linux 5.13+, with landlock in the lsm= boot list): "
            "the sandbox cannot make the file system read-only, so the worker does not start"
        )
    writes = 0
    for version, rights in _FS_WRITES_BY_ABI.items():
        if abi >= version:
            writes |= rights
    net = _NET_BIND_TCP | _NET_CONNECT_TCP if abi >= 4 and not network else 0
    scoped = (_SCOPE_SIGNAL | (0 if network else _SCOPE_ABSTRACT_UNIX_SOCKET)) if abi >= 6 else 0
    attr = struct.pack("=QQQ", writes, net, scoped)
    size = 24 if abi >= 6 else 16
    buffer = ctypes.create_string_buffer(attr[:size], size)
    ruleset = libc.syscall(_SYS_LANDLOCK_CREATE_RULESET, buffer, ctypes.c_size_t(size), 0)
    if ruleset < 0:
        raise SandboxUnavailable(f"landlock_create_ruleset failed: {os.strerror(ctypes.get_errno())}")
    try:
        for path in [*writable_paths, *_ALWAYS_WRITABLE]:
            _allow_writes_beneath(libc, ruleset, path, writes, required=path not in _ALWAYS_WRITABLE)
        if libc.syscall(_SYS_LANDLOCK_RESTRICT_SELF, ruleset, 0) != 0:
            raise SandboxUnavailable(f"landlock_restrict_self failed: {os.strerror(ctypes.get_errno())}")
    finally:
        os.close(ruleset)


def _allow_writes_beneath(libc: ctypes.CDLL, ruleset: int, path: str, writes: int, *, required: bool) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError as exc:
        if not required:
            return
        raise SandboxUnavailable(f"security.sandbox.writablePaths: cannot open {path!r}: {exc.strerror}") from None
    try:
        rights = writes if os.path.isdir(path) else writes & _FS_FILE_RIGHTS
        # struct landlock_path_beneath_attr is packed: a u64 then an s32.
        rule = ctypes.create_string_buffer(struct.pack("=Qi", rights, fd), 12)
        if libc.syscall(_SYS_LANDLOCK_ADD_RULE, ruleset, _LANDLOCK_RULE_PATH_BENEATH, rule, 0) != 0:
            raise SandboxUnavailable(f"landlock_add_rule({path!r}) failed: {os.strerror(ctypes.get_errno())}")
    finally:
        os.close(fd)


def _refuse_sockets(libc: ctypes.CDLL) -> None:
    """A seccomp filter: socket() only for AF_UNIX, no io_uring (it can create sockets without socket())."""
    machine = platform.machine()
    if machine not in _ARCHITECTURES:
        raise SandboxUnavailable(f"the sandbox's socket filter does not know the {machine} architecture")
    arch, socket_nr, io_uring_nr = _ARCHITECTURES[machine]
    refuse = _SECCOMP_RET_ERRNO | _EACCES
    program = [
        (_BPF_LD_W_ABS, 0, 0, 4),  # seccomp_data.arch
        (_BPF_JEQ_K, 1, 0, arch),
        (_BPF_RET_K, 0, 0, _SECCOMP_RET_KILL_PROCESS),  # another ABI (e.g. 32-bit calls): refuse outright
        (_BPF_LD_W_ABS, 0, 0, 0),  # seccomp_data.nr
        (_BPF_JGE_K, 0, 1, _X32_SYSCALL_BIT),
        (_BPF_RET_K, 0, 0, refuse),  # x32 calls, which would have other numbers
        (_BPF_JEQ_K, 0, 1, io_uring_nr),
        (_BPF_RET_K, 0, 0, refuse),
        (_BPF_JEQ_K, 1, 0, socket_nr),
        (_BPF_RET_K, 0, 0, _SECCOMP_RET_ALLOW),
        (_BPF_LD_W_ABS, 0, 0, 16),  # seccomp_data.args[0], low half: the address family
        (_BPF_JEQ_K, 0, 1, _AF_UNIX),
        (_BPF_RET_K, 0, 0, _SECCOMP_RET_ALLOW),
        (_BPF_RET_K, 0, 0, refuse),
    ]
    filters = (ctypes.c_uint64 * len(program))(
        *(struct.unpack("=Q", struct.pack("=HBBI", code, jt, jf, k))[0] for code, jt, jf, k in program)
    )

    class _SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = _SockFprog(len(program), ctypes.cast(filters, ctypes.c_void_p))
    if libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        raise SandboxUnavailable(f"installing the seccomp filter failed: {os.strerror(ctypes.get_errno())}")
