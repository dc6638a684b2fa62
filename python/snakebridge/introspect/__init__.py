"""``snakebridge.introspect``: describes Python modules in the format ``snakebridge types`` reads to generate
TypeScript declarations (vectors/introspect/README.md). ``snakebridge/__init__.py`` never imports it."""

from __future__ import annotations

import contextlib
import importlib
import platform
import sys
import time
import warnings
from collections.abc import Iterable
from typing import Any

from .annotations import Evaluator
from .budget import DEFAULT_BUDGET_MS, Budget, Clock
from .members import ModuleWalker
from .progress import Progress, ProgressCallback
from .sourcedocs import SourceDocs
from .stubs import StubIndex

__all__ = ["DEFAULT_BUDGET_MS", "FORMAT", "introspect_module", "introspect_modules"]

#: Version of the introspection format this package writes.
FORMAT = 1


class _Shared:
    """Caches one run shares across its modules: parsed stubs and sources, evaluated annotations."""

    def __init__(self) -> None:
        self.stubs = StubIndex()
        self.evaluator = Evaluator()
        self.sources = SourceDocs()


def introspect_modules(
    names: Iterable[str],
    *,
    budget_ms: int = DEFAULT_BUDGET_MS,
    progress: ProgressCallback | None = None,
    clock: Clock = time.monotonic,
) -> dict[str, Any]:
    """The introspection document for the modules, in the order given (a Module or ModuleError each)."""
    shared = _Shared()
    modules = [_introspect(name, budget_ms, progress, clock, shared) for name in names]
    return {"format": FORMAT, "python": python_info(), "modules": modules}


def introspect_module(
    name: str,
    *,
    budget_ms: int = DEFAULT_BUDGET_MS,
    progress: ProgressCallback | None = None,
    clock: Clock = time.monotonic,
) -> dict[str, Any]:
    """The Module object for one module (a ModuleError object when it fails to import)."""
    return _introspect(name, budget_ms, progress, clock, _Shared())


def python_info() -> dict[str, str]:
    """The document's ``python`` object: the interpreter that did the introspecting."""
    return {
        "version": platform.python_version(),
        "implementation": sys.implementation.name,
        "executable": sys.executable,
    }


def _introspect(
    name: str, budget_ms: int, progress: ProgressCallback | None, clock: Clock, shared: _Shared
) -> dict[str, Any]:
    budget = Budget(budget_ms, clock)
    # Modules print, and warn about their own deprecations: neither may reach the document's stream.
    with contextlib.redirect_stdout(sys.stderr), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            module = importlib.import_module(name)
        except (Exception, SystemExit) as error:
            return {
                "module": name,
                "error": {"type": type(error).__name__, "message": str(error)},
            }
        walker = ModuleWalker(
            module, name, budget, Progress(progress, clock, name), shared.stubs, shared.evaluator, shared.sources
        )
        return walker.walk()
