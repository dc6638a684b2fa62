"""What a module's source says that its objects do not: ``#:`` comments documenting attributes, and how
each top-level name was bound (assigned or imported), read with ``ast`` once per file."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path
from types import ModuleType

_MAX_SOURCE = 2_000_000  # bytes: a module bigger than this is generated data, not documented code


@dataclasses.dataclass
class SourceFacts:
    """Attribute docs by dotted path (``NAME``, ``Class.attr``) and how each top-level name was bound."""

    docs: dict[str, str] = dataclasses.field(default_factory=dict)
    bindings: dict[str, str] = dataclasses.field(default_factory=dict)  # name -> "assign" | "import" | "def"


class SourceDocs:
    """Reads (once) the source of the modules it is asked about."""

    def __init__(self) -> None:
        self._facts: dict[str, SourceFacts | None] = {}

    def for_module(self, module: ModuleType | None) -> SourceFacts | None:
        """The facts of a loaded module's ``.py`` file; None when it has none (an extension, a frozen module)."""
        file = getattr(module, "__file__", None)
        if not file or not file.endswith(".py"):
            return None
        if file not in self._facts:
            self._facts[file] = _read(Path(file))
        return self._facts[file]

    def doc(self, module: ModuleType | None, path: str) -> str | None:
        """The ``#:`` (or following string) doc of ``NAME`` or ``Class.attr`` in ``module``."""
        facts = self.for_module(module)
        return facts.docs.get(path) if facts else None


def _read(path: Path) -> SourceFacts | None:
    try:
        if path.stat().st_size > _MAX_SOURCE:
            return None
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text)
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return None
    facts = SourceFacts()
    lines = text.splitlines()
    _walk(tree.body, lines, "", facts)
    for statement in tree.body:
        _bind(statement, facts.bindings)
    return facts


def _walk(body: list[ast.stmt], lines: list[str], prefix: str, facts: SourceFacts) -> None:
    for statement in body:
        if isinstance(statement, ast.ClassDef):
            _walk(statement.body, lines, f"{prefix}{statement.name}.", facts)
            continue
        targets = _targets(statement)
        if not targets:
            continue
        doc = _comment_doc(lines, statement)
        if doc:
            for target in targets:
                facts.docs[f"{prefix}{target}"] = doc


def _targets(statement: ast.stmt) -> list[str]:
    if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
        return [statement.target.id]
    if isinstance(statement, ast.Assign):
        return [target.id for target in statement.targets if isinstance(target, ast.Name)]
    return []


def _comment_doc(lines: list[str], statement: ast.stmt) -> str | None:
    """Sphinx's ``#:`` comments on the lines right above the assignment."""
    comments = []
    index = statement.lineno - 2
    while index >= 0 and lines[index].strip().startswith("#:"):
        comments.insert(0, lines[index].strip()[2:].strip())
        index -= 1
    text = "\n".join(comments).strip()
    return text or None


def _bind(statement: ast.stmt, bindings: dict[str, str]) -> None:
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        for alias in statement.names:
            bindings.setdefault((alias.asname or alias.name).split(".")[0], "import")
    elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        bindings[statement.name] = "def"
    elif isinstance(statement, (ast.Assign, ast.AnnAssign)):
        for target in _targets(statement):
            bindings[target] = "assign"
    elif type(statement).__name__ == "TypeAlias":
        bindings[statement.name.id] = "assign"
    elif isinstance(statement, (ast.If, ast.Try)):
        for inner in [*statement.body, *statement.orelse, *getattr(statement, "finalbody", [])]:
            _bind(inner, bindings)
