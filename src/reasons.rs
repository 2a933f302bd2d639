//! Every `google.rpc.ErrorInfo.reason` the server answers with, its status
//! code and what it means: the catalogue the README's "Error reasons"
//! table is checked against (tests/error_reasons.rs), so a new reason
//! cannot ship undocumented. The NOT_FOUND reasons of the resource kinds
//! (`SKILL_NOT_FOUND`, …) are in [`crate::resources::ALL`].

use tonic::Code;

/// A reason, its code and its meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reason {
    pub reason: &'static str,
    /// The status code it comes with.
    pub code: Code,
    pub meaning: &'static str,
}

const fn reason(reason: &'static str, code: Code, meaning: &'static str) -> Reason {
    Reason {
        reason,
        code,
        meaning,
    }
}

/// Every reason but the resource kinds' NOT_FOUNDs.
pub const REASONS: &[Reason] = &[
    reason(
        "INVALID_ARGUMENT",
        Code::InvalidArgument,
        "a request field is invalid; BadRequest lists each field",
    ),
    reason(
        "SHA256_MISMATCH",
        Code::InvalidArgument,
        "the content does not hash to expected_sha256",
    ),
    reason(
        "CROSS_WORKSPACE_LINK",
        Code::InvalidArgument,
        "a link names a project of another workspace",
    ),
    reason(
        "REQUEST_ID_REUSED",
        Code::InvalidArgument,
        "the request_id was used for a different request",
    ),
    reason(
        "MALFORMED_REQUEST",
        Code::InvalidArgument,
        "the request body is not a valid protobuf message",
    ),
    reason(
        "USER_REQUIRED",
        Code::Unauthenticated,
        "no x-user-id metadata on a call that acts for a user",
    ),
    reason(
        "USER_INVALID",
        Code::Unauthenticated,
        "x-user-id is empty, too long, not ASCII or sent twice",
    ),
    reason(
        "TOKEN_REQUIRED",
        Code::Unauthenticated,
        "the server has tokens configured and the call sent none",
    ),
    reason(
        "TOKEN_INVALID",
        Code::Unauthenticated,
        "the bearer token is not one the server knows",
    ),
    reason(
        "SCOPE_MISSING",
        Code::PermissionDenied,
        "the token lacks the service's scope (rpc for the product services, admin for Outbox)",
    ),
    reason(
        "NOT_AUTHOR",
        Code::PermissionDenied,
        "only the skill's author may change it",
    ),
    reason(
        "NOT_A_MEMBER",
        Code::PermissionDenied,
        "the caller is not a member of the (shared) workshop",
    ),
    reason(
        "ROLE_FORBIDS",
        Code::PermissionDenied,
        "the caller's role lacks the power the call needs",
    ),
    reason(
        "NOT_YOUR_SESSION",
        Code::PermissionDenied,
        "the session belongs to another user",
    ),
    reason(
        "NOT_FOUND",
        Code::NotFound,
        "a row vanished during the call (a concurrent delete); retry",
    ),
    reason(
        "SLUG_TAKEN",
        Code::AlreadyExists,
        "another skill has the slug",
    ),
    reason(
        "MEMBER_EXISTS",
        Code::AlreadyExists,
        "the user is a member already",
    ),
    reason(
        "PROJECT_NAME_TAKEN",
        Code::AlreadyExists,
        "another project of the workspace has the name",
    ),
    reason(
        "ETAG_MISMATCH",
        Code::FailedPrecondition,
        "the etag sent is not the resource's current one; read it again",
    ),
    reason(
        "CONTENT_UNVERIFIED",
        Code::FailedPrecondition,
        "the version's content failed verification; it cannot be published",
    ),
    reason(
        "INVALID_STATUS_TRANSITION",
        Code::FailedPrecondition,
        "the lifecycle does not allow this status change; metadata from, to and allowed (proto enum names)",
    ),
    reason(
        "LAST_OWNER",
        Code::FailedPrecondition,
        "the change would leave no owner",
    ),
    reason(
        "SESSION_ENDED",
        Code::FailedPrecondition,
        "the session is over",
    ),
    reason(
        "SIGNAL_HAS_NO_LINKS",
        Code::FailedPrecondition,
        "only links make a signal LINKED",
    ),
    reason(
        "BUILD_PACK_PENDING",
        Code::FailedPrecondition,
        "the build pack is still rendering; poll GetBuildPack",
    ),
    reason(
        "BUILD_PACK_FAILED",
        Code::FailedPrecondition,
        "the build pack failed to render; create another",
    ),
    reason(
        "CONTENT_TOO_LARGE",
        Code::ResourceExhausted,
        "content over the inline or upload limit",
    ),
    reason(
        "MESSAGE_TOO_LARGE",
        Code::ResourceExhausted,
        "a request message over the server's decoding limit",
    ),
    reason(
        "WORKSHOP_CAP_REACHED",
        Code::ResourceExhausted,
        "the caller's plan allows no more owned workshops",
    ),
    reason(
        "CONCURRENT_MODIFICATION",
        Code::Aborted,
        "a concurrent change conflicted; retry (RetryInfo says when)",
    ),
    reason(
        "UPLOAD_INTERRUPTED",
        Code::Cancelled,
        "the upload stream broke off before its end",
    ),
    reason(
        "CONTENT_CORRUPTED",
        Code::DataLoss,
        "stored content does not hash to its recorded SHA-256",
    ),
    reason(
        "BACKEND_UNAVAILABLE",
        Code::Unavailable,
        "the database or object store cannot be reached now; retry (RetryInfo)",
    ),
    reason(
        "DEADLINE_EXCEEDED",
        Code::DeadlineExceeded,
        "the call's grpc-timeout passed before it finished; retry writes with the same request_id",
    ),
    reason(
        "OVERLOADED",
        Code::Unavailable,
        "the server runs --max-concurrent-rpcs calls already; retry shortly (RetryInfo) or elsewhere",
    ),
    reason("INTERNAL", Code::Internal, "a bug; the server logged it"),
];

/// The code `reason` comes with, if the catalogue documents it.
pub fn code_of(reason: &str) -> Option<Code> {
    let resource = crate::resources::ALL.iter().find(|r| r.not_found == reason);
    match resource {
        Some(_) => Some(Code::NotFound),
        None => REASONS.iter().find(|r| r.reason == reason).map(|r| r.code),
    }
}
