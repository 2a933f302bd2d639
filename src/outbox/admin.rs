//! What operators ask of the outbox: counts, the dead events, and retrying
//! them. Used by the `atelier.admin.v1.Outbox` service and the `atelier
//! outbox` subcommands.

use crate::db::rows::SingleRow as _;
use std::collections::BTreeMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::schema::outbox;

/// Events this process's workers processed, by kind, since it started.
#[derive(Debug)]
pub struct OutboxMetrics {
    /// When the process started counting.
    pub started_at: DateTime<Utc>,
    processed: Mutex<BTreeMap<String, i64>>,
}

impl Default for OutboxMetrics {
    fn default() -> Self {
        Self {
            started_at: Utc::now(),
            processed: Mutex::new(BTreeMap::new()),
        }
    }
}

impl OutboxMetrics {
    /// Counts `count` processed events of `kind`.
    pub fn add(&self, kind: &str, count: i64) {
        if let Ok(mut processed) = self.processed.lock() {
            *processed.entry(kind.to_owned()).or_default() += count;
        }
    }

    /// The counts so far.
    pub fn snapshot(&self) -> BTreeMap<String, i64> {
        self.processed.lock().map(|p| p.clone()).unwrap_or_default()
    }
}

/// Pending and dead counts, and the oldest pending event's creation time.
#[derive(Debug, QueryableByName)]
pub struct OutboxCounts {
    #[diesel(sql_type = BigInt)]
    pub pending: i64,
    #[diesel(sql_type = BigInt)]
    pub dead: i64,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub oldest_pending: Option<DateTime<Utc>>,
}

/// Counts the outbox.
pub async fn counts(conn: &mut AsyncPgConnection) -> QueryResult<OutboxCounts> {
    diesel::sql_query(
        "SELECT count(*) FILTER (WHERE dead_at IS NULL) AS pending, \
                count(*) FILTER (WHERE dead_at IS NOT NULL) AS dead, \
                min(created_at) FILTER (WHERE dead_at IS NULL) AS oldest_pending \
         FROM outbox",
    )
    .load(conn)
    .await
    .single()
}

/// A dead event.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox, check_for_backend(diesel::pg::Pg))]
pub struct DeadEvent {
    pub id: Uuid,
    pub kind: String,
    pub aggregate_id: Uuid,
    pub payload: serde_json::Value,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub dead_at: Option<DateTime<Utc>>,
}

/// Dead events, oldest first, after the event `after` (by id, which is
/// time-ordered).
pub async fn list_dead(
    conn: &mut AsyncPgConnection,
    limit: i64,
    after: Option<Uuid>,
) -> QueryResult<Vec<DeadEvent>> {
    let mut query = outbox::table
        .filter(outbox::dead_at.is_not_null())
        .select(DeadEvent::as_select())
        .order(outbox::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(outbox::id.gt(after));
    }
    query.load(conn).await
}

/// Puts dead events back in the queue, attempts reset: those in `ids`, or
/// all when `all`. Returns how many.
pub async fn retry_dead(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
    all: bool,
) -> QueryResult<usize> {
    diesel::sql_query(
        "UPDATE outbox SET dead_at = NULL, attempts = 0, available_at = now() \
         WHERE dead_at IS NOT NULL AND ($2 OR id = ANY($1))",
    )
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<Bool, _>(all)
    .execute(conn)
    .await
}
