"""SnakeBridge: the Python side of the bridge that lets TypeScript call Python.

A host (the ``@snakebridge/*`` npm packages) starts worker processes running
``python -m snakebridge``; each worker answers calls by dotted name, keeps
objects that cannot travel by value as handles, and streams generators.
"""

__version__ = "0.1.0"

#: Version of the wire protocol (docs/protocol.md); host and worker must agree.
PROTOCOL_VERSION = 1
