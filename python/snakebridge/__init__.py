"""SnakeBridge: the Python side of the bridge that lets TypeScript call Python.

A host (the ``@snakebridge/*`` npm packages) starts worker processes running
``python -m snakebridge``; each worker answers calls by dotted name, keeps
objects that cannot travel by value as handles, and streams generators.
A JavaScript function passed in a call's arguments arrives as a
``HostCallback``, which calls it in the host.
"""

from __future__ import annotations

__version__ = "0.1.0"

#: Version of the wire protocol (docs/protocol.md); host and worker must agree. 2: pipelining (promised handles).
PROTOCOL_VERSION = 2

TYPE_CHECKING = False  # not typing's: importing typing would double the cost of importing snakebridge
if TYPE_CHECKING:
    from .calls.callbacks import HostCallback
    from .errors import HostCallbackError

__all__ = ["PROTOCOL_VERSION", "HostCallback", "HostCallbackError", "__version__"]

#: Imported on first use, so that ``import snakebridge`` stays cheap (PEP 562).
_LAZY = {"HostCallback": "snakebridge.calls.callbacks", "HostCallbackError": "snakebridge.errors"}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'snakebridge' has no attribute {name!r}")
