//! The registry's outbox events: each is the payload's one definition,
//! shared by the code that enqueues it and the handler that runs it
//! ([`super::jobs`]), so a misspelt field does not compile. Kinds and fields
//! are a stored format (see [`crate::outbox::Event`]).

use serde::{Deserialize, Serialize};

use crate::outbox::Event;

/// A skill was used `uses` times. Aggregate: the skill. Written by
/// RecordUsage (also as SQL in `usage::try_record_one`) and summed in
/// PostgreSQL by `jobs::UsageCounter`: a test in `jobs` holds the three to
/// one spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageRecorded {
    /// How many uses to add.
    pub uses: i64,
}

impl Event for UsageRecorded {
    const KIND: &'static str = "usage.recorded";
}

/// A rating of the skill was created or changed. Aggregate: the skill.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct RatingChanged {}

impl Event for RatingChanged {
    const KIND: &'static str = "rating.changed";
}

/// A version's stored content should be hashed and the outcome recorded.
/// Aggregate: the version.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct ContentVerify {}

impl Event for ContentVerify {
    const KIND: &'static str = "content.verify";
}

/// Stored content may no longer be referenced: delete it if no version
/// does. Aggregate: the skill it belonged to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentUnreferenced {
    /// Where the content is stored.
    pub object_key: String,
    /// Its SHA-256 (for `versions::lock_content`).
    pub sha256: String,
}

impl Event for ContentUnreferenced {
    const KIND: &'static str = "content.unreferenced";
}
