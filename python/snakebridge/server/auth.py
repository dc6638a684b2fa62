"""The bearer token check: a server interceptor that refuses a call with
UNAUTHENTICATED before any handler (and so any user code) runs.

The health service is exempt: load balancers and Kubernetes probes cannot
send a token, and it reveals nothing but SERVING / NOT_SERVING.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

import grpc
from grpc import aio

#: Methods reachable without a token.
EXEMPT_PREFIXES = ("/grpc.health.v1.Health/",)


class TokenInterceptor(aio.ServerInterceptor):
    def __init__(self, token: str) -> None:
        self._expected = f"Bearer {token}".encode()

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        # Looking the handler up only finds it; nothing runs until it is returned.
        handler = await continuation(handler_call_details)
        if handler is None or handler_call_details.method.startswith(EXEMPT_PREFIXES):
            return handler
        provided = _authorization(handler_call_details.invocation_metadata)
        # Constant time: a wrong token takes as long to refuse whatever its first wrong byte.
        if provided is not None and hmac.compare_digest(provided.encode(), self._expected):
            return handler
        return _refusal(handler, "a bearer token is required" if provided is None else "the bearer token is wrong")


def _authorization(metadata: tuple[tuple[str, str | bytes], ...] | None) -> str | None:
    for key, value in metadata or ():
        if key == "authorization":
            return value if isinstance(value, str) else value.decode("utf-8", "replace")
    return None


def _refusal(handler: grpc.RpcMethodHandler, why: str) -> grpc.RpcMethodHandler:
    """A handler of the same shape as ``handler`` that only refuses."""
    message = f"{why}: send 'authorization: Bearer <token>' (grpc.token in the SnakeBridge config)"

    async def refuse(_request: object, context: aio.ServicerContext) -> None:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)

    if handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(refuse)
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(refuse)
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(refuse)
    return grpc.unary_unary_rpc_method_handler(refuse)
