"""Opening a channel to Atelier with the caller's metadata attached.

    from atelier_client import connect, registry_pb2

    with connect("localhost:50051", user_id="ada") as atelier:
        skill = atelier.registry.GetSkill(registry_pb2.GetSkillRequest(slug="code-review")).skill

`connect()` returns an `Atelier` with one stub per service (`registry`,
`workshop`, `signals`, `outbox`) over one channel. Every call then carries
`x-user-id` (the end user the call acts for) and, when a token is given,
`authorization: Bearer <token>`. A call can still pass its own `metadata=`;
it is sent in addition. Use `channel=` to bring your own channel (TLS,
options, interceptors) instead of an address.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence, Tuple, Union

import grpc

from ._gen.atelier.admin.v1 import outbox_pb2_grpc
from ._gen.atelier.registry.v1 import registry_pb2_grpc
from ._gen.atelier.signals.v1 import signals_pb2_grpc
from ._gen.atelier.workshop.v1 import workshop_pb2_grpc

__all__ = ["Atelier", "connect", "metadata_interceptor"]


Metadata = Sequence[Tuple[str, Union[str, bytes]]]


class _ClientCallDetails(grpc.ClientCallDetails):
    def __init__(self, base: grpc.ClientCallDetails, metadata: Metadata):
        self.method = base.method
        self.timeout = base.timeout
        self.metadata = tuple(metadata)
        self.credentials = base.credentials
        self.wait_for_ready = getattr(base, "wait_for_ready", None)
        self.compression = getattr(base, "compression", None)


class _MetadataInterceptor(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    def __init__(self, metadata: Metadata):
        self._metadata = tuple(metadata)

    def _details(self, details: grpc.ClientCallDetails) -> grpc.ClientCallDetails:
        own = tuple(details.metadata or ())
        names = {k for k, _ in own}
        # A per-call value wins over the channel-wide one of the same name.
        extra = tuple((k, v) for k, v in self._metadata if k not in names)
        return _ClientCallDetails(details, own + extra)

    def intercept_unary_unary(self, continuation: Callable, details, request) -> Any:
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation: Callable, details, request) -> Any:
        return continuation(self._details(details), request)

    def intercept_stream_unary(self, continuation: Callable, details, request_iterator) -> Any:
        return continuation(self._details(details), request_iterator)

    def intercept_stream_stream(self, continuation: Callable, details, request_iterator) -> Any:
        return continuation(self._details(details), request_iterator)


def metadata_interceptor(
    user_id: Optional[str] = None, token: Optional[str] = None
) -> _MetadataInterceptor:
    """A client interceptor that adds `x-user-id` and `authorization` to every call."""
    md: list[Tuple[str, Union[str, bytes]]] = []
    if user_id:
        md.append(("x-user-id", user_id))
    if token:
        md.append(("authorization", f"Bearer {token}"))
    return _MetadataInterceptor(md)


class Atelier:
    """The four Atelier services over one channel. Close it (or use `with`) when done."""

    def __init__(self, channel: grpc.Channel):
        self.channel = channel
        self.registry = registry_pb2_grpc.SkillRegistryStub(channel)
        self.workshop = workshop_pb2_grpc.WorkshopStub(channel)
        self.signals = signals_pb2_grpc.SignalsStub(channel)
        self.outbox = outbox_pb2_grpc.OutboxStub(channel)

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> "Atelier":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(
    address: Optional[str] = None,
    *,
    user_id: Optional[str] = None,
    token: Optional[str] = None,
    credentials: Optional[grpc.ChannelCredentials] = None,
    options: Sequence[Tuple[str, Any]] = (),
    channel: Optional[grpc.Channel] = None,
) -> Atelier:
    """Open a channel to `address` (`host:port`) and return the service stubs.

    Plaintext unless `credentials` (e.g. `grpc.ssl_channel_credentials()`)
    are given. `user_id` becomes the `x-user-id` of every call, `token` its
    bearer token (needed only when the server has tokens configured).
    """
    if channel is None:
        if address is None:
            raise ValueError("connect() needs an address or a channel")
        if credentials is None:
            channel = grpc.insecure_channel(address, options=list(options))
        else:
            channel = grpc.secure_channel(address, credentials, options=list(options))
    if user_id or token:
        channel = grpc.intercept_channel(channel, metadata_interceptor(user_id, token))
    return Atelier(channel)
