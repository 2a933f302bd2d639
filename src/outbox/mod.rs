//! The outbox worker: drains events that write RPCs stored in the same
//! transaction as their rows, and applies their effects.
//!
//! Workers claim batches of due events with `FOR UPDATE SKIP LOCKED`, so any
//! number of them (tasks or processes) drain one table without stepping on
//! each other; a batch's effects and the deletion of its events commit
//! together. An event whose kind this binary does not know is parked as
//! dead (with the reason) instead of being retried forever: it stays
//! visible for an operator and stops blocking anything.

pub mod events;

use std::time::Duration;

use diesel::sql_types::{Array, BigInt, Text, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::config::WorkerConfig;
use crate::db::DbPool;
use crate::error::ApiResult;
use crate::shutdown::Shutdown;

/// One claimed event.
#[derive(Debug, diesel::QueryableByName)]
struct ClaimedEvent {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    kind: String,
}

/// Drains the outbox until `shutdown` fires: a batch at a time while
/// events are due, then a poll every interval.
pub async fn run_worker(pool: DbPool, config: WorkerConfig, shutdown: Shutdown) {
    tracing::info!(
        batch_size = config.outbox_batch_size,
        "outbox worker started"
    );
    let poll_interval = Duration::from_millis(config.outbox_poll_interval_ms);
    while !shutdown.is_triggered() {
        let drained = match drain_batch(&pool, config.outbox_batch_size).await {
            Ok(count) => count,
            Err(error) => {
                tracing::warn!(%error, "outbox batch failed; retrying after the poll interval");
                0
            }
        };
        // A full batch means more may be waiting: go again at once.
        if drained >= config.outbox_batch_size as usize {
            continue;
        }
        tokio::select! {
            () = tokio::time::sleep(poll_interval) => {}
            () = shutdown.wait() => {}
        }
    }
    tracing::info!("outbox worker stopped");
}

/// Claims up to `batch_size` due events and handles them in one
/// transaction; returns how many it claimed.
async fn drain_batch(pool: &DbPool, batch_size: u32) -> ApiResult<usize> {
    let mut conn = pool.get().await?;
    let claimed = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            let events: Vec<ClaimedEvent> = diesel::sql_query(
                "SELECT id, kind FROM outbox \
                     WHERE dead_at IS NULL AND available_at <= now() \
                     ORDER BY available_at, id \
                     LIMIT $1 \
                     FOR UPDATE SKIP LOCKED",
            )
            .bind::<BigInt, _>(i64::from(batch_size))
            .load(conn)
            .await?;
            // No handlers are registered yet: every kind is unknown to
            // this binary, so every claimed event is parked.
            let unknown: Vec<&ClaimedEvent> = events.iter().collect();
            park_unknown(conn, &unknown).await?;
            Ok(events.len())
        })
        .await?;
    if claimed > 0 {
        tracing::debug!(claimed, "outbox batch done");
    }
    Ok(claimed)
}

/// Parks events of kinds this binary cannot handle, saying so.
async fn park_unknown(
    conn: &mut AsyncPgConnection,
    events: &[&ClaimedEvent],
) -> diesel::QueryResult<()> {
    for event in events {
        tracing::warn!(event.id = %event.id, event.kind = %event.kind, "unknown outbox event kind; parked as dead");
    }
    let ids: Vec<Uuid> = events.iter().map(|event| event.id).collect();
    diesel::sql_query(
        "UPDATE outbox SET dead_at = now(), attempts = attempts + 1, \
         last_error = 'unknown event kind ' || kind \
         WHERE id = ANY($1)",
    )
    .bind::<Array<SqlUuid>, _>(ids)
    .execute(conn)
    .await?;
    Ok(())
}
