"""The handle table keeps identity: an object already held for a session comes back as
the same handle, and is freed only when every sending of it has been released."""

from __future__ import annotations

import pytest

from snakebridge.calls.handles import HandleTable
from snakebridge.errors import HandleError


class Model:
    def fit(self) -> Model:
        return self


def test_the_same_object_in_the_same_session_is_the_same_handle() -> None:
    table = HandleTable()
    model = Model()
    first = table.add(model, 0)
    again = table.add(model.fit(), 0)
    assert again.id == first.id
    assert len(table) == 1


def test_it_is_freed_with_the_last_release_of_it() -> None:
    table = HandleTable()
    model = Model()
    handle = table.add(model, 0).id
    table.add(model, 0)
    table.release([handle])
    assert table.get(handle) is model
    table.release([handle])
    with pytest.raises(HandleError):
        table.get(handle)
    # Freed means forgotten: the object held anew is a new handle.
    assert table.add(model, 0).id != handle


def test_another_session_gets_a_handle_of_its_own() -> None:
    table = HandleTable()
    model = Model()
    assert table.add(model, 1).id != table.add(model, 2).id
    table.release_session(1)
    assert len(table) == 1


def test_a_session_release_frees_it_however_often_it_was_sent() -> None:
    table = HandleTable()
    model = Model()
    handle = table.add(model, 3).id
    table.add(model, 3)
    table.release_session(3)
    with pytest.raises(HandleError):
        table.get(handle)
