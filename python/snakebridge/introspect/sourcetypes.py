"""Annotations evaluated at run time and, where evaluating one fails, read from the source of the module that
wrote it instead, as a type checker reads it.

A module may name things in annotations that it imports only for type checkers (pandas: ``if TYPE_CHECKING:
from pandas._typing import FilePath``), so ``typing.get_type_hints`` raises NameError. The annotation's text is
then converted by the stub type reader in the module's names as a type checker sees them (``checking.py``: its
run-time names and its ``TYPE_CHECKING`` blocks; its whole ``.py`` when those do not bind every name used), so
names are followed through imports and re-exports as in stubs: ``FilePath`` becomes the alias
``pandas._typing.FilePath``, ``Series`` the class it is. Only what the source does not resolve either stays
``unknown``.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import dataclasses
import typing
from typing import Any

from . import model
from .annotations import Evaluator, RuntimeTypes, describe, error_text
from .context import Scope
from .model import Type
from .stubs import StubIndex, StubModule, dotted
from .stubtypes import StubTypes

_PARSE_FAILED = object()


@dataclasses.dataclass
class Evaluated:
    """An annotation's Type; ``value`` is what it evaluated to (None when read from the source instead),
    ``error`` why evaluating it failed when part of it is still unknown (None when all of it resolved),
    ``unresolved`` the texts the source did not resolve either, ``final`` whether it is ``Final[…]``."""

    type: Type
    value: object = None
    error: str | None = None
    unresolved: list[str] = dataclasses.field(default_factory=list)
    final: bool = False

    @property
    def warning(self) -> str | None:
        """What a warning about this annotation says in its parentheses; None when there is nothing to say."""
        return None if self.error is None else warning_text(self.error, self.unresolved)


def warning_text(error: str, unresolved: list[str]) -> str:
    """Why annotations stay partly unknown: the error evaluating them, and what their source did not resolve."""
    if not unresolved:
        return error
    return f"{error}; not found in its module's source either: {', '.join(unresolved)}"


class AnnotationReader:
    """Evaluates annotations for one module's context, reading the source when evaluation cannot."""

    def __init__(self, evaluator: Evaluator, runtime: RuntimeTypes, stubtypes: StubTypes, stubs: StubIndex) -> None:
        self.evaluator = evaluator
        self.runtime = runtime
        self.stubtypes = stubtypes
        self.stubs = stubs
        self._parsed: dict[str, Any] = {}

    def read(
        self,
        annotation: object,
        globalns: dict[str, Any],
        scope: Scope,
        *,
        param: bool = False,
        localns: dict[str, Any] | None = None,
    ) -> Evaluated:
        """The Type of ``annotation`` as written in the module whose namespace is ``globalns``."""
        try:
            value = self.evaluator.evaluate(annotation, globalns, localns)
        except Exception as error:
            return self._from_source(annotation, globalns, scope, param, error)
        placeholders = self._placeholders(annotation, globalns, localns)
        if placeholders:
            # A name bound to None at run time that stands for a type checker's name (pandas 2: ``if TYPE_CHECKING:
            # from typing import Self`` / ``else: Self: Any = None``) means what the source says it means.
            read = self._from_source(annotation, globalns, scope, param, NameError(f"{placeholders[0]} is None"))
            if read.error is None:
                return read
        return Evaluated(self.runtime.convert(value, scope, param=param), value, final=_is_final(value))

    def _placeholders(self, annotation: object, globalns: dict[str, Any], localns: dict[str, Any] | None) -> list[str]:
        """The names an annotation text uses that are bound to None at run time (``None`` itself aside)."""
        expr = self._parse(annotation)
        if expr is None:
            return []
        found = []
        for name in names_in(expr):
            namespaces = (localns or {}, globalns, vars(builtins))
            value = next((namespace[name] for namespace in namespaces if name in namespace), _PARSE_FAILED)
            if name != "None" and value is None and name not in found:
                found.append(name)
        return found

    def _from_source(
        self, annotation: object, globalns: dict[str, Any], scope: Scope, param: bool, error: Exception
    ) -> Evaluated:
        # Whatever the error (a name imported only for type checkers, a module attribute defined only for them,
        # a class that its stub makes generic but that cannot be subscripted at run time), reading the text as
        # a type checker does is what is left; a text that does not parse stays unknown.
        failed = Evaluated(model.unknown_type(describe(annotation)), error=error_text(error))
        expr = self._parse(annotation)
        try:
            module = self._module(globalns.get("__name__"), expr) if expr is not None else None
            if expr is None or module is None:
                return failed
            converted = self.stubtypes.convert(expr, module, scope, param=param)
        except Exception:  # reading the source must not cost the member more than this annotation
            return failed
        unresolved = unknown_texts(converted)
        final = (dotted(expr.value if isinstance(expr, ast.Subscript) else expr) or [""])[-1] == "Final"
        return Evaluated(converted, None, error_text(error) if unresolved else None, unresolved, final)

    def _module(self, name: object, expr: ast.expr) -> StubModule | None:
        """Where the annotation's names are looked up: the module's run-time names and ``TYPE_CHECKING`` blocks
        (``checking.py``) when they bind every name it uses, else its whole source, parsed for this (a
        module-level alias, a block nested deeper, a block that cannot be cut out on its own)."""
        if not isinstance(name, str):
            return None
        view = self.stubs.checking_module(name)
        if view is not None and view.error is None and all(self._binds(view, used) for used in names_in(expr)):
            return view
        whole = self.stubs.source_module(name)
        if whole is not None and whole.error is None:
            return whole
        return view if view is not None and view.error is None else None

    def _binds(self, module: StubModule, name: str) -> bool:
        found = self.stubs.lookup(module, name)
        if found is None:
            return hasattr(builtins, name)
        return found.definition.kind != "unresolved"

    def _parse(self, annotation: object) -> ast.expr | None:
        """The expression an annotation string (or forward reference) holds; parsed once per text."""
        text = annotation.__forward_arg__ if isinstance(annotation, typing.ForwardRef) else annotation
        if not isinstance(text, str):
            return None
        if text not in self._parsed:
            try:
                self._parsed[text] = ast.parse(text.strip(), mode="eval").body
            except (SyntaxError, ValueError):
                self._parsed[text] = _PARSE_FAILED
        parsed = self._parsed[text]
        return None if parsed is _PARSE_FAILED else parsed


def names_in(expr: ast.expr) -> list[str]:
    """The names an annotation uses (in forward references too), not the strings of a ``Literal``."""
    names: list[str] = []
    pending: list[ast.AST] = [expr]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Name):
            names.append(node.id)
        elif isinstance(node, ast.Subscript) and (dotted(node.value) or [""])[-1] == "Literal":
            pending.append(node.value)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            with contextlib.suppress(SyntaxError, ValueError):
                pending.append(ast.parse(node.value.strip(), mode="eval").body)
        else:
            pending.extend(ast.iter_child_nodes(node))
    return names


def unknown_texts(type_: object) -> list[str]:
    """The texts of the ``unknown`` parts of a Type, each once, in order."""
    found: list[str] = []
    pending = [type_]
    while pending:
        current = pending.pop(0)
        if isinstance(current, dict):
            if current.get("kind") == "unknown" and current.get("text") not in found:
                found.append(current.get("text"))
            pending.extend(current.values())
        elif isinstance(current, list):
            pending.extend(current)
    return found


def _is_final(value: object) -> bool:
    final = getattr(typing, "Final", None)
    return value is final or typing.get_origin(value) is final
