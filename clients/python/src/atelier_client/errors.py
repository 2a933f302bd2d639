"""Atelier errors as Python exceptions.

Every error the Atelier server returns carries a `google.rpc.Status` in the
`grpc-status-details-bin` trailer with one `google.rpc.ErrorInfo` (domain
`atelier`, a stable UPPER_SNAKE `reason`, sometimes `metadata`) and, for
INVALID_ARGUMENT, a `google.rpc.BadRequest` naming every violated field.
grpcio surfaces none of that by itself; `AtelierError.from_rpc_error` (or the
`atelier_errors()` context manager) decodes it with grpcio-status and the
googleapis-common-protos types:

    from atelier_client import AtelierError, atelier_errors

    try:
        client.registry.CreateSkill(request)
    except grpc.RpcError as e:
        err = AtelierError.from_rpc_error(e)
        if err.reason == "SLUG_TAKEN": ...
        for v in err.field_violations: print(v.field, v.description)

    with atelier_errors():          # raises AtelierError instead of grpc.RpcError
        client.registry.CreateSkill(request)
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Iterator, Mapping, Optional, Sequence

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2  # type: ignore[import-untyped]
from grpc_status import rpc_status

__all__ = ["AtelierError", "FieldViolation", "atelier_errors"]


@dataclass(frozen=True)
class FieldViolation:
    """One entry of a google.rpc.BadRequest: which field, and what is wrong."""

    field: str
    description: str
    reason: str = ""


@dataclass(eq=False)
class AtelierError(Exception):
    """A failed Atelier call with its decoded error details.

    `code` is the gRPC status code, `message` the status message; `reason`,
    `domain` and `metadata` come from the ErrorInfo detail (None / empty when
    the error has none, e.g. a transport failure that never reached the
    server); `field_violations` from the BadRequest detail. `details` keeps
    every detail as a `google.protobuf.Any`, including kinds not decoded here.
    """

    code: grpc.StatusCode
    message: str
    reason: Optional[str] = None
    domain: Optional[str] = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    field_violations: Sequence[FieldViolation] = ()
    details: Sequence[any_pb2.Any] = ()

    def __post_init__(self) -> None:
        super().__init__(self.code, self.message)

    def __str__(self) -> str:
        s = f"{self.code.name}: {self.message}"
        if self.reason:
            s += f" [{self.domain}/{self.reason}]"
        for v in self.field_violations:
            s += f"\n  {v.field}: {v.description}"
        return s

    @property
    def fields(self) -> list[str]:
        """The violated field paths, in the server's order."""
        return [v.field for v in self.field_violations]

    def violation(self, field_path: str) -> Optional[FieldViolation]:
        """The violation of one field (e.g. `signal.verbatim`), if any."""
        return next((v for v in self.field_violations if v.field == field_path), None)

    @classmethod
    def from_status(cls, status: status_pb2.Status) -> "AtelierError":
        """Build from a decoded google.rpc.Status."""
        reason = domain = None
        metadata: dict[str, str] = {}
        violations: list[FieldViolation] = []
        for detail in status.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                if reason is None:  # the server sends one; keep the first
                    reason, domain, metadata = info.reason, info.domain, dict(info.metadata)
            elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                violations += [
                    FieldViolation(v.field, v.description, getattr(v, "reason", ""))
                    for v in bad.field_violations
                ]
        try:
            code = next(c for c in grpc.StatusCode if c.value[0] == status.code)
        except StopIteration:
            code = grpc.StatusCode.UNKNOWN
        return cls(
            code=code,
            message=status.message,
            reason=reason,
            domain=domain,
            metadata=metadata,
            field_violations=tuple(violations),
            details=tuple(status.details),
        )

    @classmethod
    def from_rpc_error(cls, error: grpc.RpcError) -> "AtelierError":
        """Decode a `grpc.RpcError` raised by a stub call (unary or streaming).

        Falls back to the bare code and details when the error carries no
        (or an unreadable) `grpc-status-details-bin`.
        """
        status = None
        if isinstance(error, grpc.Call):
            try:
                status = rpc_status.from_call(error)
            except ValueError:
                # grpc-status-details-bin disagrees with the status line
                # (rpc_status checks code and message); use the status line.
                status = None
        if status is not None:
            err = cls.from_status(status)
        else:
            code = error.code() if isinstance(error, grpc.Call) else grpc.StatusCode.UNKNOWN
            message = error.details() if isinstance(error, grpc.Call) else str(error)
            err = cls(code=code or grpc.StatusCode.UNKNOWN, message=message or "")
        err.__cause__ = error
        return err


@contextlib.contextmanager
def atelier_errors() -> Iterator[None]:
    """Turn any `grpc.RpcError` raised inside the block into an `AtelierError`."""
    try:
        yield
    except grpc.RpcError as e:
        raise AtelierError.from_rpc_error(e) from e
