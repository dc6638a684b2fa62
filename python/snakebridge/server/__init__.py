"""The gRPC server: `python -m snakebridge.server` (see bridge.proto)."""
