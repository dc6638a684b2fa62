"""``python -m snakebridge.server``: serve SnakeBridge calls over gRPC (see main.py and docs/deployment.md)."""

from .main import main

main()
