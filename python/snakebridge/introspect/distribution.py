"""Which installed distribution provides a module (``importlib.metadata``); None for the standard library."""

from __future__ import annotations

import functools
import importlib.metadata
import sys
from typing import Any


@functools.lru_cache(maxsize=1)
def _owners() -> dict[str, list[str]]:
    # Reads every installed distribution's metadata once per process: a few tens of milliseconds.
    return importlib.metadata.packages_distributions()


def distribution_of(module_name: str) -> dict[str, Any] | None:
    """``{"name", "version"}`` of the distribution that owns the module's top-level package, or None."""
    top = module_name.split(".")[0]
    if top in sys.stdlib_module_names:
        return None
    names = sorted(set(_owners().get(top, [])))
    for name in names:
        try:
            return {"name": name, "version": importlib.metadata.version(name)}
        except importlib.metadata.PackageNotFoundError:
            continue
    return None
