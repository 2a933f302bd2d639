//! What an Atelier error says beyond its code: every error carries one
//! `google.rpc.ErrorInfo` in the domain `atelier` with a stable
//! UPPER_SNAKE `reason` (branch on it, not on the message), and bad input
//! (INVALID_ARGUMENT) a `google.rpc.BadRequest` naming each field.

use std::collections::HashMap;

use tonic_types::StatusExt as _;

/// The details of one error status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorDetails {
    /// `ErrorInfo.reason`, e.g. `SLUG_TAKEN`; empty when the status has no
    /// ErrorInfo (it did not come from Atelier).
    pub reason: String,
    /// `ErrorInfo.domain`: `atelier` for Atelier's errors.
    pub domain: String,
    /// `ErrorInfo.metadata`.
    pub metadata: HashMap<String, String>,
    /// `BadRequest.field_violations` as (field, description).
    pub violations: Vec<(String, String)>,
}

impl ErrorDetails {
    /// Reads the details of `status`.
    pub fn of(status: &tonic::Status) -> Self {
        let details = status.get_error_details();
        let mut read = Self::default();
        if let Some(info) = details.error_info() {
            read.reason = info.reason.clone();
            read.domain = info.domain.clone();
            read.metadata = info.metadata.clone();
        }
        if let Some(bad) = details.bad_request() {
            read.violations = bad
                .field_violations
                .iter()
                .map(|v| (v.field.clone(), v.description.clone()))
                .collect();
        }
        read
    }

    /// The fields the BadRequest names, in order.
    pub fn fields(&self) -> Vec<&str> {
        self.violations
            .iter()
            .map(|(field, _)| field.as_str())
            .collect()
    }
}
