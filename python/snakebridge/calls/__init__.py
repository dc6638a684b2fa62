"""Running calls, whatever transport brought them: finding what a call names
(resolver), the objects kept for the host (handles), and the operations
themselves (dispatcher). The stdio worker and the gRPC server both use it."""

from .dispatcher import Dispatcher
from .handles import HandleTable
from .resolver import Resolver

__all__ = ["Dispatcher", "HandleTable", "Resolver"]
