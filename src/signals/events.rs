//! The Signals outbox events: each is the payload's one definition, shared
//! by the code that enqueues it and the handler that runs it
//! ([`super::jobs`]). Kinds and fields are a stored format (see
//! [`crate::outbox::Event`]).

use serde::{Deserialize, Serialize};

use crate::outbox::Event;

/// Something that can move a project's counts changed: a link or unlink,
/// a linked signal's severity, a linked signal's deletion. Aggregate: the
/// project. The worker recomputes the project's counts from the links, so
/// any number of these per project cost one recount per batch.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct ProjectCountsChanged {}

impl Event for ProjectCountsChanged {
    const KIND: &'static str = "project.counts_changed";
}
