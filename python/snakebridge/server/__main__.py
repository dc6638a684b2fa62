"""``python -m snakebridge.server``: serve SnakeBridge calls over gRPC (see main.py and docs/deployment.md)."""

import sys

#: What provides each module the server imports, for the message when one is missing.
_PROVIDERS = {
    "grpc": "grpcio",
    "grpc_health": "grpcio-health-checking",
    "grpc_tools": "grpcio-tools",
    "google": "protobuf",
}

try:
    # grpc_tools compiles bridge.proto at start; imported here so that its absence is named like the others'.
    import grpc_tools  # noqa: F401

    from .main import main
except ModuleNotFoundError as exc:
    root = (exc.name or "").split(".")[0]
    if root not in _PROVIDERS:
        raise
    print(
        f"python -m snakebridge.server needs {_PROVIDERS[root]} (for {exc.name}), which is not installed in "
        f"{sys.executable}: {sys.executable} -m pip install grpcio grpcio-tools grpcio-health-checking protobuf "
        "(or the extra: 'snakebridge[grpc]')",
        file=sys.stderr,
    )
    sys.exit(3)

main()
