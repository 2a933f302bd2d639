// Atelier errors with their details decoded.
//
// Every error the Atelier server returns carries a google.rpc.Status in
// `grpc-status-details-bin` with one google.rpc.ErrorInfo (domain "atelier",
// a stable UPPER_SNAKE `reason`, sometimes `metadata`) and, for
// INVALID_ARGUMENT, a google.rpc.BadRequest naming every violated field.
// Connect's gRPC and gRPC-Web transports parse that trailer into
// ConnectError.details; `AtelierError.from` reads the two kinds with
// ConnectError.findDetails:
//
//   try {
//     await registry.createSkill({ slug, name: "" });
//   } catch (e) {
//     const err = AtelierError.from(e);
//     if (err.reason === "SLUG_TAKEN") { … }
//     for (const v of err.fieldViolations) console.log(v.field, v.description);
//   }
import { Code, ConnectError } from "@connectrpc/connect";
import {
  BadRequestSchema,
  ErrorInfoSchema,
} from "./gen-googleapis/google/rpc/error_details_pb.js";

/** One entry of a google.rpc.BadRequest: which field, and what is wrong. */
export interface FieldViolation {
  field: string;
  description: string;
  reason: string;
}

/** A failed Atelier call with its decoded error details. */
export class AtelierError extends Error {
  override name = "AtelierError";

  private constructor(
    /** The gRPC status code. */
    readonly code: Code,
    /** The status message, without Connect's "[code]" prefix. */
    readonly rawMessage: string,
    /** ErrorInfo.reason, e.g. "INVALID_ARGUMENT" or "SLUG_TAKEN"; undefined when the error has no ErrorInfo. */
    readonly reason: string | undefined,
    /** ErrorInfo.domain ("atelier" for the server's own errors). */
    readonly domain: string | undefined,
    /** ErrorInfo.metadata. */
    readonly metadata: Readonly<Record<string, string>>,
    /** BadRequest.field_violations, in the server's order. */
    readonly fieldViolations: readonly FieldViolation[],
    /** The ConnectError this was read from (all details, headers, trailers). */
    override readonly cause: ConnectError,
  ) {
    super(cause.message);
  }

  /** The name of the code as gRPC spells it, e.g. "INVALID_ARGUMENT". */
  get codeName(): string {
    return Code[this.code]
      .replace(/([a-z])([A-Z])/g, "$1_$2")
      .toUpperCase();
  }

  /** The violated field paths, in the server's order. */
  get fields(): string[] {
    return this.fieldViolations.map((v) => v.field);
  }

  /** The violation of one field (e.g. "signal.verbatim"), if any. */
  violation(field: string): FieldViolation | undefined {
    return this.fieldViolations.find((v) => v.field === field);
  }

  /**
   * Decode any error thrown by a Connect client call (unary or streaming).
   * Anything that is not a ConnectError becomes one first (Code.Unknown, or
   * Code.Canceled for an abort), so this never throws.
   */
  static from(error: unknown): AtelierError {
    const ce = ConnectError.from(error);
    const info = ce.findDetails(ErrorInfoSchema)[0];
    const violations = ce
      .findDetails(BadRequestSchema)
      .flatMap((b) => b.fieldViolations)
      .map((v) => ({ field: v.field, description: v.description, reason: v.reason }));
    return new AtelierError(
      ce.code,
      ce.rawMessage,
      info?.reason,
      info?.domain,
      { ...(info?.metadata ?? {}) },
      violations,
      ce,
    );
  }
}

/** True when `error` is an Atelier error with this ErrorInfo reason. */
export function hasReason(error: unknown, reason: string): boolean {
  return AtelierError.from(error).reason === reason;
}
