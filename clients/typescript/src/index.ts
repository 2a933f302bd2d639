// TypeScript client for the Atelier gRPC service.
//
// The generated files (protobuf-es v2) hold the messages, enums and service
// descriptors; Connect v2's createClient turns a descriptor and a transport
// into a typed client:
//
//   import { createClient } from "@connectrpc/connect";
//   import { createGrpcTransport } from "@connectrpc/connect-node"; // or connect-web's createGrpcWebTransport
//   import { registry, userHeaders } from "@atelier/client";
//
//   const transport = createGrpcTransport({
//     baseUrl: "http://localhost:50051",
//     interceptors: [userHeaders({ userId: "ada" })],
//   });
//   const skills = createClient(registry.SkillRegistry, transport);
//   const { skill } = await skills.getSkill({ selector: { case: "slug", value: "code-review" } });
import type { Interceptor, Transport } from "@connectrpc/connect";
import { createClient } from "@connectrpc/connect";
import { Outbox } from "./gen/atelier/admin/v1/outbox_pb.js";
import { SkillRegistry } from "./gen/atelier/registry/v1/registry_pb.js";
import { Signals } from "./gen/atelier/signals/v1/signals_pb.js";
import { Workshop } from "./gen/atelier/workshop/v1/workshop_pb.js";

export * as admin from "./gen/atelier/admin/v1/outbox_pb.js";
export * as registry from "./gen/atelier/registry/v1/registry_pb.js";
export * as signals from "./gen/atelier/signals/v1/signals_pb.js";
export * as workshop from "./gen/atelier/workshop/v1/workshop_pb.js";
export * as errorDetails from "./gen-googleapis/google/rpc/error_details_pb.js";
export { AtelierError, hasReason, type FieldViolation } from "./errors.js";

/**
 * An interceptor that sends `x-user-id` (the end user a call acts for) and,
 * when a token is given, `authorization: Bearer <token>` on every call. A
 * header the call set itself is left as it is.
 */
export function userHeaders(opts: { userId?: string; token?: string }): Interceptor {
  return (next) => async (req) => {
    if (opts.userId && !req.header.has("x-user-id")) req.header.set("x-user-id", opts.userId);
    if (opts.token && !req.header.has("authorization"))
      req.header.set("authorization", `Bearer ${opts.token}`);
    return next(req);
  };
}

/** Typed clients for the four Atelier services over one transport. */
export function createAtelierClients(transport: Transport) {
  return {
    registry: createClient(SkillRegistry, transport),
    workshop: createClient(Workshop, transport),
    signals: createClient(Signals, transport),
    outbox: createClient(Outbox, transport),
  };
}

export type AtelierClients = ReturnType<typeof createAtelierClients>;
