//! Server-assigned ids as callers send them back: parsed once, with the
//! field named when they are not ids.

use crate::error::{ApiError, ApiResult};

/// A server-assigned id, as callers send it back.
pub fn id(raw: &str) -> Result<uuid::Uuid, String> {
    if raw.is_empty() {
        return Err("must be set".to_owned());
    }
    uuid::Uuid::parse_str(raw)
        .map_err(|_| format!("{} is not an id (a UUID)", crate::text::quote(raw)))
}

/// The id in request field `field`, or INVALID_ARGUMENT naming that field.
pub fn id_field(field: &str, raw: &str) -> ApiResult<uuid::Uuid> {
    id(raw).map_err(|problem| ApiError::invalid_field(field, problem))
}
