//! The events write RPCs store in the outbox, and the one way to store them:
//! through the connection of the caller's transaction, so an event commits
//! or rolls back with the change that caused it.
//!
//! Events carry ids, not state: a handler reloads what it needs and treats a
//! row that has vanished meanwhile as done.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::schema::outbox;

/// A skill was used; payload `{"uses": n}`. Aggregate: the skill.
pub const USAGE_RECORDED: &str = "usage.recorded";
/// A rating of a skill was created or changed. Aggregate: the skill.
pub const RATING_CHANGED: &str = "rating.changed";
/// A version's stored content should be hashed and the outcome recorded.
/// Aggregate: the version.
pub const CONTENT_VERIFY: &str = "content.verify";
/// Stored content may no longer be referenced: delete it if no version
/// does; payload `{"object_key": "…", "sha256": "…"}` (the handler takes
/// `versions::lock_content` for the hash). Aggregate: the skill it belonged
/// to.
pub const CONTENT_UNREFERENCED: &str = "content.unreferenced";
/// A pending build pack should be rendered and stored. Aggregate: the
/// build pack.
pub const BUILD_PACK_RENDER: &str = "build_pack.render";
/// An object nothing references any more (a deleted workshop's build pack)
/// should be deleted; payload `{"object_key": "…"}`. Aggregate: the row it
/// belonged to.
pub const OBJECT_DELETE: &str = "object.delete";

/// One event to store.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = outbox, check_for_backend(diesel::pg::Pg))]
pub struct NewEvent {
    id: Uuid,
    kind: &'static str,
    aggregate_id: Uuid,
    payload: serde_json::Value,
}

impl NewEvent {
    /// An event of `kind` about `aggregate_id`.
    pub fn new(kind: &'static str, aggregate_id: Uuid, payload: serde_json::Value) -> Self {
        Self {
            id: Uuid::now_v7(),
            kind,
            aggregate_id,
            payload,
        }
    }
}

/// Stores `events` in the outbox, inside the caller's transaction.
pub async fn enqueue(conn: &mut AsyncPgConnection, events: &[NewEvent]) -> QueryResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    diesel::insert_into(outbox::table)
        .values(events)
        .execute(conn)
        .await?;
    Ok(())
}
