"""Functions the fork server's tests call in forked workers."""

from __future__ import annotations

import contextlib
import os


def descriptor_links() -> list[str]:
    """What each open file descriptor of this process is (``pipe:[inode]``, ``socket:[inode]``, a path)."""
    links = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(FileNotFoundError):  # the listing's own descriptor is gone by now
            links.append(os.readlink(f"/proc/self/fd/{fd}"))
    return links
