"""Docstrings (Google, NumPy, reST) split into the sections a signature uses (parameters, returns, yields,
raises, a class's attributes) and the description, which keeps every other section as written."""

from __future__ import annotations

import dataclasses
import inspect
import re
import textwrap

_PARAM_SECTIONS = {
    "args",
    "arguments",
    "parameters",
    "params",
    "keyword args",
    "keyword arguments",
    "other parameters",
}
_RETURN_SECTIONS = {"returns", "return"}
_YIELD_SECTIONS = {"yields", "yield"}
_DROPPED_SECTIONS = {"raises", "raise", "warns"}
_ATTRIBUTE_SECTIONS = {"attributes"}
_PARSED_SECTIONS = _PARAM_SECTIONS | _RETURN_SECTIONS | _YIELD_SECTIONS | _DROPPED_SECTIONS | _ATTRIBUTE_SECTIONS
_KEPT_SECTIONS = {
    "example",
    "examples",
    "note",
    "notes",
    "see also",
    "warning",
    "warnings",
    "todo",
    "references",
    "methods",
    "receives",
}
_FIELD_NAMES = {
    "param",
    "parameter",
    "arg",
    "argument",
    "key",
    "keyword",
    "type",
    "returns",
    "return",
    "rtype",
    "yields",
    "yield",
    "ytype",
    "raises",
    "raise",
    "except",
    "exception",
    "ivar",
    "var",
    "cvar",
    "vartype",
}
_GOOGLE_HEADER = re.compile(r"^(\s*)([A-Za-z][A-Za-z ]*):\s*$")
_UNDERLINE = re.compile(r"^\s*-{3,}\s*$")
_FIELD = re.compile(r"^(\s*):([a-zA-Z]+)((?:\s+[^:]*)?):(.*)$")
_NUMPY_ITEM = re.compile(r"^(\*{0,2}[\w.]+(?:\s*,\s*\*{0,2}[\w.]+)*)\s*:\s*(.*)$")
_GOOGLE_ITEM = re.compile(r"^(\*{0,2}[\w.]+)\s*(?:\((.*)\))?\s*:(?:\s+(.*)|\s*)$")
_TYPE_PREFIX = re.compile(r"^([^:]{1,60}?):\s+(\S.*)$")


@dataclasses.dataclass
class DocItem:
    """One documented name: its type phrase and description as written."""

    type: str | None = None
    doc: str | None = None
    stars: int = 0  # 1 for ``*args``, 2 for ``**kwargs``
    name: str | None = None  # of a returned value, where the docstring names it (NumPy's ``self : object``)


@dataclasses.dataclass
class ParsedDoc:
    """A docstring split into what a signature needs and the rest (``text``)."""

    text: str | None = None
    params: dict[str, DocItem] = dataclasses.field(default_factory=dict)
    returns: list[DocItem] = dataclasses.field(default_factory=list)
    yields: list[DocItem] = dataclasses.field(default_factory=list)
    attributes: dict[str, DocItem] = dataclasses.field(default_factory=dict)

    def has_types(self) -> bool:
        """Whether any parameter, return or yield is given a type."""
        items = [*self.params.values(), *self.returns, *self.yields]
        return any(item.type for item in items)


@dataclasses.dataclass
class _Section:
    style: str  # "google", "numpy" or "field"
    title: str
    start: int
    body_start: int
    end: int = 0


def clean(doc: object) -> str | None:
    """A docstring ``inspect.cleandoc``ed, or None when there is none."""
    if not isinstance(doc, str):
        return None
    text = inspect.cleandoc(doc).strip()
    return text or None


def parse_docstring(doc: object) -> ParsedDoc:
    """Splits a docstring (any of the three styles) into its description, parameters, returns and attributes."""
    text = clean(doc)
    if text is None:
        return ParsedDoc()
    lines = text.splitlines()
    parsed = ParsedDoc()
    removed: set[int] = set()
    for section in _sections(lines):
        if section.style == "field":
            _parse_field(lines[section.start : section.end], parsed)
        elif section.title in _PARSED_SECTIONS:
            _parse_section(section, lines[section.body_start : section.end], parsed)
        else:
            continue
        removed.update(range(section.start, section.end))
    kept = [line for index, line in enumerate(lines) if index not in removed]
    parsed.text = _tidy(kept)
    return parsed


def _sections(lines: list[str]) -> list[_Section]:
    """The sections of the docstring, each ending where the next begins (or where its indentation ends)."""
    sections: list[_Section] = []
    index = 0
    while index < len(lines):
        section = _section_at(lines, index)
        if section is None:
            index += 1
            continue
        section.end = _numpy_end(lines, section) if section.style == "numpy" else _indented_end(lines, section)
        sections.append(section)
        index = max(section.end, index + 1)
    return sections


def _section_at(lines: list[str], index: int) -> _Section | None:
    line = lines[index]
    following = lines[index + 1] if index + 1 < len(lines) else ""
    title = line.strip().lower()
    if title in _PARSED_SECTIONS | _KEPT_SECTIONS and _UNDERLINE.match(following):
        return _Section("numpy", title, index, index + 2)
    header = _GOOGLE_HEADER.match(line)
    if header and header.group(2).strip().lower() in _PARSED_SECTIONS | _KEPT_SECTIONS:
        return _Section("google", header.group(2).strip().lower(), index, index + 1)
    field = _FIELD.match(line)
    if field and field.group(2).lower() in _FIELD_NAMES:
        return _Section("field", field.group(2).lower(), index, index + 1)
    return None


def _numpy_end(lines: list[str], section: _Section) -> int:
    """A NumPy section runs to the next section header (its items sit at the header's indentation)."""
    for index in range(section.body_start, len(lines)):
        if _section_at(lines, index) is not None:
            return index
    return len(lines)


def _indented_end(lines: list[str], section: _Section) -> int:
    """Where a Google section or a reST field ends: at the first line indented no deeper than its header."""
    indent = _indent(lines[section.start])
    end = section.body_start
    for index in range(section.body_start, len(lines)):
        line = lines[index]
        if line.strip() and _indent(line) <= indent:
            break
        end = index + 1
    return end


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _tidy(lines: list[str]) -> str | None:
    text = "\n".join(lines).strip()
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text or None


def _items(body: list[str]) -> list[tuple[str, list[str]]]:
    """The items of a section body: each line at the body's own indentation, with the lines below it."""
    lines = list(body)
    content = [line for line in lines if line.strip()]
    if not content:
        return []
    base = min(_indent(line) for line in content)
    items: list[tuple[str, list[str]]] = []
    for line in lines:
        if line.strip() and _indent(line) == base:
            items.append((line.strip(), []))
        elif items:
            items[-1][1].append(line)
    return items


def _description(first: str | None, rest: list[str]) -> str | None:
    block = textwrap.dedent("\n".join(rest))
    text = "\n".join(part for part in (first, block) if part)
    return _tidy(text.splitlines())


def _parse_section(section: _Section, body: list[str], parsed: ParsedDoc) -> None:
    title = section.title
    if title in _DROPPED_SECTIONS:
        return
    numpy = section.style == "numpy"
    if title in _PARAM_SECTIONS or title in _ATTRIBUTE_SECTIONS:
        target = parsed.params if title in _PARAM_SECTIONS else parsed.attributes
        for head, rest in _items(body):
            for name, item in _named_item(head, rest, numpy):
                target.setdefault(name, item)
        return
    target_list = parsed.returns if title in _RETURN_SECTIONS else parsed.yields
    target_list.extend(_numpy_returns(body) if numpy else _google_returns(body))


def _named_item(head: str, rest: list[str], numpy: bool) -> list[tuple[str, DocItem]]:
    if numpy:
        match = _NUMPY_ITEM.match(head)
        if match:
            names, type_ = match.group(1), match.group(2).strip() or None
            doc = _description(None, rest)
            return [(_bare(name), DocItem(type_, doc, _stars(name))) for name in re.split(r"\s*,\s*", names)]
        if re.fullmatch(r"\*{0,2}[\w.]+", head):
            return [(_bare(head), DocItem(None, _description(None, rest), _stars(head)))]
        return []
    match = _GOOGLE_ITEM.match(head)
    if not match:
        return []
    type_ = (match.group(2) or "").strip() or None
    name = match.group(1)
    return [(_bare(name), DocItem(type_, _description(match.group(3), rest), _stars(name)))]


def _bare(name: str) -> str:
    return name.lstrip("*")


def _stars(name: str) -> int:
    return len(name) - len(name.lstrip("*"))


def _numpy_returns(body: list[str]) -> list[DocItem]:
    items = []
    for head, rest in _items(body):
        match = _NUMPY_ITEM.match(head)
        type_ = match.group(2).strip() if match else head
        items.append(DocItem(type_ or None, _description(None, rest), name=match.group(1) if match else None))
    return items


def _google_returns(body: list[str]) -> list[DocItem]:
    text = _description(None, body)
    if text is None:
        return []
    first, _, rest = text.partition("\n")
    match = _TYPE_PREFIX.match(first)
    if match and not match.group(1).rstrip().endswith("."):
        return [DocItem(match.group(1).strip(), _tidy([match.group(2), *rest.splitlines()]))]
    return [DocItem(None, text)]


def _parse_field(lines: list[str], parsed: ParsedDoc) -> None:
    match = _FIELD.match(lines[0])
    if match is None:
        return
    field, argument = match.group(2).lower(), match.group(3).split()
    doc = _description(match.group(4).strip() or None, lines[1:])
    if field in ("param", "parameter", "arg", "argument", "key", "keyword"):
        if argument:
            item = parsed.params.setdefault(_bare(argument[-1]), DocItem())
            item.doc = doc
            if len(argument) > 1:
                item.type = " ".join(argument[:-1])
    elif field == "type" and argument:
        parsed.params.setdefault(_bare(argument[-1]), DocItem()).type = doc
    elif field in ("returns", "return", "yields", "yield"):
        _last(parsed.returns if field.startswith("return") else parsed.yields).doc = doc
    elif field in ("rtype", "ytype"):
        _last(parsed.returns if field == "rtype" else parsed.yields).type = doc
    elif field in ("ivar", "var", "cvar") and argument:
        parsed.attributes.setdefault(argument[-1], DocItem()).doc = doc
    elif field == "vartype" and argument:
        parsed.attributes.setdefault(argument[-1], DocItem()).type = doc


def _last(items: list[DocItem]) -> DocItem:
    if not items:
        items.append(DocItem())
    return items[-1]
