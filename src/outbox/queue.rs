//! The queue's statements: claim, delete, lease, finish, fail with backoff
//! and park. They know the `outbox` table and nothing of what its events
//! mean.

use std::time::Duration;

use diesel::sql_types::{Array, BigInt, Integer, Jsonb, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

/// One claimed event.
#[derive(Debug, Clone, diesel::QueryableByName)]
pub(super) struct ClaimedEvent {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = SqlUuid)]
    pub aggregate_id: Uuid,
    #[diesel(sql_type = Jsonb)]
    pub payload: serde_json::Value,
    /// Attempts before this claim (leased events only).
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    /// The request that enqueued it, when it was traced.
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    pub trace_parent: Option<String>,
}

/// Claims up to a batch of due events of every kind but `excluded` (the
/// kinds bulk aggregates claim themselves), in order, skipping rows other
/// workers hold. The kinds are written into the statement as literals, so
/// the planner can match a partial index spelled the same way
/// (`outbox_other_due_idx`: `kind <> 'usage.recorded'`).
pub(super) async fn claim(
    conn: &mut AsyncPgConnection,
    excluded: &[&str],
    batch_size: u32,
) -> diesel::QueryResult<Vec<ClaimedEvent>> {
    let excluded: String = excluded
        .iter()
        .map(|kind| format!(" AND kind <> '{}'", kind.replace('\'', "''")))
        .collect();
    diesel::sql_query(format!(
        "SELECT id, kind, aggregate_id, payload, attempts, trace_parent FROM outbox \
         WHERE dead_at IS NULL{excluded} AND available_at <= now() \
         ORDER BY available_at, id \
         LIMIT $1 \
         FOR UPDATE SKIP LOCKED"
    ))
    .bind::<BigInt, _>(i64::from(batch_size))
    .load(conn)
    .await
}

pub(super) async fn delete_events(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> diesel::QueryResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    diesel::sql_query("DELETE FROM outbox WHERE id = ANY($1)")
        .bind::<Array<SqlUuid>, _>(ids)
        .execute(conn)
        .await
        .map(drop)
}

/// Hides leased events from other workers for `lease_secs` and counts the
/// attempt.
pub(super) async fn lease_events(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
    lease_secs: u64,
) -> diesel::QueryResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    diesel::sql_query(
        "UPDATE outbox SET attempts = attempts + 1, available_at = now() + make_interval(secs => $2) \
         WHERE id = ANY($1)",
    )
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<diesel::sql_types::Double, _>(lease_secs as f64)
    .execute(conn)
    .await
    .map(drop)
}

pub(super) async fn park(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    reason: &str,
) -> diesel::QueryResult<()> {
    diesel::sql_query(
        "UPDATE outbox SET dead_at = now(), attempts = attempts + 1, last_error = $2 WHERE id = $1",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Text, _>(reason)
    .execute(conn)
    .await
    .map(drop)
}

/// Deletes a finished job's event, unless its lease expired and another
/// worker has leased it since (then that worker finishes it).
pub(super) async fn finish(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    attempt: i32,
) -> diesel::QueryResult<()> {
    diesel::sql_query("DELETE FROM outbox WHERE id = $1 AND attempts = $2")
        .bind::<SqlUuid, _>(id)
        .bind::<Integer, _>(attempt)
        .execute(conn)
        .await
        .map(drop)
}

/// Reschedules a failed job with backoff, or parks it when `dead`.
pub(super) async fn fail(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    attempt: i32,
    error: &str,
    dead: bool,
) -> diesel::QueryResult<()> {
    let delay = backoff(attempt);
    diesel::sql_query(
        "UPDATE outbox SET last_error = $3, \
           available_at = now() + make_interval(secs => $4), \
           dead_at = CASE WHEN $5 THEN now() END \
         WHERE id = $1 AND attempts = $2",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Integer, _>(attempt)
    .bind::<Text, _>(error)
    .bind::<diesel::sql_types::Double, _>(delay.as_secs_f64())
    .bind::<diesel::sql_types::Bool, _>(dead)
    .execute(conn)
    .await
    .map(drop)
}

/// Exponential backoff with full jitter: a random delay up to 2^attempt
/// seconds, capped at ten minutes, so failing events do not retry in step.
pub(super) fn backoff(attempt: i32) -> Duration {
    let ceiling = 2_f64.powi(attempt.clamp(0, 20)).min(600.0);
    let jitter = (Uuid::new_v4().as_u128() % 1_000_000) as f64 / 1_000_000.0;
    Duration::from_secs_f64((ceiling * jitter).max(0.1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_stays_capped() {
        for attempt in 1..30 {
            let delay = backoff(attempt);
            assert!(delay <= Duration::from_secs(600), "{attempt}: {delay:?}");
            assert!(delay >= Duration::from_millis(100));
        }
        let early: f64 = (0..200).map(|_| backoff(1).as_secs_f64()).sum::<f64>() / 200.0;
        let late: f64 = (0..200).map(|_| backoff(8).as_secs_f64()).sum::<f64>() / 200.0;
        assert!(late > early * 10.0, "{early} vs {late}");
    }
}
