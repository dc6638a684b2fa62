"""Running calls, whatever transport brought them: finding what a call names
(resolver), the objects kept for the host (handles), the operations
themselves (dispatcher), the host functions in their arguments (callbacks),
and the error payloads that end them (payloads). The stdio worker and the
gRPC server both use it."""

from .dispatcher import Dispatcher
from .handles import HandleTable
from .resolver import Resolver

__all__ = ["Dispatcher", "HandleTable", "Resolver"]
