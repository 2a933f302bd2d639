"""Python client for the Atelier gRPC service.

The generated modules are re-exported under short names:

    from atelier_client import registry_pb2, registry_pb2_grpc   # atelier.registry.v1
    from atelier_client import workshop_pb2, workshop_pb2_grpc   # atelier.workshop.v1
    from atelier_client import signals_pb2, signals_pb2_grpc     # atelier.signals.v1
    from atelier_client import outbox_pb2, outbox_pb2_grpc       # atelier.admin.v1

(their full paths are `atelier_client._gen.atelier.<pkg>.v1.<file>_pb2`).
`connect()` opens a channel with the caller's metadata and returns the four
stubs; `AtelierError` decodes the server's error details.
"""

from ._gen.atelier.admin.v1 import outbox_pb2, outbox_pb2_grpc
from ._gen.atelier.registry.v1 import registry_pb2, registry_pb2_grpc
from ._gen.atelier.signals.v1 import signals_pb2, signals_pb2_grpc
from ._gen.atelier.workshop.v1 import workshop_pb2, workshop_pb2_grpc
from .client import Atelier, connect, metadata_interceptor
from .errors import AtelierError, FieldViolation, atelier_errors

__all__ = [
    "Atelier",
    "AtelierError",
    "FieldViolation",
    "atelier_errors",
    "connect",
    "metadata_interceptor",
    "outbox_pb2",
    "outbox_pb2_grpc",
    "registry_pb2",
    "registry_pb2_grpc",
    "signals_pb2",
    "signals_pb2_grpc",
    "workshop_pb2",
    "workshop_pb2_grpc",
]
