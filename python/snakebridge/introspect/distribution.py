"""Which installed distribution provides a module (``importlib.metadata``); None for the standard library."""

from __future__ import annotations

import functools
import importlib.metadata
import inspect
import sys
from typing import Any


@functools.lru_cache(maxsize=1)
def _owners() -> dict[str, list[str]]:
    # Reads every installed distribution's metadata once per process: a few tens of milliseconds. Not
    # importlib.metadata.packages_distributions(): on Python 3.10 it reads only top_level.txt, which wheels
    # built without setuptools (numpy's, scikit-learn's) do not have, and how it infers names differs by version.
    owners: dict[str, list[str]] = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        for top in _declared(dist) or _inferred(dist):
            owners.setdefault(top, []).append(name)
    return owners


def _declared(dist: importlib.metadata.Distribution) -> list[str]:
    return (dist.read_text("top_level.txt") or "").split()


def _inferred(dist: importlib.metadata.Distribution) -> set[str]:
    """The importable top-level names of a distribution's installed files: packages, modules, extension modules."""
    names = set()
    for file in dist.files or []:
        name = file.parts[0] if len(file.parts) > 1 else inspect.getmodulename(str(file))
        if name and "." not in name:
            names.add(name)
    return names


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
