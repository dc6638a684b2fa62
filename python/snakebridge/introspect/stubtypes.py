"""Annotations written in stubs (ast expressions) turned into Type JSON, with the aliases and type variables
they name; a name that cannot be resolved is ``unknown`` with the name as text."""

from __future__ import annotations

import ast
import builtins
import sys
import typing
from typing import Any

from . import model
from .annotations import RuntimeTypes, qualified_name
from .context import ClassRef, ModuleContext, Scope
from .kinds import SHAPE_KINDS, class_kind, is_class
from .model import Type
from .stubs import Def, Found, StubClass, StubIndex, StubModule, dotted

_MAX_DEPTH = 40
_UNION_FORMS = {"Union"}
_TRANSPARENT_FORMS = {"Annotated", "Required", "NotRequired", "ReadOnly", "Final", "ClassVar"}
_BOOLEAN_FORMS = {"TypeGuard", "TypeIs"}
_ANY_FORMS = {"Any", "TypeAlias", "Final", "ClassVar", "Unpack", "Incomplete"}
_NEVER_FORMS = {"NoReturn", "Never"}
_STRING_FORMS = {"LiteralString", "Text"}


class StubTypes:
    """Converts stub annotations for one module's context (``classes`` answers about stub classes)."""

    def __init__(self, ctx: ModuleContext, stubs: StubIndex, runtime: RuntimeTypes) -> None:
        self.ctx = ctx
        self.stubs = stubs
        self.runtime = runtime
        self._depth = 0
        from .stubclasses import StubClasses  # it imports this module, so not at the top

        self.classes = StubClasses(stubs, self)

    # ----- annotations

    def convert(self, expr: ast.expr | None, module: StubModule, scope: Scope, *, param: bool = False) -> Type:
        """The Type an annotation written in ``module`` means."""
        if expr is None:
            return model.any_type()
        if self._depth > _MAX_DEPTH:
            return model.unknown_type(text(expr))
        self._depth += 1
        try:
            return self._convert(expr, module, scope, param)
        finally:
            self._depth -= 1

    def _convert(self, expr: ast.expr, module: StubModule, scope: Scope, param: bool) -> Type:
        if isinstance(expr, ast.Constant):
            return self._constant(expr, module, scope)
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.BitOr):
            return model.union_type([self.convert(expr.left, module, scope), self.convert(expr.right, module, scope)])
        if isinstance(expr, ast.Subscript):
            args = list(expr.slice.elts) if isinstance(expr.slice, ast.Tuple) else [expr.slice]
            return self._apply(expr.value, args, module, scope, expr)
        if isinstance(expr, ast.Attribute) and expr.attr in ("args", "kwargs") and self._is_param_spec(expr, module):
            return model.any_type()  # ``*args: P.args``
        if isinstance(expr, (ast.Name, ast.Attribute)):
            return self._apply(expr, None, module, scope, expr, param=param)
        return model.unknown_type(text(expr))

    def _is_param_spec(self, expr: ast.Attribute, module: StubModule) -> bool:
        found = self.stubs.resolve_expr(module, expr.value)
        return found is not None and found.definition.kind == "typevar" and found.definition.attr == "ParamSpec"

    def _constant(self, expr: ast.Constant, module: StubModule, scope: Scope) -> Type:
        if expr.value is None:
            return model.none_type()
        if expr.value is Ellipsis:
            return model.any_type()
        if isinstance(expr.value, str):  # a forward reference
            try:
                parsed = ast.parse(expr.value.strip(), mode="eval").body
            except SyntaxError:
                return model.unknown_type(expr.value)
            return self.convert(parsed, module, scope)
        return model.unknown_type(text(expr))

    def _apply(
        self,
        head: ast.expr,
        args: list[ast.expr] | None,
        module: StubModule,
        scope: Scope,
        whole: ast.expr,
        *,
        param: bool = False,
    ) -> Type:
        """``head[args]`` (``args`` None when the name stands alone)."""
        found = self.stubs.resolve_expr(module, head)
        if found is None:
            return self._builtin(head, args, module, scope, whole, param)
        definition = found.definition
        if definition.kind == "special":
            return self._special(definition.module or "", definition.attr or "", args, module, scope, whole, param)
        if definition.kind == "class":
            return self._stub_class(found, self._args(args, module, scope))
        if definition.kind == "alias":
            return self._alias(found, self._args(args, module, scope))
        if definition.kind == "typevar":
            return self._typevar(found, scope)
        if definition.kind == "newtype" and found.module is not None:
            return self.convert(definition.expr, found.module, scope, param=param)
        if definition.kind == "runtime":
            return self._runtime(definition.value, args, module, scope, param)
        return model.unknown_type(text(whole))

    def _args(self, args: list[ast.expr] | None, module: StubModule, scope: Scope) -> list[Type]:
        return [self.convert(arg, module, scope) for arg in args or []]

    def _builtin(
        self,
        head: ast.expr,
        args: list[ast.expr] | None,
        module: StubModule,
        scope: Scope,
        whole: ast.expr,
        param: bool,
    ) -> Type:
        parts = dotted(head)
        if parts and len(parts) == 1 and hasattr(builtins, parts[0]):
            return self._special("builtins", parts[0], args, module, scope, whole, param)
        return model.unknown_type(text(whole))

    def _runtime(
        self, value: object, args: list[ast.expr] | None, module: StubModule, scope: Scope, param: bool
    ) -> Type:
        if is_class(value):
            if value is object:
                return model.any_type() if param else model.class_type("builtins.object")
            return self.runtime.class_reference(value, self._args(args, module, scope))
        converted = self.runtime.convert(value, scope, param=param)
        if args and converted["kind"] == "alias":
            converted["args"] = self._args(args, module, scope)
        return converted

    def _special(
        self,
        source: str,
        name: str,
        args: list[ast.expr] | None,
        module: StubModule,
        scope: Scope,
        whole: ast.expr,
        param: bool,
    ) -> Type:
        """A name from typing, typing_extensions, collections.abc or builtins, applied to ``args``."""
        form = self._form(name, args, module, scope, param)
        if form is not None:
            return form
        value = special_value(source, name)
        if value is None:
            return model.unknown_type(text(whole))
        origin = typing.get_origin(value)
        if is_class(value) or is_class(origin):
            cls = value if is_class(value) else origin
            if cls is tuple:
                return self._tuple(args, module, scope)
            if cls is type and args:
                return model.type_of(self.convert(args[0], module, scope))
            if cls is object:
                return model.any_type() if param else model.class_type("builtins.object")
            if cls is type(None):
                return model.none_type()
            return self.runtime.class_reference(cls, self._args(args, module, scope))
        return self._runtime(value, args, module, scope, param)

    def _form(
        self, name: str, args: list[ast.expr] | None, module: StubModule, scope: Scope, param: bool
    ) -> Type | None:
        """The typing forms that take their meaning from their arguments; None for any other name."""
        if name in _TRANSPARENT_FORMS and args:
            return self.convert(args[0], module, scope, param=param)
        if name in _ANY_FORMS:
            return model.any_type()
        if name in _NEVER_FORMS:
            return {"kind": "never"}
        if name in _STRING_FORMS:
            return model.class_type("builtins.str")
        if name == "Self":
            return scope.self_type or model.any_type()
        if name in _UNION_FORMS:
            return model.union_type(self._args(args, module, scope))
        if name == "Optional" and args:
            return model.union_type([self.convert(args[0], module, scope), model.none_type()])
        if name == "Literal" and args:
            return self._literal(args, module)
        if name == "Callable":
            return self._callable(args, module, scope)
        if name in _BOOLEAN_FORMS:
            return model.class_type("builtins.bool")
        if name == "Type" and args:
            return model.type_of(self.convert(args[0], module, scope))
        if name == "Tuple":
            return self._tuple(args, module, scope)
        return None

    def _literal(self, args: list[ast.expr], module: StubModule) -> Type:
        values: list[Any] = []
        for arg in args:
            if isinstance(arg, ast.Subscript) and (dotted(arg.value) or [""])[-1] == "Literal":
                inner = self._literal(list(arg.slice.elts) if isinstance(arg.slice, ast.Tuple) else [arg.slice], module)
                if inner["kind"] != "literal":
                    return model.unknown_type(", ".join(text(arg) for arg in args))
                values.extend(inner["values"])
                continue
            aliased = self._literal_alias(arg, module)
            if aliased is not None:  # ``Literal[_DayUnit, _MonthUnit]``, each an alias of a Literal
                if aliased["kind"] != "literal":
                    return model.unknown_type(f"Literal[{', '.join(text(arg) for arg in args)}]")
                values.extend(aliased["values"])
                continue
            try:
                value = ast.literal_eval(arg)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                return model.unknown_type(f"Literal[{', '.join(text(arg) for arg in args)}]")
            if type(value) not in (str, int, bool, type(None)):
                return model.unknown_type(f"Literal[{', '.join(text(arg) for arg in args)}]")
            values.append(value)
        return model.literal_type(values)

    def _literal_alias(self, arg: ast.expr, module: StubModule) -> Type | None:
        """The Literal an alias named inside ``Literal[...]`` stands for; None when ``arg`` names no alias."""
        if not isinstance(arg, (ast.Name, ast.Attribute)):
            return None
        found = self.stubs.resolve_expr(module, arg)
        if found is None or found.module is None or found.definition.kind != "alias" or self._depth > _MAX_DEPTH:
            return None
        value = found.definition.expr
        if isinstance(value, ast.Subscript) and (dotted(value.value) or [""])[-1] == "Literal":
            inner = list(value.slice.elts) if isinstance(value.slice, ast.Tuple) else [value.slice]
            self._depth += 1
            try:
                return self._literal(inner, found.module)
            finally:
                self._depth -= 1
        return model.unknown_type(text(arg))

    def _callable(self, args: list[ast.expr] | None, module: StubModule, scope: Scope) -> Type:
        if not args or len(args) != 2:
            return model.callable_type(None, model.any_type())
        params, returns = args
        converted = None
        if isinstance(params, ast.List):
            converted = [self.convert(param, module, scope) for param in params.elts]
        return model.callable_type(converted, self.convert(returns, module, scope))

    def _tuple(self, args: list[ast.expr] | None, module: StubModule, scope: Scope) -> Type:
        if args is None:
            return model.class_type("builtins.tuple")
        if len(args) == 2 and isinstance(args[1], ast.Constant) and args[1].value is Ellipsis:
            return model.class_type("builtins.tuple", [self.convert(args[0], module, scope)])
        if len(args) == 1 and isinstance(args[0], ast.Tuple) and not args[0].elts:
            return model.tuple_type([])
        if any(isinstance(arg, ast.Starred) for arg in args):
            # ``tuple[int, *tuple[int, ...]]`` has no fixed length: a tuple of (the union of) its items.
            items = [_unstarred(arg) for arg in args]
            return model.class_type("builtins.tuple", [model.union_type(self._args(items, module, scope))])
        return model.tuple_type(self._args(args, module, scope))

    def _stub_class(self, found: Found, args: list[Type]) -> Type:
        stub_class = found.definition.cls
        assert stub_class is not None
        live = live_class(stub_class)
        if live is not None:
            name = qualified_name(live)
            kind = safe_kind(live)
        else:
            name = f"{stub_class.module.name}.{stub_class.qualname}"
            kind = self.classes.kind(stub_class)
        if kind in SHAPE_KINDS:
            self.ctx.reference_class(ClassRef(name, stub_class.name, runtime=live, stub=stub_class))
        return model.class_type(name, args)

    def _alias(self, found: Found, args: list[Type]) -> Type:
        name = found.name
        module = found.module
        definition = found.definition
        if module is not None:
            self.ctx.define_alias(name, lambda: self.alias_entry(name, definition, module))
        return model.alias_type(name, args)

    def alias_entry(self, name: str, definition: Def, module: StubModule) -> dict[str, Any]:
        """An alias's definition: its type, and the type variables it is generic over, in order of first use."""
        declared = [param.name for param in definition.type_params if type(param).__name__ == "TypeVar"]
        scope = Scope()
        for declared_name in declared:
            scope.use_typevar(declared_name, lambda declared_name=declared_name: plain_typevar(declared_name))
        converted = self.convert(definition.expr, module, scope)
        return {"name": name, "type_params": scope.type_params(), "type": converted}

    def _typevar(self, found: Found, scope: Scope) -> Type:
        definition = found.definition
        if definition.attr == "ParamSpec":
            return model.callable_type(None, model.any_type())
        if definition.attr == "TypeVarTuple":
            return model.any_type()
        name = found.name.rpartition(".")[2]
        module = found.module
        scope.use_typevar(name, lambda: self.typevar_def(name, definition, module))
        return model.typevar_type(name)

    def typevar_def(self, name: str, definition: Def, module: StubModule | None) -> dict[str, Any]:
        call = definition.node
        if module is None or not isinstance(call, ast.Call):
            return plain_typevar(name)
        scratch = Scope()
        bound = next((keyword.value for keyword in call.keywords if keyword.arg == "bound"), None)
        constraints = [self.convert(arg, module, scratch) for arg in call.args[1:]]
        return model.typevar_def(name, None if bound is None else self.convert(bound, module, scratch), constraints)


def unwrap_qualifiers(annotation: ast.expr | None) -> ast.expr | None:
    """``Final[X]``, ``ClassVar[X]``, ``Annotated[X, …]`` as ``X``."""
    while isinstance(annotation, ast.Subscript) and (dotted(annotation.value) or [""])[-1] in _TRANSPARENT_FORMS:
        inner = annotation.slice
        annotation = inner.elts[0] if isinstance(inner, ast.Tuple) and inner.elts else inner
    return annotation


def plain_typevar(name: str) -> dict[str, Any]:
    return model.typevar_def(name, None, [])


def special_value(source: str, name: str) -> object | None:
    """The live object a typing-family name stands for (typing_extensions' when typing lacks it)."""
    modules = {
        "typing": ("typing", "typing_extensions"),
        "typing_extensions": ("typing_extensions", "typing"),
        "collections.abc": ("collections.abc", "typing"),
        "_collections_abc": ("collections.abc", "typing"),
        "builtins": ("builtins",),
    }.get(source, (source,))
    for module_name in modules:
        module = sys.modules.get(module_name)
        if module is None and module_name == "typing_extensions":
            continue
        value = getattr(module, name, None)
        if value is not None:
            return value
    return None


def _unstarred(arg: ast.expr) -> ast.expr:
    """``*tuple[X, ...]`` as ``X``; any other argument as itself."""
    if not isinstance(arg, ast.Starred):
        return arg
    inner = arg.value
    if isinstance(inner, ast.Subscript) and isinstance(inner.slice, ast.Tuple) and inner.slice.elts:
        return inner.slice.elts[0]
    return inner


def live_class(stub_class: StubClass) -> type | None:
    """The class a stub class describes, if its module is loaded (never imported for this)."""
    module = sys.modules.get(stub_class.module.name)
    value: Any = module
    for part in stub_class.qualname.split("."):
        value = getattr(value, "__dict__", {}).get(part)
        if value is None:
            return None
    return value if is_class(value) else None


def safe_kind(cls: type) -> str:
    try:
        return class_kind(cls)
    except Exception:
        return "class"


def callee(decorator: ast.expr) -> ast.expr:
    return decorator.func if isinstance(decorator, ast.Call) else decorator


def text(expr: ast.AST) -> str:
    try:
        return ast.unparse(expr)
    except Exception:
        return "..."
