"""The golden vector vectors/introspect/typing_fixture.json: the fixture's Module object, elapsed_ms zeroed.
``python python/tests/introspect_vectors.py --write`` rewrites it; without ``--write`` it checks it."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from snakebridge.introspect import introspect_module

FIXTURE = "snakebridge.testing.typing_fixture"
VECTOR = Path(__file__).resolve().parents[2] / "vectors" / "introspect" / "typing_fixture.json"


def fixture_module() -> dict[str, Any]:
    """The fixture's Module object as the vector holds it: the one measurement zeroed."""
    module = introspect_module(FIXTURE)
    module["budget"]["elapsed_ms"] = 0
    return module


def render(module: dict[str, Any]) -> str:
    """The vector's text: 2-space indent, a trailing newline."""
    return json.dumps(module, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    text = render(fixture_module())
    if "--write" in argv:
        VECTOR.write_text(text, encoding="utf-8")
        print(f"wrote {VECTOR}")
        return 0
    if VECTOR.read_text(encoding="utf-8") != text:
        print(f"{VECTOR} is out of date: run with --write", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
