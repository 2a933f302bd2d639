//! The Signals RPCs, one file per resource. Each handler reads top-down:
//! parse the request into a typed input, authorize against the workspace
//! (`access`), run one transaction through the store, map the result to
//! proto.

pub mod links;
pub mod members;
pub mod projects;
pub mod signals;
pub mod workspaces;

use tonic::Code;

use super::error::SignalsError;
use crate::error::ApiError;

/// The one mapping of the Signals errors to what a caller gets: a status
/// code and a stable ErrorInfo reason, the message being the error's own
/// words.
impl From<SignalsError> for ApiError {
    fn from(error: SignalsError) -> Self {
        let message = error.to_string();
        match error {
            SignalsError::NotFound {
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
            SignalsError::RoleForbids { .. } => {
                ApiError::permission_denied("ROLE_FORBIDS", message)
            }
            SignalsError::EtagMismatch(stale) => stale.into(),
            SignalsError::ProjectNameTaken { .. } => {
                ApiError::new(Code::AlreadyExists, "PROJECT_NAME_TAKEN", message).with_field("name")
            }
            SignalsError::MemberExists { .. } => {
                ApiError::new(Code::AlreadyExists, "MEMBER_EXISTS", message).with_field("user_id")
            }
            SignalsError::LastOwner { .. } => ApiError::failed_precondition("LAST_OWNER", message),
            SignalsError::InvalidTransition { from, to } => {
                let allowed: Vec<&str> = from
                    .allowed_next()
                    .iter()
                    .map(|s| s.to_proto().as_str_name())
                    .collect();
                ApiError::invalid_transition(
                    message,
                    from.to_proto().as_str_name(),
                    to.to_proto().as_str_name(),
                    &allowed,
                )
            }
            SignalsError::NoLinks { .. } => {
                ApiError::failed_precondition("SIGNAL_HAS_NO_LINKS", message)
            }
            SignalsError::EmbeddingDimension { field, .. } => {
                ApiError::invalid_field(field, message)
            }
            SignalsError::CrossWorkspaceLink { .. } => ApiError {
                reason: "CROSS_WORKSPACE_LINK",
                ..ApiError::invalid_field("project_id", message)
            },
            SignalsError::Database(error) => error.into(),
        }
    }
}
