"""A loaded module as a type checker sees its names: its run-time namespace, overlaid with what its top-level
``if TYPE_CHECKING:`` blocks bind, read from its source with ``ast``.

This is where annotation strings that will not evaluate are looked up (pandas names ``FilePath``, ``Series``…
in annotations and imports them only for type checkers). Only the ``TYPE_CHECKING`` blocks are parsed, not the
whole file: pandas' own modules are megabytes of source, and everything else they bind exists at run time."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from types import ModuleType

from .annotations import is_typing_construct
from .stubs import Def, StubModule, read_statements, runtime_def

#: A top-level ``if TYPE_CHECKING:`` (or ``typing.TYPE_CHECKING``) line, a comment allowed after it.
_CHECKING = re.compile(r"^if[ \t]+(?:\w+\.)?TYPE_CHECKING[ \t]*:[ \t]*(?:#.*)?$", re.MULTILINE)
#: The start of a line that begins a statement at the top level (not blank, not indented, not a comment).
_BLOCK_END = re.compile(r"^(?=[^\s#])", re.MULTILINE)
#: The origin of such a view: it is neither a stub nor a whole source.
ORIGIN = "checking"


def checking_view(module: ModuleType) -> StubModule | None:
    """The view of a loaded module with a ``.py`` source; None for one without (an extension, a frozen module)."""
    file = getattr(module, "__file__", None)
    if not isinstance(file, str) or not file.endswith(".py"):
        return None
    path = Path(file)
    view = StubModule(module.__name__, path, ORIGIN, path.name == "__init__.py")
    for name, value in list(vars(module).items()):
        definition = _run_time_name(value)
        if definition is not None:
            view.defs[name] = definition
    try:
        blocks = checking_blocks(path.read_text(encoding="utf-8"))
        tree = ast.parse(blocks, filename=str(path)) if blocks else None
    except (SyntaxError, OSError, UnicodeDecodeError, ValueError) as error:
        view.error = f"{type(error).__name__}: {error}"
        return view
    if tree is not None:
        read_statements(view, tree.body)
    return view


def _run_time_name(value: object) -> Def | None:
    """What a name the module binds at run time is; None for a typing construct (``Scalar = float | str``),
    which is left to the source, which names it as an alias, and for None, which in an annotation is a type
    checker's name that is None at run time (pandas 2's ``Self``), also left to the source."""
    if value is None:
        return None
    try:
        return None if is_typing_construct(value) else runtime_def(value)
    except Exception:  # an object whose attributes raise when looked at (a lazy proxy): a value like any other
        return Def("runtime", value=value)


def checking_blocks(text: str) -> str:
    """The top-level ``if TYPE_CHECKING:`` blocks of a source, each with its header, as one text ('' if none).

    A block ends at the first line that is not blank, not a comment, and not indented; an ``else`` after it is
    left out, as a type checker leaves it out. Found with regular expressions: the sources are large."""
    blocks = []
    for header in _CHECKING.finditer(text):
        end = _BLOCK_END.search(text, header.end())
        blocks.append(text[header.start() : end.start() if end else len(text)].rstrip())
    return "\n".join(blocks)
