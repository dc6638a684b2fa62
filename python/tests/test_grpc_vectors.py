"""bridge.proto's messages as the server reads and writes them, against the golden vectors Vitest reads too
(vectors/protocol/grpc.json): the field numbers both sides rely on cannot drift apart."""

from __future__ import annotations

import json

import pytest
from values import VECTORS

from snakebridge.server.proto import bridge_modules

pb, _ = bridge_modules()
MESSAGES = json.loads((VECTORS / "protocol" / "grpc.json").read_text(encoding="utf-8"))["messages"]


def _fields(vector: dict) -> dict:
    fields = dict(vector["fields"])
    if "payload" in fields:
        fields["payload"] = bytes.fromhex(fields["payload"])
    return fields


@pytest.mark.parametrize("vector", MESSAGES, ids=[v["name"] for v in MESSAGES])
def test_writes_each_message_to_the_expected_bytes(vector):
    message = getattr(pb, vector["message"])(**_fields(vector))
    assert message.SerializeToString().hex() == vector["hex"]


@pytest.mark.parametrize("vector", MESSAGES, ids=[v["name"] for v in MESSAGES])
def test_reads_each_message(vector):
    message = getattr(pb, vector["message"]).FromString(bytes.fromhex(vector["hex"]))
    for name, value in _fields(vector).items():
        assert getattr(message, name) == value, name
