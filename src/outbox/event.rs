//! Events, and the one way to store them: through the connection of the
//! caller's transaction, so an event commits or rolls back with the change
//! that caused it.
//!
//! Each kind of event is a serde type beside the domain code that enqueues
//! and runs it (see `registry::jobs`, `workshop::jobs`): the struct is the
//! payload's schema, so a misspelt field fails to compile instead of parking
//! an event at run time. Events carry ids, not state: a handler reloads what
//! it needs and treats a row that has vanished meanwhile as done.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::schema::outbox;

/// A kind of outbox event: its payload type and the name stored in
/// `outbox.kind`.
///
/// A kind's name and fields are a stored format: events written by the
/// previous release must still parse (add optional fields only, or migrate
/// the stored payloads in a migration).
pub trait Event: Serialize + DeserializeOwned + Send + 'static {
    /// The `outbox.kind` of this event, e.g. `content.verify`.
    const KIND: &'static str;
}

/// One event to store.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = outbox, check_for_backend(diesel::pg::Pg))]
pub struct NewEvent {
    id: Uuid,
    kind: &'static str,
    aggregate_id: Uuid,
    payload: serde_json::Value,
    /// The request that caused it, for the worker's span to link to.
    trace_parent: Option<String>,
}

impl NewEvent {
    /// `event` about `aggregate_id` (the row it concerns).
    pub fn of<E: Event>(aggregate_id: Uuid, event: &E) -> Self {
        Self {
            id: Uuid::now_v7(),
            kind: E::KIND,
            aggregate_id,
            // A derived Serialize of plain fields cannot fail; were it ever
            // to, the null payload is parked as malformed, never lost.
            payload: serde_json::to_value(event).unwrap_or(serde_json::Value::Null),
            trace_parent: crate::telemetry::trace_context::current_traceparent(),
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

/// Stores one `event` about `aggregate_id`, inside the caller's transaction.
pub async fn enqueue_one<E: Event>(
    conn: &mut AsyncPgConnection,
    aggregate_id: Uuid,
    event: &E,
) -> QueryResult<()> {
    enqueue(conn, &[NewEvent::of(aggregate_id, event)]).await
}
