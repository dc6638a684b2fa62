"""Running calls, whatever transport brought them: finding what a call names
(resolver), the objects kept for the host (handles), the operations
themselves (dispatcher), the executor that runs them on threads, the event
loop and as credit-paced streams, with cancellation (execution), the host
functions in their arguments (callbacks), the values sent back (encoding)
and the error payloads that end them (payloads). The stdio worker and the
gRPC server both use it."""

from .dispatcher import Dispatcher
from .handles import HandleTable
from .resolver import Resolver

__all__ = ["Dispatcher", "HandleTable", "Resolver"]
