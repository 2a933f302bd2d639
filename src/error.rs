//! The one error type of the API, and its mapping to `tonic::Status`.
//!
//! Every error leaves the server with a canonical status code, a message for
//! people, and one `google.rpc.ErrorInfo` (domain `atelier`, a stable
//! UPPER_SNAKE `reason`) for programs, as AIP-193 asks. Bad input also
//! carries a `google.rpc.BadRequest` listing every violated field. INTERNAL
//! is reserved for bugs; it is logged here, once, and its message says
//! nothing about the server's insides.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::resources::Resource;

/// Field violations one INVALID_ARGUMENT lists at most.
pub const MAX_VIOLATIONS: usize = 20;

/// The `ErrorInfo.domain` of every error this server returns.
pub const ERROR_DOMAIN: &str = "atelier";

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// The field's path in the request, e.g. `slug` or `usages[3].skill_id`.
    pub field: String,
    /// What is wrong with it, for people.
    pub description: String,
}

impl FieldViolation {
    /// A violation of `field`.
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
        }
    }
}

/// An error an RPC answers with.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code:?} {reason}: {message}")]
pub struct ApiError {
    /// The canonical gRPC status code.
    pub code: Code,
    /// Stable machine-readable reason, UPPER_SNAKE.
    pub reason: &'static str,
    /// Human-readable explanation.
    pub message: String,
    /// Invalid fields (INVALID_ARGUMENT only).
    pub violations: Vec<FieldViolation>,
    /// Extra `ErrorInfo.metadata`, e.g. `field` naming the request field an
    /// error is about.
    pub metadata: Vec<(&'static str, String)>,
    /// How long the caller should wait before retrying, sent as
    /// `google.rpc.RetryInfo` (UNAVAILABLE and ABORTED).
    pub retry_after: Option<std::time::Duration>,
    /// The resource the error is about and its id (or name), sent as
    /// `ErrorInfo.metadata` `resource` and `id` and as a
    /// `google.rpc.ResourceInfo`.
    /// (Boxed: errors travel in every `Result`, and are rare.)
    pub resource: Option<Box<(&'static Resource, String)>>,
}

impl ApiError {
    /// An error with no field violations.
    pub fn new(code: Code, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
            violations: Vec::new(),
            metadata: Vec::new(),
            retry_after: None,
            resource: None,
        }
    }

    /// The same error, about `resource` `id`.
    #[must_use]
    pub fn about(mut self, resource: &'static Resource, id: impl Into<String>) -> Self {
        self.resource = Some(Box::new((resource, id.into())));
        self
    }

    /// The same error, asking the caller to retry after `delay`.
    #[must_use]
    pub fn retry_after(mut self, delay: std::time::Duration) -> Self {
        self.retry_after = Some(delay);
        self
    }

    /// The same error, naming the request field it is about (in the message
    /// and as `ErrorInfo.metadata["field"]`), for errors other than
    /// INVALID_ARGUMENT, such as a NOT_FOUND for one entry of a batch.
    #[must_use]
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        let field = field.into();
        self.message = format!("{field}: {}", self.message);
        self.metadata.push(("field", field));
        self
    }

    /// INVALID_ARGUMENT listing every violated field (the first
    /// [`MAX_VIOLATIONS`] of them, then how many more there were, so a
    /// request with 10,000 bad entries gets an answer of a few KiB).
    pub fn invalid(mut violations: Vec<FieldViolation>) -> Self {
        let message = match violations.as_slice() {
            [only] => format!("invalid {}: {}", only.field, only.description),
            many => format!("{} invalid fields", many.len()),
        };
        if violations.len() > MAX_VIOLATIONS {
            let more = violations.len() - MAX_VIOLATIONS;
            violations.truncate(MAX_VIOLATIONS);
            violations.push(FieldViolation::new(
                "",
                format!("and {more} more problems of the same request"),
            ));
        }
        Self {
            code: Code::InvalidArgument,
            reason: "INVALID_ARGUMENT",
            message,
            violations,
            metadata: Vec::new(),
            retry_after: None,
            resource: None,
        }
    }

    /// INVALID_ARGUMENT for one field.
    pub fn invalid_field(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self::invalid(vec![FieldViolation::new(field, description)])
    }

    /// NOT_FOUND for `resource` `id`, with its reason (`SKILL_NOT_FOUND`)
    /// and `ResourceInfo`.
    pub fn not_found(resource: &'static Resource, id: impl std::fmt::Display) -> Self {
        let id = id.to_string();
        Self::new(
            Code::NotFound,
            resource.not_found,
            format!("{resource} {id} not found"),
        )
        .about(resource, id)
    }

    /// UNAUTHENTICATED.
    pub fn unauthenticated(reason: &'static str, message: impl Into<String>) -> Self {
        Self::new(Code::Unauthenticated, reason, message)
    }

    /// PERMISSION_DENIED.
    pub fn permission_denied(reason: &'static str, message: impl Into<String>) -> Self {
        Self::new(Code::PermissionDenied, reason, message)
    }

    /// FAILED_PRECONDITION.
    pub fn failed_precondition(reason: &'static str, message: impl Into<String>) -> Self {
        Self::new(Code::FailedPrecondition, reason, message)
    }

    /// FAILED_PRECONDITION `INVALID_STATUS_TRANSITION`, with the statuses as
    /// proto enum names in `metadata` (`from`, `to`, `allowed`: comma
    /// separated), so a client can offer the moves there are.
    pub fn invalid_transition(
        message: impl Into<String>,
        from: &str,
        to: &str,
        allowed: &[&str],
    ) -> Self {
        let mut error = Self::failed_precondition("INVALID_STATUS_TRANSITION", message);
        error.metadata = vec![
            ("from", from.to_owned()),
            ("to", to.to_owned()),
            ("allowed", allowed.join(",")),
        ];
        error
    }

    /// UNAVAILABLE: the database or object store cannot be reached now;
    /// the caller may retry (RetryInfo says after how long).
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(Code::Unavailable, "BACKEND_UNAVAILABLE", message)
            .retry_after(std::time::Duration::from_secs(1))
    }

    /// INTERNAL: a bug. The cause is logged here and not sent to the caller.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            Code::Internal,
            "INTERNAL",
            "internal error; see the server log",
        )
    }
}

impl ApiError {
    /// The error as a whole gRPC answer (trailers-only: the status in the
    /// response headers), for tower layers that answer without a handler.
    pub fn into_trailers_only<B: Default>(self) -> http::Response<B> {
        let status = Status::from(self);
        let mut response = http::Response::new(B::default());
        let headers = response.headers_mut();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/grpc"),
        );
        let _ = status.add_header(headers);
        response
    }
}

impl From<ApiError> for Status {
    fn from(error: ApiError) -> Self {
        let mut details = ErrorDetails::new();
        let mut metadata: HashMap<String, String> = error
            .metadata
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        if let Some((resource, id)) = error.resource.as_deref() {
            metadata.insert("resource".to_owned(), resource.name.to_owned());
            metadata.insert("id".to_owned(), id.clone());
            details.set_resource_info(resource.proto_type, id.as_str(), "", error.message.as_str());
        }
        details.set_error_info(error.reason, ERROR_DOMAIN, metadata);
        if let Some(delay) = error.retry_after {
            details.set_retry_info(Some(delay));
        }
        for violation in error.violations {
            details.add_bad_request_violation(violation.field, violation.description);
        }
        Status::with_error_details(error.code, error.message, details)
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(error: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match error {
            Error::NotFound => Self::new(Code::NotFound, "NOT_FOUND", "not found"),
            Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                _,
            ) => {
                tracing::warn!(%error, "the database connection was lost");
                Self::unavailable("the database connection was lost; retry")
            }
            Error::DatabaseError(DatabaseErrorKind::Unknown, ref info)
                if is_server_going_away(info.message()) =>
            {
                tracing::warn!(%error, "the database is restarting, full or refusing work");
                Self::unavailable("the database is restarting or busy; retry")
            }
            // A primary demoted in a failover turns read-only for a moment.
            Error::DatabaseError(DatabaseErrorKind::ReadOnlyTransaction, _) => {
                tracing::warn!(%error, "the database is read-only (failover?)");
                Self::unavailable("the database is read-only for now (failover); retry")
            }
            Error::DatabaseError(DatabaseErrorKind::Unknown, ref info)
                if info.message().starts_with("deadlock detected") =>
            {
                Self::new(
                    Code::Aborted,
                    "CONCURRENT_MODIFICATION",
                    "a concurrent change conflicted with this one; retry",
                )
                .retry_after(std::time::Duration::from_millis(50))
            }
            Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => Self::new(
                Code::Aborted,
                "CONCURRENT_MODIFICATION",
                "a concurrent change conflicted with this one; retry",
            )
            .retry_after(std::time::Duration::from_millis(50)),
            // A commit that failed and could not be rolled back: what the
            // commit met decides (usually the connection, lost).
            Error::RollbackErrorOnCommit { commit_error, .. } => Self::from(*commit_error),
            Error::BrokenTransactionManager => {
                tracing::warn!("a transaction was cut off mid-way (lost connection)");
                Self::unavailable("the database connection was lost; retry")
            }
            other => Self::internal(other),
        }
    }
}

/// Whether a PostgreSQL error message says the server is going away or not
/// taking work now (admin or crash shutdown, start-up, recovery, too many
/// connections, a statement or lock timeout, a full disk, no memory):
/// diesel does not pass the SQLSTATE on, only the message. These are
/// PostgreSQL's own English messages, stable across versions; a server
/// whose `lc_messages` is not English needs `lc_messages = 'C'` for its
/// role, as the README says.
fn is_server_going_away(message: &str) -> bool {
    const GOING_AWAY: &[&str] = &[
        "terminating connection",
        "the database system is",
        "sorry, too many clients",
        "canceling statement due to",
        "server closed the connection",
        "could not extend file",
        "out of memory",
        "could not write to file",
    ];
    GOING_AWAY.iter().any(|prefix| message.starts_with(prefix))
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for ApiError {
    fn from(error: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        tracing::warn!(%error, "no database connection");
        Self::unavailable("the database is unavailable; retry later")
    }
}

/// Gathers every invalid field of a request, so one INVALID_ARGUMENT
/// reports them all instead of one per round trip.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    /// No violations yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the problem of a parse result for `field`; the value when
    /// there is none.
    pub fn check<T>(&mut self, field: &str, parsed: Result<T, String>) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(problem) => {
                self.0.push(FieldViolation::new(field, problem));
                None
            }
        }
    }

    /// Records a violation of `field`.
    pub fn add(&mut self, field: impl Into<String>, problem: impl Into<String>) {
        self.0.push(FieldViolation::new(field, problem));
    }

    /// The violations gathered.
    pub fn into_vec(self) -> Vec<FieldViolation> {
        self.0
    }

    /// INVALID_ARGUMENT with every violation, or `Ok` when there are none.
    pub fn finish(self) -> ApiResult<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::invalid(self.0))
        }
    }
}

/// The result type of repository and service functions.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_carries_error_info_in_the_atelier_domain() {
        let status = Status::from(ApiError::not_found(crate::resources::SKILL, "abc"));
        assert_eq!(status.code(), Code::NotFound);
        let details = status.get_error_details();
        let info = details.error_info().cloned().expect("ErrorInfo");
        assert_eq!(info.reason, "SKILL_NOT_FOUND");
        assert_eq!(info.domain, ERROR_DOMAIN);
        assert_eq!(info.metadata["resource"], "skill");
        assert_eq!(info.metadata["id"], "abc");
        let resource = details.resource_info().cloned().expect("ResourceInfo");
        assert_eq!(resource.resource_type, "atelier.registry.v1.Skill");
        assert_eq!(resource.resource_name, "abc");
    }

    #[test]
    fn a_lost_database_is_unavailable_with_retry_info() {
        let lost = diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UnableToSendCommand,
            Box::new("connection closed".to_owned()),
        );
        let status = Status::from(ApiError::from(lost));
        assert_eq!(status.code(), Code::Unavailable);
        assert!(status.get_error_details().retry_info().is_some());
        let shutdown = diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::Unknown,
            Box::new("terminating connection due to administrator command".to_owned()),
        );
        assert_eq!(ApiError::from(shutdown).code, Code::Unavailable);
    }

    #[test]
    fn invalid_argument_lists_every_field() {
        let status = Status::from(ApiError::invalid(vec![
            FieldViolation::new("slug", "too short"),
            FieldViolation::new("name", "empty"),
        ]));
        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        let fields: Vec<_> = details
            .bad_request()
            .expect("BadRequest")
            .field_violations
            .iter()
            .map(|v| v.field.as_str())
            .collect();
        assert_eq!(fields, ["slug", "name"]);
    }
}
