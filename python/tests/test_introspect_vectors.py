"""The golden vector vectors/introspect/typing_fixture.json is exactly what the introspector says about
``snakebridge.testing.typing_fixture`` (but for the one measurement, ``budget.elapsed_ms``)."""

from __future__ import annotations

import json
import typing

import pytest
from introspect_vectors import VECTOR, fixture_module, render


def test_the_fixture_introspects_to_the_golden_vector() -> None:
    assert json.loads(VECTOR.read_text(encoding="utf-8")) == fixture_module()


def test_the_golden_vector_is_written_as_the_helper_writes_it() -> None:
    assert VECTOR.read_text(encoding="utf-8") == render(json.loads(VECTOR.read_text(encoding="utf-8")))


def test_without_typing_get_overloads_overloads_are_read_from_the_source(monkeypatch: pytest.MonkeyPatch) -> None:
    # Python 3.10 has no typing.get_overloads: the vector must not depend on it.
    monkeypatch.delattr(typing, "get_overloads", raising=False)
    assert json.loads(VECTOR.read_text(encoding="utf-8")) == fixture_module()
