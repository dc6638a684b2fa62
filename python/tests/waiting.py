"""Waiting for something another thread or process does, for tests that cannot know when it happens."""

from __future__ import annotations

import time
from collections.abc import Callable


def eventually(condition: Callable[[], object], timeout: float = 5.0) -> bool:
    """Whether ``condition()`` became true within ``timeout`` seconds, polling every 10 ms.

    Returns instead of raising so that callers ``assert`` it, which names the condition in the failure.
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True
