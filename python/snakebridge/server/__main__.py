"""``python -m snakebridge.server``: serve SnakeBridge calls over gRPC (see main.py and docs/deployment.md)."""

import sys

try:
    from .main import main
except ModuleNotFoundError as exc:
    if (exc.name or "").split(".")[0] not in {"grpc", "grpc_health", "grpc_tools", "google"}:
        raise
    print(
        f"python -m snakebridge.server needs the package that provides {exc.name}, which is not installed "
        "in this interpreter: pip install 'snakebridge[grpc]'",
        file=sys.stderr,
    )
    sys.exit(3)

main()
