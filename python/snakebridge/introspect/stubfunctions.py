"""Functions as stubs define them (``def``s, their overloads) turned into the format's Signatures."""

from __future__ import annotations

import ast
import typing
from typing import Any

from . import model
from .annotations import qualified_name
from .context import Scope
from .docstrings import ParsedDoc
from .kinds import is_class
from .stubs import Def, StubIndex, StubModule
from .stubtypes import StubTypes, plain_typevar, special_value, text

_GENERATORS = {"collections.abc.Generator", "collections.abc.Iterator"}
_ASYNC_GENERATORS = {"collections.abc.AsyncGenerator", "collections.abc.AsyncIterator"}


class StubFunctions:
    """Builds Signatures from stub ``def``s for one module's context."""

    def __init__(self, stubs: StubIndex, types: StubTypes) -> None:
        self.stubs = stubs
        self.types = types

    def signatures(
        self, definition: Def, module: StubModule, class_scope: Scope, docs: ParsedDoc, *, drop_first: bool
    ) -> list[dict[str, Any]]:
        """One Signature per overload of a stub function."""
        return [self._signature(node, module, class_scope, docs, drop_first) for node in definition.nodes]

    def _signature(
        self,
        node: ast.FunctionDef | ast.AsyncFunctionDef,
        module: StubModule,
        class_scope: Scope,
        docs: ParsedDoc,
        drop_first: bool,
    ) -> dict[str, Any]:
        scope = class_scope.for_members()
        for param in getattr(node, "type_params", []) or []:
            if type(param).__name__ == "TypeVar":
                scope.use_typevar(param.name, lambda name=param.name: plain_typevar(name))
        params = [
            self._param(arg, kind, default, module, scope, docs) for arg, kind, default in _parameters(node, drop_first)
        ]
        returns = self.types.convert(node.returns, module, scope) if node.returns is not None else None
        return model.signature(params, returns, returns_doc(docs), scope.type_params())

    def _param(
        self, arg: ast.arg, kind: str, default: ast.expr | None, module: StubModule, scope: Scope, docs: ParsedDoc
    ) -> dict[str, Any]:
        variadic = kind in ("var_positional", "var_keyword")
        if arg.annotation is not None:
            type_ = self.types.convert(arg.annotation, module, scope, param=True)
        else:
            type_ = model.any_type() if variadic else None
        item = docs.params.get(arg.arg) or docs.params.get(arg.arg.lstrip("_"))
        default_text = None if default is None or variadic else text(default)[:80]
        return model.param(arg.arg, kind, type_, default_text, item.doc if item else None)

    def function_kind(self, definition: Def, module: StubModule) -> str:
        """``async`` for ``async def``; a generator kind when a stub says it returns a (async) iterator."""
        node = definition.nodes[0]
        if isinstance(node, ast.AsyncFunctionDef):
            return "async"
        if node.returns is None:
            return "function"
        found = self.stubs.resolve_expr(
            module, node.returns.value if isinstance(node.returns, ast.Subscript) else node.returns
        )
        if found is None or found.definition.kind != "special":
            return "function"
        value = special_value(found.definition.module or "", found.definition.attr or "")
        origin = typing.get_origin(value) or value
        name = qualified_name(origin) if is_class(origin) else ""
        if name in _GENERATORS:
            return "generator"
        return "async_generator" if name in _ASYNC_GENERATORS else "function"


def _parameters(node: ast.FunctionDef | ast.AsyncFunctionDef, drop_first: bool) -> list[tuple[ast.arg, str, Any]]:
    """(arg, kind, default node) for each parameter, ``self``/``cls`` left out when ``drop_first``."""
    arguments = node.args
    positional = [*arguments.posonlyargs, *arguments.args]
    defaults = [None] * (len(positional) - len(arguments.defaults)) + list(arguments.defaults)
    kinds = ["positional_only"] * len(arguments.posonlyargs) + ["positional_or_keyword"] * len(arguments.args)
    if not arguments.posonlyargs:
        # The older convention for positional-only parameters in stubs: a name with two leading underscores.
        for index, arg in enumerate(positional):
            if arg.arg.startswith("__") and not arg.arg.endswith("__"):
                kinds[index] = "positional_only"
            elif not (drop_first and index == 0):
                break
    result = list(zip(positional, kinds, defaults, strict=True))
    if drop_first and result:
        result = result[1:]
    if arguments.vararg is not None:
        result.append((arguments.vararg, "var_positional", None))
    result += [
        (arg, "keyword_only", default) for arg, default in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True)
    ]
    if arguments.kwarg is not None:
        result.append((arguments.kwarg, "var_keyword", None))
    return result


def returns_doc(docs: ParsedDoc) -> str | None:
    """The descriptions of what a function returns (or yields), as one text."""
    items = docs.returns or docs.yields
    texts = [item.doc for item in items if item.doc]
    return "\n\n".join(texts) or None
