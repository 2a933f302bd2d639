//! The outbox worker: drains the events that write RPCs stored in the same
//! transaction as their rows, and applies their effects.
//!
//! Workers claim batches of due events with `FOR UPDATE SKIP LOCKED`, so any
//! number of them (tasks or processes) drain one table without stepping on
//! each other. Within the claiming transaction:
//!
//! * effects in the database (usage counters, rating aggregates) are
//!   applied, coalesced per skill, and their events deleted — all or
//!   nothing, so each takes effect exactly once;
//! * effects outside the database (content verification and deletion,
//!   build-pack rendering, deleting a deleted workshop's objects) are
//!   *leased*: their `available_at` moves a lease period ahead and their
//!   attempt count up. They then run with no transaction open, and their
//!   event is deleted (or rescheduled with backoff) afterwards. A worker that
//!   dies mid-job leaves the lease to expire, and another worker picks the
//!   event up within the lease period (default 30 s);
//! * an event of a kind this binary does not know, or with a malformed
//!   payload, is parked as dead with the reason, never retried forever.
//!
//! A failing event is retried with exponential backoff and jitter, and
//! parked as dead after the maximum number of attempts.

pub mod admin;
mod aggregates;
mod build_pack_jobs;
pub mod content_jobs;
pub mod events;

use std::collections::BTreeMap;
use std::time::Duration;

use diesel::sql_types::{Array, BigInt, Integer, Jsonb, Text, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::app::AppState;
use crate::config::WorkerConfig;
use crate::error::{ApiError, ApiResult};
use crate::shutdown::Shutdown;

/// One claimed event.
#[derive(Debug, Clone, diesel::QueryableByName)]
struct ClaimedEvent {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = SqlUuid)]
    aggregate_id: Uuid,
    #[diesel(sql_type = Jsonb)]
    payload: serde_json::Value,
    /// Attempts including this claim (leased events only).
    #[diesel(sql_type = Integer)]
    attempts: i32,
}

/// An effect outside the database, leased for a worker to run.
#[derive(Debug)]
enum Job {
    Verify { version_id: Uuid },
    DeleteUnreferenced { object_key: String, sha256: String },
    RenderBuildPack { pack_id: Uuid },
    DeleteObject { object_key: String },
}

/// What a claimed event (of any kind but usage) asks for.
#[derive(Debug)]
enum Work {
    RecomputeRatings(Uuid),
    Run(Job),
    Park(String),
}

fn classify(event: &ClaimedEvent) -> Work {
    let text = |field: &str| {
        event
            .payload
            .get(field)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    };
    match event.kind.as_str() {
        events::RATING_CHANGED => Work::RecomputeRatings(event.aggregate_id),
        events::CONTENT_VERIFY => Work::Run(Job::Verify {
            version_id: event.aggregate_id,
        }),
        events::CONTENT_UNREFERENCED => match (text("object_key"), text("sha256")) {
            (Some(object_key), Some(sha256)) => {
                Work::Run(Job::DeleteUnreferenced { object_key, sha256 })
            }
            _ => Work::Park(format!(
                "malformed {} payload: {}",
                event.kind, event.payload
            )),
        },
        events::BUILD_PACK_RENDER => Work::Run(Job::RenderBuildPack {
            pack_id: event.aggregate_id,
        }),
        events::OBJECT_DELETE => match text("object_key") {
            Some(object_key) => Work::Run(Job::DeleteObject { object_key }),
            None => Work::Park(format!(
                "malformed {} payload: {}",
                event.kind, event.payload
            )),
        },
        other => Work::Park(format!("unknown event kind {other}")),
    }
}

/// The channel the outbox trigger notifies on commit.
const NOTIFY_CHANNEL: &str = "atelier_outbox";

/// Drains the outbox until `shutdown` fires: a batch at a time while
/// events are due; then it waits for a notification from the outbox trigger
/// (on its own connection to `listen_url`, when given) or the poll
/// interval, whichever comes first.
pub async fn run_worker(
    state: AppState,
    config: WorkerConfig,
    listen_url: Option<String>,
    shutdown: Shutdown,
) {
    tracing::info!(
        batch_size = config.outbox_batch_size,
        "outbox worker started"
    );
    let poll_interval = Duration::from_millis(config.outbox_poll_interval_ms);
    let linger = Duration::from_millis(config.outbox_linger_ms);
    let mut listener = None;
    while !shutdown.is_triggered() {
        let claimed = match drain_batch(&state, &config).await {
            Ok(count) => count,
            Err(error) => {
                tracing::warn!(%error, "outbox batch failed; retrying after the poll interval");
                0
            }
        };
        // A full batch means more may be waiting: go again at once.
        if claimed >= config.outbox_batch_size as usize {
            continue;
        }
        if listener.is_none()
            && let Some(url) = &listen_url
        {
            listener = listen(url).await;
        }
        tokio::select! {
            () = tokio::time::sleep(poll_interval) => {}
            () = shutdown.wait() => {}
            alive = notified(&mut listener) => {
                if alive {
                    // Let the burst that woke us grow a little: one batch then
                    // carries many events instead of a handful.
                    tokio::select! {
                        () = tokio::time::sleep(linger) => {}
                        () = shutdown.wait() => {}
                    }
                } else {
                    tracing::debug!("outbox notification connection lost; polling until it is back");
                    listener = None;
                }
            }
        }
    }
    tracing::info!("outbox worker stopped");
}

/// A connection listening on the outbox channel, or `None` (then the worker
/// only polls) when it cannot be opened.
async fn listen(url: &str) -> Option<AsyncPgConnection> {
    // Bounded: the worker must never hang here instead of polling.
    let connecting = AsyncPgConnection::establish(url);
    let mut conn = match tokio::time::timeout(Duration::from_secs(5), connecting).await {
        Ok(Ok(conn)) => conn,
        Ok(Err(error)) => {
            tracing::debug!(%error, "cannot open the outbox notification connection");
            return None;
        }
        Err(_) => {
            tracing::debug!("opening the outbox notification connection timed out");
            return None;
        }
    };
    diesel::sql_query(format!("LISTEN {NOTIFY_CHANNEL}"))
        .execute(&mut conn)
        .await
        .ok()?;
    Some(conn)
}

/// Waits for the next notification: true when one came, false when the
/// connection ended; never completes without a listener.
async fn notified(listener: &mut Option<AsyncPgConnection>) -> bool {
    use futures_util::StreamExt as _;
    let Some(conn) = listener.as_mut() else {
        return std::future::pending().await;
    };
    let mut notifications = std::pin::pin!(conn.notifications_stream());
    matches!(notifications.next().await, Some(Ok(_)))
}

/// Claims up to a batch of due events, applies or leases them, runs the
/// leased jobs; returns how many events it claimed. (`run_worker` calls it
/// in a loop; tests and tools call it directly.)
pub async fn drain_batch(state: &AppState, config: &WorkerConfig) -> ApiResult<usize> {
    let mut conn = state.pool.get().await?;
    let batch_size = config.outbox_batch_size;
    let lease = config.outbox_lease_secs;
    let max_attempts = i32::try_from(config.outbox_max_attempts).unwrap_or(i32::MAX);
    let (claimed, jobs, applied_kinds) = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let usage = claim_usage(conn, batch_size).await?;
            let events = claim_others(conn, batch_size).await?;
            let mut ratings = Vec::new();
            let mut applied = Vec::new();
            let mut leased = Vec::new();
            let mut parked: Vec<(Uuid, String)> = usage
                .malformed
                .iter()
                .map(|id| (*id, format!("malformed {} payload", events::USAGE_RECORDED)))
                .collect();
            for event in &events {
                match classify(event) {
                    Work::RecomputeRatings(skill) => {
                        ratings.push(skill);
                        applied.push(event.id);
                    }
                    // A job whose leases kept expiring (its worker died each
                    // time) is parked like one that kept failing.
                    Work::Run(_) if event.attempts >= max_attempts => parked.push((
                        event.id,
                        format!(
                            "its lease expired {} times without the job finishing",
                            event.attempts
                        ),
                    )),
                    // Lease no more than one worker runs well within a
                    // lease; the rest stay due for the next claim.
                    Work::Run(_) if leased.len() >= JOBS_PER_BATCH => {}
                    Work::Run(job) => leased.push((event.clone(), job)),
                    Work::Park(reason) => parked.push((event.id, reason)),
                }
            }
            aggregates::add_uses(conn, &usage.uses).await?;
            aggregates::recompute_ratings(conn, &ratings).await?;
            delete_events(conn, &applied).await?;
            let leased_ids: Vec<Uuid> = leased.iter().map(|(e, _)| e.id).collect();
            lease_events(conn, &leased_ids, lease).await?;
            for (id, reason) in &parked {
                tracing::warn!(event.id = %id, reason, "outbox event parked as dead");
                park(conn, *id, reason).await?;
            }
            let mut applied_kinds: BTreeMap<String, i64> = BTreeMap::new();
            if usage.applied > 0 {
                applied_kinds.insert(events::USAGE_RECORDED.to_owned(), usage.applied);
            }
            for event in events.iter().filter(|e| applied.contains(&e.id)) {
                *applied_kinds.entry(event.kind.clone()).or_default() += 1;
            }
            let claimed = usage.claimed + events.len();
            if claimed > 0 {
                tracing::debug!(
                    claimed,
                    applied = usage.applied + applied.len() as i64,
                    leased = leased.len(),
                    parked = parked.len(),
                    skills_updated = usage.uses.len() + ratings.len(),
                    "outbox batch committed"
                );
            }
            Ok((claimed, leased, applied_kinds))
        })
        .await?;
    drop(conn);
    for (kind, count) in &applied_kinds {
        state.outbox_metrics.add(kind, *count);
    }

    for (event, job) in jobs {
        let outcome = match &job {
            Job::Verify { version_id } => content_jobs::verify(state, *version_id).await.map(drop),
            Job::DeleteUnreferenced { object_key, sha256 } => {
                content_jobs::delete_unreferenced(state, object_key, sha256)
                    .await
                    .map(drop)
            }
            Job::RenderBuildPack { pack_id } => {
                build_pack_jobs::render_build_pack(state, *pack_id).await
            }
            Job::DeleteObject { object_key } => {
                build_pack_jobs::delete_object(state, object_key).await
            }
        };
        // Leased attempts are counted at claim time: `event.attempts + 1`.
        let attempt = event.attempts + 1;
        let mut conn = state.pool.get().await?;
        match outcome {
            Ok(()) => {
                finish(&mut conn, event.id, attempt).await?;
                state.outbox_metrics.add(&event.kind, 1);
            }
            Err(error) => {
                tracing::warn!(event.id = %event.id, event.kind = %event.kind, attempt, %error, "outbox job failed");
                let dead = attempt >= max_attempts;
                fail(&mut conn, event.id, attempt, &error, dead).await?;
                if dead && let Job::RenderBuildPack { pack_id } = &job {
                    // Its reader would otherwise wait on "pending" forever.
                    let reason = format!("rendering failed {attempt} times; last error: {error}");
                    if let Err(error) = build_pack_jobs::mark_failed(state, *pack_id, &reason).await
                    {
                        tracing::warn!(%error, build_pack.id = %pack_id, "cannot mark the build pack failed");
                    }
                }
            }
        }
    }
    Ok(claimed)
}

/// Jobs (effects outside the database) one worker leases per batch. They
/// run one after another, so all of them must finish well within the lease
/// (30 s by default) or another worker would start them again.
const JOBS_PER_BATCH: usize = 16;

/// A batch of usage events, applied inside PostgreSQL.
#[derive(Debug, Default)]
struct UsageClaim {
    /// Events claimed (applied or malformed).
    claimed: usize,
    /// Events applied (and deleted).
    applied: i64,
    /// Uses to add per skill.
    uses: BTreeMap<Uuid, i64>,
    /// Events whose payload is not a positive count, still locked, to park.
    malformed: Vec<Uuid>,
}

/// One row of the usage claim: a skill's sum, or a malformed event.
#[derive(Debug, diesel::QueryableByName)]
struct UsageClaimRow {
    #[diesel(sql_type = diesel::sql_types::Nullable<SqlUuid>)]
    skill_id: Option<Uuid>,
    #[diesel(sql_type = diesel::sql_types::Nullable<BigInt>)]
    uses: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<BigInt>)]
    events: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<SqlUuid>)]
    malformed: Option<Uuid>,
}

/// Claims up to a batch of due usage events and deletes the well-formed
/// ones in one statement, returning their uses summed per skill (at most
/// one row per skill, however many events) and the ids of malformed ones.
/// Shipping every event to Rust instead made the drain three times slower.
/// The count must be a plain positive integer of at most nine digits, so
/// the cast cannot fail and a batch's sum cannot overflow; anything else
/// (a missing count too: hence the COALESCE) is malformed.
async fn claim_usage(
    conn: &mut AsyncPgConnection,
    batch_size: u32,
) -> diesel::QueryResult<UsageClaim> {
    let rows: Vec<UsageClaimRow> = diesel::sql_query(
        "WITH claimed AS ( \
           SELECT id, COALESCE(payload->>'uses' ~ '^[1-9][0-9]{0,8}$', false) AS well_formed \
           FROM outbox \
           WHERE dead_at IS NULL AND kind = 'usage.recorded' AND available_at <= now() \
           ORDER BY available_at, id \
           LIMIT $1 \
           FOR UPDATE SKIP LOCKED \
         ), applied AS ( \
           DELETE FROM outbox o USING claimed c WHERE o.id = c.id AND c.well_formed \
           RETURNING o.aggregate_id, (o.payload->>'uses')::bigint AS uses \
         ) \
         SELECT aggregate_id AS skill_id, sum(uses)::bigint AS uses, count(*) AS events, \
                NULL::uuid AS malformed \
         FROM applied GROUP BY aggregate_id \
         UNION ALL \
         SELECT NULL, NULL, NULL, id FROM claimed WHERE NOT well_formed",
    )
    .bind::<BigInt, _>(i64::from(batch_size))
    .load(conn)
    .await?;
    let mut claim = UsageClaim::default();
    for row in rows {
        match (row.skill_id, row.uses, row.events, row.malformed) {
            (Some(skill), Some(uses), Some(events), None) => {
                claim.uses.insert(skill, uses);
                claim.applied += events;
                claim.claimed += usize::try_from(events).unwrap_or(0);
            }
            (_, _, _, Some(id)) => {
                claim.malformed.push(id);
                claim.claimed += 1;
            }
            _ => {}
        }
    }
    Ok(claim)
}

/// Claims up to a batch of due events of every other kind, in order,
/// skipping rows other workers hold. (The `kind <>` predicate is spelled
/// as in the partial index so the planner can use it.)
async fn claim_others(
    conn: &mut AsyncPgConnection,
    batch_size: u32,
) -> diesel::QueryResult<Vec<ClaimedEvent>> {
    diesel::sql_query(
        "SELECT id, kind, aggregate_id, payload, attempts FROM outbox \
         WHERE dead_at IS NULL AND kind <> 'usage.recorded' AND available_at <= now() \
         ORDER BY available_at, id \
         LIMIT $1 \
         FOR UPDATE SKIP LOCKED",
    )
    .bind::<BigInt, _>(i64::from(batch_size))
    .load(conn)
    .await
}

async fn delete_events(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> diesel::QueryResult<()> {
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
async fn lease_events(
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

async fn park(conn: &mut AsyncPgConnection, id: Uuid, reason: &str) -> diesel::QueryResult<()> {
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
async fn finish(conn: &mut AsyncPgConnection, id: Uuid, attempt: i32) -> diesel::QueryResult<()> {
    diesel::sql_query("DELETE FROM outbox WHERE id = $1 AND attempts = $2")
        .bind::<SqlUuid, _>(id)
        .bind::<Integer, _>(attempt)
        .execute(conn)
        .await
        .map(drop)
}

/// Reschedules a failed job with backoff, or parks it when `dead`.
async fn fail(
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
fn backoff(attempt: i32) -> Duration {
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

    #[test]
    fn unknown_kinds_and_malformed_payloads_are_parked() {
        let event = |kind: &str, payload: serde_json::Value| ClaimedEvent {
            id: Uuid::now_v7(),
            kind: kind.to_owned(),
            aggregate_id: Uuid::now_v7(),
            payload,
            attempts: 0,
        };
        assert!(matches!(
            classify(&event("mystery.kind", serde_json::json!({}))),
            Work::Park(_)
        ));
        assert!(matches!(
            classify(&event(events::CONTENT_UNREFERENCED, serde_json::json!({}))),
            Work::Park(_)
        ));
        assert!(matches!(
            classify(&event(events::CONTENT_VERIFY, serde_json::json!({}))),
            Work::Run(Job::Verify { .. })
        ));
    }
}
