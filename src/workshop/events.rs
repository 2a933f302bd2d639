//! The Workshop's outbox events, shared by the code that enqueues them and
//! the jobs that run them ([`super::jobs`]).

use serde::{Deserialize, Serialize};

use crate::outbox::Event;

/// A pending build pack should be rendered and stored. Aggregate: the pack.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct BuildPackRender {}

impl Event for BuildPackRender {
    const KIND: &'static str = "build_pack.render";
}

/// An object nothing references any more should be deleted. Aggregate: the
/// row it belonged to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectDelete {
    /// Where the object is stored.
    pub object_key: String,
}

impl Event for ObjectDelete {
    const KIND: &'static str = "object.delete";
}
