"""Finds a module's stub (.pyi) and reads it with ``ast`` (never importing it) for the running interpreter,
following names through imports and re-exports into other stubs, or into the ``.py`` of a module without one."""

from __future__ import annotations

import ast
import dataclasses
import gc
import importlib.util
import operator
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from .kinds import is_class

#: Modules whose names are handled as typing constructs, never by reading their stubs.
SPECIAL_MODULES = frozenset({"typing", "typing_extensions", "collections.abc", "_collections_abc", "builtins"})
_TYPEVAR_MAKERS = {"TypeVar", "ParamSpec", "TypeVarTuple"}
_COMPARE = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}


@dataclasses.dataclass
class Def:
    """What a name is bound to in a stub.

    ``kind`` is one of: function (``nodes``: its overloads, or the one definition), class (``cls``),
    alias (``expr``, ``type_params``), typevar (``node``: the call), newtype (``expr``: the supertype),
    variable (``annotation``, ``expr``: its value), ref (``expr``: ``X = Y``), property (``nodes``, ``setter``),
    import (``module``, ``attr``), module (``module``), runtime (``value``), special (``module``, ``attr``).
    """

    kind: str
    nodes: list[Any] = dataclasses.field(default_factory=list)
    cls: StubClass | None = None
    expr: ast.expr | None = None
    annotation: ast.expr | None = None
    node: Any = None
    type_params: list[Any] = dataclasses.field(default_factory=list)
    module: str | None = None
    attr: str | None = None
    value: Any = None
    setter: bool = False
    overloaded: bool = False
    binding: str = "instance"


@dataclasses.dataclass
class StubModule:
    """A stub (or source) file read with ast: its names, after evaluating version and platform branches."""

    name: str
    path: Path
    origin: str  # "inline", "stub-package", "typeshed" or "source"
    is_package: bool
    defs: dict[str, Def] = dataclasses.field(default_factory=dict)
    stars: list[str] = dataclasses.field(default_factory=list)
    error: str | None = None

    @property
    def package(self) -> str:
        return self.name if self.is_package else self.name.rpartition(".")[0]


@dataclasses.dataclass
class StubClass:
    """A class of a stub: its body's names, and where it is defined."""

    module: StubModule
    qualname: str
    node: ast.ClassDef
    defs: dict[str, Def] = dataclasses.field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.node.name


@dataclasses.dataclass
class Found:
    """The result of following a name: the module whose stub binds it (None outside any stub), and the binding."""

    module: StubModule | None
    name: str  # qualified: where the name is bound
    definition: Def


class StubIndex:
    """Finds, parses (once) and follows stubs for every module of one run."""

    def __init__(self) -> None:
        self._modules: dict[tuple[str, bool], StubModule | None] = {}
        self._views: dict[str, StubModule | None] = {}
        self._lookups: dict[tuple[str, str], Found | None] = {}
        self._typeshed = _typeshed_dir()

    @property
    def has_typeshed(self) -> bool:
        return self._typeshed is not None

    def module_stub(self, name: str) -> StubModule | None:
        """The ``.pyi`` of a module: a ``<pkg>-stubs`` package, one beside the module, or typeshed's."""
        return self._load(name, source=False)

    def typed_module(self, name: str) -> StubModule | None:
        """The module's ``.pyi``, else its ``.py`` source (a typed package's own code), read the same way."""
        return self._load(name, source=False) or self._load(name, source=True)

    def _load(self, name: str, source: bool) -> StubModule | None:
        key = (name, source)
        if key not in self._modules:
            self._modules[key] = None  # a module that imports itself stops here
            located = self._locate_source(name) if source else self._locate(name)
            self._modules[key] = _parse(name, *located) if located else None
        return self._modules[key]

    def _locate(self, name: str) -> tuple[Path, str, bool] | None:
        top, *rest = name.split(".")
        for root in _stub_package_roots(top):
            found = _file_in(root, rest, ".pyi")
            if found:
                return found[0], "stub-package", found[1]
        for path, is_package in _runtime_candidates(name, ".pyi"):
            if path.is_file():
                return path, "inline", is_package
        if self._typeshed is not None and (top in sys.stdlib_module_names or top == "_typeshed"):
            found = _file_in(self._typeshed, [top, *rest], ".pyi")
            if found:
                return found[0], "typeshed", found[1]
        return None

    def _locate_source(self, name: str) -> tuple[Path, str, bool] | None:
        if name.split(".")[0] in sys.stdlib_module_names and self._typeshed is not None:
            return None  # typeshed speaks for the standard library
        for path, is_package in _runtime_candidates(name, ".py"):
            if path.is_file():
                return path, "source", is_package
        return None

    def source_module(self, name: str) -> StubModule | None:
        """A module's ``.py`` source read as a stub (to find ``@overload``s where typing cannot list them)."""
        return self._load(name, source=True)

    def checking_module(self, name: str) -> StubModule | None:
        """A loaded module's names as a type checker sees them (``checking.checking_view``), made once."""
        if name not in self._views:
            from .checking import checking_view  # it imports this module, so not at the top

            module = sys.modules.get(name)
            self._views[name] = checking_view(module) if module is not None else None
        return self._views[name]

    def lookup(self, module: StubModule, name: str, seen: frozenset[tuple[str, str]] = frozenset()) -> Found | None:
        """Follows ``name`` from ``module`` through imports, re-exports and star imports to what binds it."""
        if not seen:
            cache_key = (f"{module.origin}:{module.name}", name)
            if cache_key not in self._lookups:
                self._lookups[cache_key] = self._lookup(module, name, seen)
            return self._lookups[cache_key]
        return self._lookup(module, name, seen)

    def _lookup(self, module: StubModule, name: str, seen: frozenset[tuple[str, str]]) -> Found | None:
        key = (module.name, name)
        if key in seen or len(seen) > 30:
            return None
        seen = seen | {key}
        definition = module.defs.get(name)
        if definition is None:
            return self._lookup_elsewhere(module, name, seen)
        if definition.kind == "import":
            if definition.attr is None:
                return Found(None, definition.module or name, Def("module", module=definition.module))
            return self.resolve_import(definition.module or "", definition.attr, seen)
        if definition.kind == "ref":
            return self.resolve_expr(module, definition.expr, seen) or Found(
                module, f"{module.name}.{name}", definition
            )
        return Found(module, f"{module.name}.{name}", definition)

    def _lookup_elsewhere(self, module: StubModule, name: str, seen: frozenset[tuple[str, str]]) -> Found | None:
        for star in module.stars:
            target = self.typed_module(star)
            found = self.lookup(target, name, seen) if target else None
            if found:
                return found
        if module.is_package:
            submodule = f"{module.name}.{name}"
            if self.typed_module(submodule) is not None or submodule in sys.modules:
                return Found(None, submodule, Def("module", module=submodule))
        return None

    def resolve_import(self, module_name: str, attr: str, seen: frozenset[tuple[str, str]] = frozenset()) -> Found:
        """What ``from module_name import attr`` binds: from a stub, the module's source, or the live module."""
        qualified = f"{module_name}.{attr}"
        if module_name in SPECIAL_MODULES:
            return Found(None, qualified, Def("special", module=module_name, attr=attr))
        live = _live_class(module_name, attr)
        if live is not None and self.module_stub(module_name) is None:
            # A class that a loaded module without a stub binds under its own name is that class: reading the
            # module's source (pandas' frame.py is 700 kB) would only find the class it already is.
            return Found(None, qualified, runtime_def(live))
        # A module without a stub is read from its source: its imports may lead on into stubs.
        typed = self.typed_module(module_name)
        found = self.lookup(typed, attr, seen) if typed else None
        if found:
            return found
        if qualified in sys.modules or self.typed_module(qualified) is not None:
            return Found(None, qualified, Def("module", module=qualified))
        value = getattr(sys.modules.get(module_name), "__dict__", {}).get(attr, _MISSING)
        if value is not _MISSING:
            return Found(None, qualified, Def("runtime", value=value))
        return Found(None, qualified, Def("unresolved"))

    def resolve_expr(self, module: StubModule, expr: ast.expr | None, seen: frozenset = frozenset()) -> Found | None:
        """What a dotted name (``np.ndarray``, ``_T``, ``Outer.Inner``) written in ``module`` refers to."""
        parts = dotted(expr) if expr is not None else None
        if not parts:
            return None
        found = self.lookup(module, parts[0], seen)
        if found is None:
            return None
        for part in parts[1:]:
            found = self._attribute(found, part, seen)
            if found is None:
                return None
        return found

    def _attribute(self, found: Found, part: str, seen: frozenset) -> Found | None:
        definition = found.definition
        if definition.kind == "module" and definition.module:
            if definition.module in SPECIAL_MODULES:
                return Found(None, f"{definition.module}.{part}", Def("special", module=definition.module, attr=part))
            return self.resolve_import(definition.module, part, seen)
        if definition.kind == "class" and definition.cls is not None:
            inner = definition.cls.defs.get(part)
            return Found(found.module, f"{found.name}.{part}", inner) if inner else None
        if definition.kind == "runtime":
            value = getattr(definition.value, part, _MISSING)
            return None if value is _MISSING else Found(None, f"{found.name}.{part}", Def("runtime", value=value))
        return None

    def lookup_qualname(self, module: StubModule, qualname: str) -> Found | None:
        """A (possibly nested) name like ``Outer.method`` in a stub."""
        head, *rest = qualname.split(".")
        found = self.lookup(module, head)
        for part in rest:
            if found is None:
                return None
            found = self._attribute(found, part, frozenset())
        return found


_MISSING = object()


def _live_class(module_name: str, attr: str) -> type | None:
    """The class a loaded module binds to ``attr`` under the class's own name (so not an alias such as
    ``AxisInt = int``, which must stay an alias), if it binds one; never imports."""
    value = getattr(sys.modules.get(module_name), "__dict__", {}).get(attr)
    return value if is_class(value) and getattr(value, "__name__", None) == attr else None


def runtime_def(value: object) -> Def:
    """What a value bound at run time is, in the terms a stub uses: a module, a typing-family name (so that
    ``Callable[[int], str]`` is a callable and ``Literal[…]`` a literal, as when read from a source), or a value."""
    if isinstance(value, ModuleType):
        return Def("module", module=value.__name__)
    source = getattr(value, "__module__", None)
    name = getattr(value, "__name__", None) or getattr(value, "_name", None)
    # The name itself (``typing.Union``), not something made of it (``Union[int, str]`` is in typing too).
    if source in SPECIAL_MODULES and isinstance(name, str) and getattr(sys.modules.get(source), name, None) is value:
        return Def("special", module=source, attr=name)
    return Def("runtime", value=value)


def dotted(expr: ast.expr) -> list[str] | None:
    """``a.b.c`` as ``["a", "b", "c"]``; None for anything that is not a dotted name."""
    parts = []
    while isinstance(expr, ast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    if not isinstance(expr, ast.Name):
        return None
    parts.append(expr.id)
    return parts[::-1]


def _typeshed_dir() -> Path | None:
    """typeshed's bundled stdlib stubs, located without importing typeshed_client."""
    try:
        spec = importlib.util.find_spec("typeshed_client")
    except (ImportError, ValueError):
        return None
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / "typeshed"
        if candidate.is_dir():
            return candidate
    return None


def _stub_package_roots(top: str) -> list[Path]:
    roots = []
    for entry in sys.path:
        candidate = Path(entry or ".") / f"{top}-stubs"
        if candidate.is_dir():
            roots.append(candidate)
    return roots


def _file_in(root: Path, parts: list[str], suffix: str) -> tuple[Path, bool] | None:
    base = root.joinpath(*parts) if parts else root
    if (base / f"__init__{suffix}").is_file():
        return base / f"__init__{suffix}", True
    if parts and base.with_name(base.name + suffix).is_file():
        return base.with_name(base.name + suffix), False
    return None


def _runtime_candidates(name: str, suffix: str) -> list[tuple[Path, bool]]:
    """Where a module's ``.pyi``/``.py`` would be: beside the loaded module, else found without importing it."""
    module = sys.modules.get(name)
    file = getattr(module, "__file__", None)
    if file:
        path = Path(file)
        if path.name.startswith("__init__."):
            return [(path.with_name(f"__init__{suffix}"), True)]
        return [(path.with_name(name.rpartition(".")[2] + suffix), False)]
    parent, _, last = name.rpartition(".")
    dirs = _package_dirs(parent) if parent else [Path(entry or ".") for entry in sys.path]
    candidates = []
    for directory in dirs:
        candidates.append((directory / last / f"__init__{suffix}", True))
        candidates.append((directory / f"{last}{suffix}", False))
    return candidates


def _package_dirs(name: str) -> list[Path]:
    module = sys.modules.get(name)
    paths = getattr(module, "__path__", None)
    if paths is None:
        if "." in name:
            parent, _, last = name.rpartition(".")
            return [directory / last for directory in _package_dirs(parent) if (directory / last).is_dir()]
        try:
            spec = importlib.util.find_spec(name)  # a top-level name: finding it imports nothing
        except (ImportError, ValueError):
            return []
        paths = (spec.submodule_search_locations if spec else None) or []
    return [Path(path) for path in paths]


def _parse(name: str, path: Path, origin: str, is_package: bool) -> StubModule:
    module = StubModule(name, path, origin, is_package)
    try:
        tree = _parse_file(path)
    except (SyntaxError, OSError, UnicodeDecodeError, ValueError) as error:
        module.error = f"{type(error).__name__}: {error}"
        return module
    read_statements(module, tree.body)
    return module


def read_statements(module: StubModule, body: list[ast.stmt]) -> None:
    """Adds what the statements bind (read as a stub's are) to ``module``'s names."""
    _Collector(module).collect(body, module.defs, "")


def _parse_file(path: Path) -> ast.Module:
    """A file's ast. The cyclic garbage collector is paused meanwhile: parsing allocates many objects, none of
    them garbage, and collections it would trigger walk the whole heap of the libraries imported (pandas
    alone makes that several times slower than the parse itself)."""
    text = path.read_text(encoding="utf-8")
    collecting = gc.isenabled()
    gc.disable()
    try:
        return ast.parse(text, filename=str(path))
    finally:
        if collecting:
            gc.enable()


class _Collector:
    """Walks a stub's statements, keeping the branches that hold for the running interpreter."""

    def __init__(self, module: StubModule) -> None:
        self.module = module

    def collect(self, body: list[ast.stmt], defs: dict[str, Def], prefix: str) -> None:
        for statement in body:
            self._statement(statement, defs, prefix)

    def _statement(self, node: ast.stmt, defs: dict[str, Def], prefix: str) -> None:
        if isinstance(node, ast.If):
            holds = condition(node.test)
            if holds is not False:
                self.collect(node.body, defs, prefix)
            if holds is not True:
                self.collect(node.orelse, defs, prefix)
        elif isinstance(node, ast.Try):
            self.collect([*node.body, *node.orelse, *node.finalbody], defs, prefix)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            _add_function(defs, node)
        elif isinstance(node, ast.ClassDef):
            stub_class = StubClass(self.module, f"{prefix}{node.name}", node)
            self.collect(node.body, stub_class.defs, f"{stub_class.qualname}.")
            defs[node.name] = Def("class", cls=stub_class)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            self._assignment(node, defs)
        elif type(node).__name__ == "TypeAlias":  # ``type X = ...`` (Python 3.12+ syntax)
            defs[node.name.id] = Def("alias", expr=node.value, type_params=list(node.type_params))
        elif isinstance(node, (ast.Import, ast.ImportFrom)) and not prefix:
            self._import(node, defs)

    def _assignment(self, node: ast.Assign | ast.AnnAssign, defs: dict[str, Def]) -> None:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        names = [target.id for target in targets if isinstance(target, ast.Name)]
        if not names:
            return
        definition = _assignment_def(node)
        for name in names:
            if definition.kind == "variable" and name in defs and defs[name].kind == "variable":
                definition.annotation = definition.annotation or defs[name].annotation
            defs[name] = definition

    def _import(self, node: ast.Import | ast.ImportFrom, defs: dict[str, Def]) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    defs[alias.asname] = Def("import", module=alias.name)
                else:
                    top = alias.name.split(".")[0]
                    defs[top] = Def("import", module=top)
            return
        source = _absolute(self.module, node.module, node.level)
        for alias in node.names:
            if alias.name == "*":
                self.module.stars.append(source)
            else:
                defs[alias.asname or alias.name] = Def("import", module=source, attr=alias.name)


def _absolute(module: StubModule, name: str | None, level: int) -> str:
    if level == 0:
        return name or ""
    package = module.package.split(".")
    base = package[: len(package) - (level - 1)] if level > 1 else package
    return ".".join([*base, name] if name else base)


def _assignment_def(node: ast.Assign | ast.AnnAssign) -> Def:
    annotation = node.annotation if isinstance(node, ast.AnnAssign) else None
    value = node.value
    if annotation is not None and (dotted(annotation) or [""])[-1] == "TypeAlias" and value is not None:
        return Def("alias", expr=value)
    if isinstance(value, ast.Call):
        maker = (dotted(value.func) or [""])[-1]
        if maker in _TYPEVAR_MAKERS:
            return Def("typevar", node=value, attr=maker)
        if maker == "NewType" and len(value.args) >= 2:
            return Def("newtype", expr=value.args[1])
    if annotation is None and isinstance(value, (ast.Subscript, ast.BinOp)):
        return Def("alias", expr=value)
    if annotation is None and isinstance(value, (ast.Name, ast.Attribute)):
        return Def("ref", expr=value)
    return Def("variable", annotation=annotation, expr=value)


def _add_function(defs: dict[str, Def], node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
    decorators = [(dotted(_callee(decorator)) or [""]) for decorator in node.decorator_list]
    names = {parts[-1] for parts in decorators}
    existing = defs.get(node.name)
    if any(len(parts) == 2 and parts[1] in ("setter", "deleter") for parts in decorators):
        if existing is not None and existing.kind == "property":
            existing.setter = existing.setter or any(parts[-1] == "setter" for parts in decorators)
        return
    if names & {"property", "cached_property"}:
        defs[node.name] = Def("property", nodes=[node], setter=False)
        return
    overload = "overload" in names
    if existing is not None and existing.kind == "function" and existing.overloaded:
        if overload:
            existing.nodes.append(node)
        return  # the implementation after its overloads (in a .py source) adds nothing
    binding = "static" if "staticmethod" in names else "class" if "classmethod" in names else "instance"
    defs[node.name] = Def("function", nodes=[node], overloaded=overload, binding=binding)


def _callee(decorator: ast.expr) -> ast.expr:
    return decorator.func if isinstance(decorator, ast.Call) else decorator


def condition(test: ast.expr) -> bool | None:
    """The value of a stub's ``if`` test for this interpreter, or None when it cannot be told."""
    if isinstance(test, ast.BoolOp):
        values = [condition(value) for value in test.values]
        if isinstance(test.op, ast.And):
            return False if False in values else None if None in values else True
        return True if True in values else None if None in values else False
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        value = condition(test.operand)
        return None if value is None else not value
    if (dotted(test) or [""])[-1] == "TYPE_CHECKING":
        return True
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        return _compare(test.left, test.ops[0], test.comparators[0])
    if isinstance(test, ast.Call) and dotted(test.func) == ["sys", "platform", "startswith"] and test.args:
        prefix = _constant(test.args[0])
        return sys.platform.startswith(prefix) if isinstance(prefix, (str, tuple)) else None
    return None


def _compare(left: ast.expr, op: ast.cmpop, right: ast.expr) -> bool | None:
    subject = _system_value(left)
    other = _constant(right)
    if subject is None or other is None:
        return None
    if isinstance(op, (ast.In, ast.NotIn)):
        inside = subject in other if isinstance(other, (tuple, list, set, str)) else None
        return None if inside is None else inside == isinstance(op, ast.In)
    compare = _COMPARE.get(type(op))
    if compare is None:
        return None
    try:
        return bool(compare(subject, other))
    except TypeError:
        return None


def _system_value(node: ast.expr) -> Any:
    """``sys.version_info`` (sliced or indexed as written) or ``sys.platform``; None for anything else."""
    if dotted(node) == ["sys", "platform"]:
        return sys.platform
    if dotted(node) == ["sys", "version_info"]:
        return tuple(sys.version_info)
    if isinstance(node, ast.Subscript) and dotted(node.value) == ["sys", "version_info"]:
        index = node.slice
        if isinstance(index, ast.Slice):
            lower, upper = _constant(index.lower) if index.lower else None, _constant(index.upper)
            return tuple(sys.version_info)[lower:upper] if isinstance(upper, int) else None
        position = _constant(index)
        return sys.version_info[position] if isinstance(position, int) else None
    return None


def _constant(node: ast.expr | None) -> Any:
    if node is None:
        return None
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
