"""The generated message and service modules of bridge.proto, compiled once at start.

``grpc.protos_and_services`` finds a .proto through ``sys.path``. An editable
install does not put the directory holding the ``snakebridge`` package on it,
so that directory is added for the duration of the compile.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from types import ModuleType

#: The .proto, relative to the directory that holds the snakebridge package.
PROTO_PATH = "snakebridge/server/bridge.proto"
#: Where the package lives: the include root for PROTO_PATH.
PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])

_lock = threading.Lock()
_modules: tuple[ModuleType, ModuleType] | None = None


def bridge_modules() -> tuple[ModuleType, ModuleType]:
    """``(messages, services)`` of the snakebridge.v1 package, as grpc_tools generates them."""
    global _modules
    with _lock:
        if _modules is None:
            import grpc

            added = PACKAGE_ROOT not in sys.path
            if added:
                sys.path.insert(0, PACKAGE_ROOT)
            try:
                _modules = grpc.protos_and_services(PROTO_PATH)
            finally:
                if added:
                    sys.path.remove(PACKAGE_ROOT)
        return _modules
