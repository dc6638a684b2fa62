"""Functions the gRPC server tests call, beside snakebridge.testing.contract."""

from __future__ import annotations

import time

from snakebridge.testing.contract import _state


def spin(tag: str) -> None:
    """Pure Python that never ends by itself: only an interrupt stops it. Records how it ended."""
    _state[f"{tag}:started"] = True
    try:
        while True:
            time.sleep(0.005)
    except BaseException as exc:
        _state[tag] = type(exc).__name__
        raise


def big(size: int) -> str:
    return "x" * size
