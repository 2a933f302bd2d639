//! The Workshop's RPCs, one file per resource. Each handler reads
//! top-down: parse the request into a typed input, authorize against the
//! workshop (`access`), run one transaction through the store, map the
//! result to proto.

pub mod build_packs;
pub mod listing;
pub mod members;
pub mod sessions;
pub mod steps;
pub mod workshops;

use tonic::Code;

use super::error::WorkshopError;
use crate::error::ApiError;

/// The one mapping of the Workshop's errors to what a caller gets: a
/// status code and a stable ErrorInfo reason, the message being the
/// error's own words.
impl From<WorkshopError> for ApiError {
    fn from(error: WorkshopError) -> Self {
        let message = error.to_string();
        match error {
            WorkshopError::NotFound {
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
            WorkshopError::NotAMember { .. } => {
                ApiError::permission_denied("NOT_A_MEMBER", message)
            }
            WorkshopError::RoleForbids { .. } => {
                ApiError::permission_denied("ROLE_FORBIDS", message)
            }
            WorkshopError::EtagMismatch(stale) => stale.into(),
            WorkshopError::CapReached { .. } => {
                ApiError::new(Code::ResourceExhausted, "WORKSHOP_CAP_REACHED", message)
            }
            WorkshopError::InvalidTransition { from, to } => {
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
            WorkshopError::MemberExists { .. } => {
                ApiError::new(Code::AlreadyExists, "MEMBER_EXISTS", message).with_field("user_id")
            }
            WorkshopError::LastOwner { .. } => ApiError::failed_precondition("LAST_OWNER", message),
            WorkshopError::SessionEnded { .. } => {
                ApiError::failed_precondition("SESSION_ENDED", message)
            }
            WorkshopError::NoRandomness(_) => ApiError::internal(message),
            WorkshopError::Database(error) => error.into(),
        }
    }
}
