"""A sync generator's items reach the host as soon as they are made: an item made just
before the generator blocks does not wait behind the block (a token-streaming generator's
items must not arrive in clumps). The server imports this module for its generators."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from server_client import CONTRACT, Client, decode, pb, recall, served_client, tag
from waiting import eventually

from snakebridge.testing.contract import _state

HERE = "test_server_stream_latency"
#: Long enough that an item held back until the generator wakes up cannot pass for prompt.
BLOCK_SECONDS = 5.0


# --- run by the server ----------------------------------------------------------------------------


def burst_then_block(tag: str, burst: int, seconds: float) -> Iterator[int]:
    """Yields ``burst`` items at once, then blocks ``seconds`` before each of 3 more; records its close."""
    try:
        yield from range(burst)
        for i in range(burst, burst + 3):
            _nap(seconds)
            yield i
    finally:
        _state[tag] = "closed"


def item_then_fail(seconds: float) -> Iterator[int]:
    yield 0
    _nap(seconds)
    raise RuntimeError("failed after a pause")


def _nap(seconds: float) -> None:
    # Short sleeps: an interrupt raised into a pool thread lands between them, not after all of them.
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.01)


# --- the tests ------------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=[(), ("--threads", "2")], ids=["main-thread", "thread-pool"])
def client(request: pytest.FixtureRequest) -> Iterator[Client]:
    with served_client(*request.param) as client:
        yield client


def stream(client: Client, target: str, args: list[Any], *, timeout: float, window: int = 64) -> Any:
    """The replies of a streamed Exchange with a deadline, so that a held-back item fails the test, not hangs it."""

    def requests() -> Iterator[Any]:
        yield pb.ExchangeRequest(call=client.request(target, args), window=window)

    return client.stub.Exchange(requests(), timeout=timeout)


def assert_serves_promptly(client: Client) -> None:
    """The runner is free again: a sync call does not wait for the generator's block to end."""
    started = time.monotonic()
    assert client.call(f"{CONTRACT}.add", 2, 2) == ("result", 4)
    assert time.monotonic() - started < 2


def test_sends_an_item_at_once_while_the_generator_then_blocks(client: Client):
    name = tag()
    started = time.monotonic()
    replies = stream(client, f"{HERE}.burst_then_block", [name, 1, BLOCK_SECONDS], timeout=BLOCK_SECONDS - 2)
    assert decode(next(replies).item) == 0
    assert time.monotonic() - started < 1
    replies.cancel()
    assert eventually(lambda: recall(client, name) == "closed")  # interrupted in its block; its finally ran
    assert_serves_promptly(client)


def test_sends_each_item_of_a_burst_before_the_block_that_follows_it(client: Client):
    name = tag()
    started = time.monotonic()
    replies = stream(client, f"{HERE}.burst_then_block", [name, 5, BLOCK_SECONDS], timeout=BLOCK_SECONDS - 2)
    assert [decode(next(replies).item) for _ in range(5)] == [0, 1, 2, 3, 4]
    assert time.monotonic() - started < 1
    replies.cancel()
    assert eventually(lambda: recall(client, name) == "closed")


def test_a_deadline_while_the_generator_blocks_ends_the_stream_after_the_items_before_it(client: Client):
    name = tag()
    started = time.monotonic()
    replies = stream(client, f"{HERE}.burst_then_block", [name, 2, 30], timeout=0.5)
    received = []
    with pytest.raises(grpc.RpcError) as error:
        for reply in replies:
            received.append((decode(reply.item), time.monotonic() - started))
    assert error.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert [item for item, _ in received] == [0, 1]
    assert all(at < 0.45 for _, at in received), received
    assert time.monotonic() - started < 2
    assert eventually(lambda: recall(client, name) == "closed")
    assert_serves_promptly(client)


def test_sends_an_item_at_once_and_the_error_raised_after_it_last(client: Client):
    started = time.monotonic()
    replies = stream(client, f"{HERE}.item_then_fail", [1.0], timeout=BLOCK_SECONDS)
    first = next(replies)
    assert decode(first.item) == 0
    assert time.monotonic() - started < 0.8
    rest = list(replies)
    assert [reply.WhichOneof("message") for reply in rest] == ["error"]
    assert b"failed after a pause" in rest[0].error


def test_never_runs_more_than_the_window_ahead_though_each_item_goes_out_at_once(client: Client):
    name = tag()
    # Without credit beyond the window, `endless` stops after 3 items however fast they are sent.
    replies = stream(client, f"{CONTRACT}.endless", [name], timeout=BLOCK_SECONDS, window=3)
    assert [decode(next(replies).item) for _ in range(3)] == [0, 1, 2]
    time.sleep(0.3)
    assert recall(client, f"{name}:produced") == 3
    replies.cancel()
    assert eventually(lambda: recall(client, name) == "closed")
