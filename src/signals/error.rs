//! What the Signals store, access checks and jobs refuse or fail with, in
//! the domain's own terms. They know nothing of gRPC: the RPC edge
//! (`signals::rpc`) turns each into a status with its ErrorInfo reason,
//! once, and code that must tell errors apart matches variants.

use uuid::Uuid;

use super::fields::SignalStatus;
use crate::etag::EtagMismatch;
use crate::resources::Resource;

/// An error of the Signals store.
#[derive(Debug, thiserror::Error)]
pub enum SignalsError {
    /// No `resource` named `id`; `field` is the request field that named
    /// it, when that is not the obvious one.
    #[error("{resource} {id} not found")]
    NotFound {
        resource: &'static Resource,
        id: String,
        field: Option<String>,
    },
    /// The caller's role lacks the power the call needs.
    #[error("role `{role}` may not {needed} in workspace {workspace}")]
    RoleForbids {
        role: String,
        workspace: Uuid,
        needed: &'static str,
    },
    /// The caller's etag is stale.
    #[error(transparent)]
    EtagMismatch(#[from] EtagMismatch),
    /// Another project of the workspace has the name.
    #[error("workspace {workspace} already has a project named {name}")]
    ProjectNameTaken { workspace: Uuid, name: String },
    /// The user is a member already.
    #[error("{user_id} is already a member of workspace {workspace}; use UpdateWorkspaceMember")]
    MemberExists { user_id: String, workspace: Uuid },
    /// The change would leave the workspace without an owner.
    #[error(
        "{user_id} is the last owner of workspace {workspace}; make someone else an owner first"
    )]
    LastOwner { user_id: String, workspace: Uuid },
    /// The signal's status cannot move there.
    #[error("a signal that is {from} cannot become {to}")]
    InvalidTransition {
        from: SignalStatus,
        to: SignalStatus,
    },
    /// Only links make a signal LINKED.
    #[error("signal {signal} has no links; link it to a project or persona, which makes it linked")]
    NoLinks { signal: Uuid },
    /// An embedding's dimension differs from the workspace's.
    #[error(
        "has {given} dimensions; workspace {workspace} stores embeddings of {expected} dimensions"
    )]
    EmbeddingDimension {
        workspace: Uuid,
        expected: i32,
        given: i32,
        field: String,
    },
    /// A link names a project of another workspace.
    #[error("project {project} is not in workspace {workspace} of signal {signal}")]
    CrossWorkspaceLink {
        signal: Uuid,
        project: Uuid,
        workspace: Uuid,
    },
    /// A statement failed (or the connection did).
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
}

impl SignalsError {
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
        field: impl Into<String>,
    ) -> Self {
        Self::NotFound {
            resource,
            id: id.to_string(),
            field: Some(field.into()),
        }
    }
}

/// The result of the Signals store functions.
pub type SignalsResult<T> = Result<T, SignalsError>;
