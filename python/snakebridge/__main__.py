"""``python -m snakebridge``: run a worker (the host starts this; see docs/protocol.md)."""

from .worker.main import main

main()
