import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# Tests import their helpers (values.py) as top-level modules.
sys.path.insert(0, str(Path(__file__).parent))

from worker_client import WorkerClient


@pytest.fixture
def worker() -> Iterator[WorkerClient]:
    """A real ``python -m snakebridge`` worker, past its handshake; test files may override it."""
    client = WorkerClient()
    client.ready()
    yield client
    client.close()


@pytest.fixture
def sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """Small packages written into a temporary directory on sys.path, for the introspection tests."""
    from introspect_helpers import temporary_sources  # only the introspection tests pay for importing it

    yield from temporary_sources(tmp_path, monkeypatch)
