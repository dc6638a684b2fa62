"""The gRPC server: `python -m snakebridge.server` (see bridge.proto).

The same calls as the stdio worker (``snakebridge.worker``), through the same
call machinery (``snakebridge.calls``), served to many hosts over the network
or to one host that manages it (``@snakebridge/adapter-grpc``). Importing this
package costs nothing: grpcio is imported only by the modules that need it.
"""
