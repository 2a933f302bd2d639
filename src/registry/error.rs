//! What the registry's store and jobs refuse or fail with, in the
//! registry's own terms. They know nothing of gRPC: the RPC edge
//! (`registry::rpc`) turns each into a status with its ErrorInfo reason,
//! once, and the code that needs to tell errors apart matches variants.

use crate::etag::EtagMismatch;
use crate::resources::Resource;

/// An error of the registry's store.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// No `resource` named `id`; `field` is the request field that named
    /// it when one entry of a batch did (`usages[3].skill_id`).
    #[error("{resource} {id} not found")]
    NotFound {
        resource: &'static Resource,
        id: String,
        field: Option<String>,
    },
    /// Another skill has the slug.
    #[error("a skill with slug {slug} already exists")]
    SlugTaken { slug: String },
    /// Only the skill's author may change it.
    #[error("only the author of skill {slug} may change it")]
    NotAuthor { slug: String },
    /// The caller's etag is stale.
    #[error(transparent)]
    EtagMismatch(#[from] EtagMismatch),
    /// The version's content failed verification.
    #[error("version {version} failed content verification and cannot be published")]
    ContentUnverified { version: i32 },
    /// A statement failed (or the connection did).
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
}

impl RegistryError {
    /// NOT_FOUND for `resource` `id`.
    pub fn not_found(resource: &'static Resource, id: impl std::fmt::Display) -> Self {
        Self::NotFound {
            resource,
            id: id.to_string(),
            field: None,
        }
    }

    /// The same error; a NOT_FOUND names `field` as what named the resource.
    #[must_use]
    pub fn at_field(self, field: String) -> Self {
        match self {
            Self::NotFound { resource, id, .. } => Self::NotFound {
                resource,
                id,
                field: Some(field),
            },
            other => other,
        }
    }
}

/// The result of the registry's store functions.
pub type RegistryResult<T> = Result<T, RegistryError>;
