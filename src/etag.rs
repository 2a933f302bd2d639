//! Etags for optimistic concurrency: a resource's `updated_at` in hex
//! microseconds, opaque to callers. A write that sends one must find the
//! resource unchanged since it was read.

use chrono::{DateTime, Utc};

use crate::error::{ApiError, ApiResult};

/// The etag of a resource last changed at `updated_at`.
pub fn of(updated_at: DateTime<Utc>) -> String {
    format!("{:x}", updated_at.timestamp_micros())
}

/// Fails with FAILED_PRECONDITION (`ETAG_MISMATCH`) when the caller sent
/// an etag (`sent`, empty for none) other than that of `what`, last changed
/// at `updated_at`.
pub fn ensure_matches(
    sent: &str,
    updated_at: DateTime<Utc>,
    what: impl std::fmt::Display,
) -> ApiResult<()> {
    if sent.is_empty() || sent == of(updated_at) {
        Ok(())
    } else {
        Err(ApiError::failed_precondition(
            "ETAG_MISMATCH",
            format!(
                "{what} changed since etag {} was read; read it again",
                crate::text::quote(sent)
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_etag_matches_only_its_own_version() {
        let at = DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap_or_default();
        let later = at + chrono::Duration::microseconds(1);
        assert!(ensure_matches("", at, "x").is_ok());
        assert!(ensure_matches(&of(at), at, "x").is_ok());
        let stale = ensure_matches(&of(at), later, "skill demo").expect_err("stale");
        assert_eq!(stale.reason, "ETAG_MISMATCH");
        assert!(stale.message.starts_with("skill demo changed"));
    }
}
