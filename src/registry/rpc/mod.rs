//! The SkillRegistry's RPCs, one file per resource. Each handler reads
//! top-down: parse the request into a typed input, authorize, run one
//! transaction through the store, map the result to proto.

pub mod ratings;
pub mod skills;
pub mod usage;
pub mod versions;

use tonic::Code;

use super::error::RegistryError;
use crate::error::ApiError;

/// The one mapping of the registry's errors to what a caller gets: a
/// status code and a stable ErrorInfo reason, the message being the
/// error's own words.
impl From<RegistryError> for ApiError {
    fn from(error: RegistryError) -> Self {
        let message = error.to_string();
        match error {
            RegistryError::NotFound {
                resource,
                id,
                field,
            } => {
                let not_found = ApiError::not_found(resource, id);
                match field {
                    Some(field) => not_found.with_field(field),
                    None => not_found,
                }
            }
            RegistryError::SlugTaken { .. } => {
                ApiError::new(Code::AlreadyExists, "SLUG_TAKEN", message)
            }
            RegistryError::NotAuthor { .. } => ApiError::permission_denied("NOT_AUTHOR", message),
            RegistryError::EtagMismatch(stale) => stale.into(),
            RegistryError::ContentUnverified { .. } => {
                ApiError::failed_precondition("CONTENT_UNVERIFIED", message)
            }
            RegistryError::Database(error) => error.into(),
        }
    }
}
