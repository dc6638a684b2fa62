"""The worker runtime started by ``python -m snakebridge`` (docs/protocol.md)."""
