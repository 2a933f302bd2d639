//! Etags for optimistic concurrency: a resource's `updated_at` in hex
//! microseconds, opaque to callers. A write that sends one must find the
//! resource unchanged since it was read.

use chrono::{DateTime, Utc};

/// The etag of a resource last changed at `updated_at`.
pub fn of(updated_at: DateTime<Utc>) -> String {
    format!("{:x}", updated_at.timestamp_micros())
}

/// The caller's etag names a state the resource has left (the RPC edge
/// answers FAILED_PRECONDITION, `ETAG_MISMATCH`).
#[derive(Debug, thiserror::Error)]
#[error("{what} changed since etag {sent} was read; read it again")]
pub struct EtagMismatch {
    /// The resource, e.g. `skill demo`.
    what: String,
    /// The etag sent, quoted and shortened for the message.
    sent: String,
}

/// Fails when the caller sent an etag (`sent`, empty for none) other than
/// that of `what`, last changed at `updated_at`.
pub fn ensure_matches(
    sent: &str,
    updated_at: DateTime<Utc>,
    what: impl std::fmt::Display,
) -> Result<(), EtagMismatch> {
    if sent.is_empty() || sent == of(updated_at) {
        Ok(())
    } else {
        Err(EtagMismatch {
            what: what.to_string(),
            sent: crate::text::quote(sent),
        })
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
        assert!(stale.to_string().starts_with("skill demo changed"));
    }
}
