"""Annotation strings that will not evaluate (names imported only under ``if TYPE_CHECKING:``, as pandas does)
are read from the module's source instead: aliases by the name their module gives them, classes where they are
defined; only what the source does not resolve either stays ``unknown``, with one warning per member."""

from __future__ import annotations

from introspect_helpers import INT, NONE, STR, Sources, cls, named, only_signature, param_types

from snakebridge.introspect.checking import checking_blocks

TYPING = """
from __future__ import annotations

from os import PathLike
from typing import Literal, TypeAlias, Union

FilePath: TypeAlias = str | PathLike[str]
Axis: TypeAlias = Union[int, Literal["index", "columns"]]
AxisInt: TypeAlias = int  # at run time the class int itself, yet an alias by its name
"""

FRAME = '''
class Frame:
    """A table."""

    def __init__(self) -> None:
        pass
'''

API = """
from __future__ import annotations

import typing
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Hashable

    from checkpkg._typing import Axis, AxisInt, FilePath
    from checkpkg.frame import Frame

if typing.TYPE_CHECKING:
    from checkpkg.frame import Frame as Table

Local = int | str


def read(path: FilePath, like: Frame | None = None, *, axis: Axis = 0, index: AxisInt = 0) -> Frame:
    raise NotImplementedError


def keys(labels: list[Hashable], table: Table) -> Hashable:
    raise NotImplementedError


def mixed(local: Local, frame: Frame) -> None:
    pass


def broken(first: Missing, second: Frame | AlsoMissing, fine: int) -> None:
    pass
"""

FILES = {
    "checkpkg/__init__.py": "",
    "checkpkg/_typing.py": TYPING,
    "checkpkg/frame.py": FRAME,
    "checkpkg/api.py": API,
}
FRAME_CLASS = cls("checkpkg.frame.Frame")


def test_names_imported_only_for_type_checkers_become_aliases_and_classes(sources: Sources) -> None:
    module = sources.introspect("checkpkg.api", FILES)
    read = only_signature(named(module["functions"], "read"))
    assert param_types(read) == {
        "path": {"kind": "alias", "name": "checkpkg._typing.FilePath", "args": []},
        "like": {"kind": "union", "options": [FRAME_CLASS, NONE]},
        "axis": {"kind": "alias", "name": "checkpkg._typing.Axis", "args": []},
        "index": {"kind": "alias", "name": "checkpkg._typing.AxisInt", "args": []},
    }
    assert read["returns"] == FRAME_CLASS
    assert named(module["functions"], "read")["source"] == "annotations"
    aliases = {entry["name"]: entry["type"] for entry in module["aliases"]}
    assert aliases["checkpkg._typing.FilePath"] == {
        "kind": "union",
        "options": [STR, cls("os.PathLike", STR)],
    }
    assert aliases["checkpkg._typing.Axis"] == {
        "kind": "union",
        "options": [INT, {"kind": "literal", "values": ["index", "columns"]}],
    }
    assert not [warning for warning in module["warnings"] if ".read" in warning]


def test_typing_dot_type_checking_blocks_and_typing_names_are_read_too(sources: Sources) -> None:
    module = sources.introspect("checkpkg.api", FILES)
    keys = only_signature(named(module["functions"], "keys"))
    hashable = cls("collections.abc.Hashable")
    assert param_types(keys) == {"labels": cls("builtins.list", hashable), "table": FRAME_CLASS}
    assert keys["returns"] == hashable


def test_a_module_level_alias_beside_a_type_checking_name_is_named_by_its_module(sources: Sources) -> None:
    module = sources.introspect("checkpkg.api", FILES)
    mixed = only_signature(named(module["functions"], "mixed"))
    assert param_types(mixed) == {
        "local": {"kind": "alias", "name": "checkpkg.api.Local", "args": []},
        "frame": FRAME_CLASS,
    }


def test_what_the_source_does_not_resolve_either_stays_unknown_with_one_warning(sources: Sources) -> None:
    module = sources.introspect("checkpkg.api", FILES)
    broken = only_signature(named(module["functions"], "broken"))
    assert param_types(broken) == {
        "first": {"kind": "unknown", "text": "Missing"},
        "second": {"kind": "union", "options": [FRAME_CLASS, {"kind": "unknown", "text": "AlsoMissing"}]},
        "fine": INT,
    }
    warnings = [warning for warning in module["warnings"] if "checkpkg.api.broken" in warning]
    assert len(warnings) == 1
    assert "first, second" in warnings[0] and "NameError" in warnings[0]
    assert "Missing" in warnings[0] and "AlsoMissing" in warnings[0]


def test_an_attribute_defined_only_for_type_checkers_is_read_from_its_module(sources: Sources) -> None:
    module = sources.introspect(
        "attrpkg.use",
        {
            "attrpkg/__init__.py": "",
            "attrpkg/fmt.py": """
                from typing import TYPE_CHECKING

                if TYPE_CHECKING:
                    from typing import TypeAlias

                    Formatter: TypeAlias = dict[str, int]
            """,
            "attrpkg/use.py": """
                from __future__ import annotations

                from attrpkg import fmt


                def render(formatters: fmt.Formatter | None) -> str:
                    return ""
            """,
        },
    )
    render = only_signature(named(module["functions"], "render"))
    formatter = {"kind": "alias", "name": "attrpkg.fmt.Formatter", "args": []}
    assert param_types(render) == {"formatters": {"kind": "union", "options": [formatter, NONE]}}
    assert module["warnings"] == []


def test_a_class_whose_module_is_rewritten_reads_its_annotations_where_it_is_defined(sources: Sources) -> None:
    module = sources.introspect(
        "homepkg",
        {
            "homepkg/__init__.py": """
                from homepkg._impl import Tagged

                __all__ = ["Tagged"]
            """,
            "homepkg/_impl.py": """
                from __future__ import annotations

                from typing import TYPE_CHECKING, ClassVar

                if TYPE_CHECKING:
                    from collections.abc import Hashable


                class Tagged:
                    __module__ = "homepkg"  # as pandas does for the classes it exports
                    label: ClassVar[str] = "tagged"
                    key: Hashable
            """,
        },
    )
    tagged = named(module["classes"], "Tagged")
    assert tagged["qualname"] == "homepkg.Tagged"
    assert {p["name"]: p["type"] for p in tagged["properties"]} == {
        "key": cls("collections.abc.Hashable"),
        "label": STR,
    }
    assert module["warnings"] == []


def test_a_name_that_is_none_at_run_time_in_an_annotation_is_read_from_the_source(sources: Sources) -> None:
    # pandas 2 (the newest for Python 3.10): ``if TYPE_CHECKING: from typing import Self`` / ``else: Self = None``.
    module = sources.introspect(
        "placepkg",
        {
            "placepkg/_typing.py": """
                import sys
                from typing import TYPE_CHECKING, Any

                if TYPE_CHECKING:
                    import collections.abc as cabc
                    from collections.abc import Hashable as Key

                    if sys.version_info >= (3, 11):
                        from typing import Self
                    else:
                        from typing_extensions import Self
                else:
                    cabc: Any = None
                    Key: Any = None
                    Self: Any = None
            """,
            "placepkg/__init__.py": """
                from __future__ import annotations

                from placepkg._typing import Key, Self, cabc


                class Frame:
                    def first(self, key: Key) -> Self:
                        return self

                    def keys(self) -> cabc.Sequence[Key]:
                        return []

                    def clear(self) -> None:
                        pass
            """,
        },
    )
    frame = named(module["classes"], "Frame")
    first = only_signature(named(frame["methods"], "first"))
    hashable = cls("collections.abc.Hashable")
    assert param_types(first) == {"key": hashable}
    assert first["returns"] == cls("placepkg.Frame")
    assert only_signature(named(frame["methods"], "keys"))["returns"] == cls("collections.abc.Sequence", hashable)
    assert only_signature(named(frame["methods"], "clear"))["returns"] == NONE
    assert module["warnings"] == []


def test_type_checking_blocks_are_cut_out_of_the_source_with_their_header_and_without_else() -> None:
    source = (
        "import os\n"
        "if TYPE_CHECKING:  # only for mypy\n"
        "    from a import B\n"
        "\n"
        "# a comment\n"
        "    # an indented comment\n"
        "    from c import D\n"
        "else:\n"
        "    B = D = None\n"
        "if typing.TYPE_CHECKING:\n"
        "    import e\n"
        "x = 1\n"
    )
    assert checking_blocks(source) == (
        "if TYPE_CHECKING:  # only for mypy\n"
        "    from a import B\n"
        "\n"
        "# a comment\n"
        "    # an indented comment\n"
        "    from c import D\n"
        "if typing.TYPE_CHECKING:\n"
        "    import e"
    )
    assert checking_blocks("import os\n") == ""
