//! What the Workshop's store, access checks and jobs refuse or fail with,
//! in the Workshop's own terms. They know nothing of gRPC: the RPC edge
//! (`workshop::rpc`) turns each into a status with its ErrorInfo reason,
//! once, and the code that needs to tell errors apart matches variants.

use uuid::Uuid;

use super::fields::Status;
use crate::etag::EtagMismatch;
use crate::resources::Resource;

/// An error of the Workshop's store.
#[derive(Debug, thiserror::Error)]
pub enum WorkshopError {
    /// No `resource` named `id`; `field` is the request field that named
    /// it, when that is not the obvious one.
    #[error("{resource} {id} not found")]
    NotFound {
        resource: &'static Resource,
        id: String,
        field: Option<&'static str>,
    },
    /// The caller is not a member of a shared workshop.
    #[error("only members of workshop {workshop} may {needed}")]
    NotAMember {
        workshop: Uuid,
        needed: &'static str,
    },
    /// The caller's role lacks the power the call needs.
    #[error("role `{role}` may not {needed} in workshop {workshop}")]
    RoleForbids {
        role: String,
        workshop: Uuid,
        needed: &'static str,
    },
    /// The caller's etag is stale.
    #[error(transparent)]
    EtagMismatch(#[from] EtagMismatch),
    /// The owner's plan allows no more owned workshops.
    #[error("the `{plan}` plan allows {cap} owned workshops and you own {owned}")]
    CapReached { plan: String, cap: u32, owned: i64 },
    /// The lifecycle does not allow this status change.
    #[error("a {from} workshop cannot become {to}; allowed: {}", allowed_after(*.from))]
    InvalidTransition { from: Status, to: Status },
    /// The user is a member already.
    #[error("{user_id} is already a member of workshop {workshop}; use UpdateMember")]
    MemberExists { user_id: String, workshop: Uuid },
    /// The change would leave the workshop without an owner.
    #[error("{user_id} is the last owner of workshop {workshop}; make someone else an owner first")]
    LastOwner { user_id: String, workshop: Uuid },
    /// The session is over.
    #[error("session {session} has already ended")]
    SessionEnded { session: Uuid },
    /// The operating system gave no randomness for a share token.
    #[error("no randomness: {0}")]
    NoRandomness(String),
    /// A statement failed (or the connection did).
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
}

impl WorkshopError {
    /// NOT_FOUND for `resource` `id`.
    pub fn not_found(resource: &'static Resource, id: impl std::fmt::Display) -> Self {
        Self::NotFound {
            resource,
            id: id.to_string(),
            field: None,
        }
    }

    /// NOT_FOUND for `resource` `id`, named by request field `field`.
    pub fn not_found_at(
        resource: &'static Resource,
        id: impl std::fmt::Display,
        field: &'static str,
    ) -> Self {
        Self::NotFound {
            resource,
            id: id.to_string(),
            field: Some(field),
        }
    }
}

/// The statuses a workshop in `status` may move to, for people.
fn allowed_after(status: Status) -> String {
    let allowed: Vec<&str> = status.allowed_next().iter().map(|s| s.as_db()).collect();
    if allowed.is_empty() {
        "none (completed is final)".to_owned()
    } else {
        allowed.join(", ")
    }
}

/// The result of the Workshop's store functions.
pub type WorkshopResult<T> = Result<T, WorkshopError>;
