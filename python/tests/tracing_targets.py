"""Functions the tracing tests call in a worker: what the worker process has imported."""

from __future__ import annotations

import sys


def opentelemetry_imported() -> bool:
    """Whether anything of opentelemetry is loaded in this process."""
    return any(name == "opentelemetry" or name.startswith("opentelemetry.") for name in sys.modules)
