"""Serializers: the same ids and wire format as the TypeScript packages.

``get_serializer`` imports a serializer's module only when it is asked for, so
a worker using JSON never needs msgpack, pyarrow or protobuf installed, and a
worker missing one names the package to install.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping
from typing import Any

from ..errors import SnakeBridgeError
from .base import CallbackRef, FromCallback, FromHandle, HandleWire, Serializer, ToHandle

#: serializer id -> (module, class, pip packages it needs)
REGISTRY: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "json": ("snakebridge.serializers.json", "JsonSerializer", ()),
    "msgpack": ("snakebridge.serializers.msgpack", "MsgpackSerializer", ("msgpack",)),
    "arrow": ("snakebridge.serializers.arrow", "ArrowSerializer", ("pyarrow", "msgpack")),
    "protobuf": ("snakebridge.serializers.protobuf", "ProtobufSerializer", ("protobuf",)),
}


class SerializerUnavailable(SnakeBridgeError):
    """The serializer is unknown, or a package it needs is not installed."""

    code = "WORKER_START_FAILED"


def get_serializer(serializer_id: str, options: Mapping[str, Any] | None = None) -> Serializer:
    """The serializer with this id, configured with the host's options."""
    if serializer_id not in REGISTRY:
        raise SerializerUnavailable(f"unknown serializer {serializer_id!r}; known: {', '.join(REGISTRY)}")
    module_name, class_name, packages = REGISTRY[serializer_id]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and exc.name.split(".")[0] in {p.split("[")[0] for p in _import_names(packages)}:
            # Name the interpreter: the one the worker runs is often not the one on the user's PATH.
            raise SerializerUnavailable(
                f"the {serializer_id} serializer needs the Python package {exc.name.split('.')[0]}, "
                f"which is not installed in {sys.executable}: {sys.executable} -m pip install "
                f"{' '.join(repr(p) if '[' in p or '>' in p else p for p in packages)} "
                f"(or the extra: 'snakebridge[{serializer_id}]')"
            ) from exc
        raise
    cls = getattr(module, class_name)
    return cls(**(options or {}))


def _import_names(packages: tuple[str, ...]) -> set[str]:
    """Import names of pip packages (protobuf is imported as google)."""
    return {"google" if p == "protobuf" else p for p in packages}


__all__ = [
    "REGISTRY",
    "CallbackRef",
    "FromCallback",
    "FromHandle",
    "HandleWire",
    "Serializer",
    "SerializerUnavailable",
    "ToHandle",
    "get_serializer",
]
