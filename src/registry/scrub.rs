//! The content scrub: stored content heals or tells, long after it was
//! written.
//!
//! Verification on write and on read only sees content somebody touches.
//! The scrub walks every skill version in id order, re-hashes its stored
//! object at a bounded byte rate and records the outcome (verified,
//! mismatch, missing) where PublishSkillVersion looks, so damage nobody has
//! read yet is found and a damaged version cannot be published. At the start
//! of each pass it sweeps the object store: staged uploads and content no
//! version references, older than the staging TTL, are removed (an upload
//! cut off by a crash, an object placed just before a crash that prevented
//! its row's commit). Idempotency keys past their retention are pruned
//! then too.
//!
//! Where the scrub is lives in the one `content_scrub` row, so a pass goes
//! on across restarts, and a lease on that row lets exactly one replica
//! scrub at a time.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures_util::StreamExt as _;
use uuid::Uuid;

use super::verification;
use crate::config::ScrubConfig;
use crate::db::rows::SingleRow as _;
use crate::outbox::JobError;
use crate::registry::store::versions::Verdict;
use crate::schema::{content_scrub, skill_version_verifications, skill_versions};
use crate::shutdown::Shutdown;
use crate::state::AppState;

/// How long a replica holds the scrub between steps; a replica that dies
/// hands the scrub over after this.
const LEASE_SECS: i64 = 60;

/// How long to wait after a failed step (database or store unavailable).
const RETRY_AFTER: Duration = Duration::from_secs(10);

/// The least time between two versions, whatever their size: tiny or
/// missing objects hash in no time, and each still costs a few statements.
const MIN_STEP_WAIT: Duration = Duration::from_millis(5);

/// Objects the sweep checks per batch (one query for their references,
/// then the lease is renewed).
const SWEEP_BATCH: usize = 1000;

/// Where the scrub is, as the `content_scrub` row says.
#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = content_scrub, check_for_backend(diesel::pg::Pg))]
pub struct ScrubState {
    /// The last version checked in the pass under way.
    pub cursor_version_id: Option<Uuid>,
    /// When the pass under way started (`None` between passes).
    pub pass_started_at: Option<DateTime<Utc>>,
    /// Versions checked in the pass under way.
    pub pass_versions: i64,
    /// Bytes hashed in the pass under way.
    pub pass_bytes: i64,
    /// Damaged versions found in the pass under way.
    pub pass_damaged: i64,
    /// When the last complete pass ended.
    pub last_pass_finished_at: Option<DateTime<Utc>>,
    /// Versions the last complete pass checked.
    pub last_pass_versions: i64,
    /// Damaged versions the last complete pass found.
    pub last_pass_damaged: i64,
    /// Objects the sweeps removed, in all.
    pub swept_objects: i64,
}

/// What one step of the scrub did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Checked one version, hashing `bytes`.
    Checked {
        /// Bytes hashed.
        bytes: u64,
    },
    /// Finished a pass.
    PassFinished,
    /// Nothing to do for `.0` (another replica holds the scrub, or the
    /// pause between passes is not over).
    Idle(Duration),
}

/// Runs the scrub until shutdown, never hashing more than the configured
/// bytes per second. Does nothing when the rate is 0.
pub async fn run(state: AppState, config: ScrubConfig, shutdown: Shutdown) {
    if config.scrub_bytes_per_sec == 0 {
        tracing::info!("content scrub is off");
        return;
    }
    let holder = Uuid::now_v7();
    tracing::info!(
        bytes_per_sec = config.scrub_bytes_per_sec,
        pause_secs = config.scrub_pause_secs,
        "content scrub started"
    );
    while !shutdown.is_triggered() {
        let wait = match step(&state, &config, holder).await {
            Ok(Step::Checked { bytes }) => {
                Duration::from_secs_f64(bytes as f64 / config.scrub_bytes_per_sec as f64)
                    .max(MIN_STEP_WAIT)
            }
            Ok(Step::PassFinished) => Duration::ZERO,
            Ok(Step::Idle(wait)) => wait,
            Err(error) => {
                tracing::warn!(%error, "content scrub step failed; retrying");
                RETRY_AFTER
            }
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = shutdown.wait() => {}
        }
    }
    // Hand the scrub to another replica now rather than after the lease.
    if let Ok(mut conn) = state.pool.get().await {
        let _ = release(&mut conn, holder).await;
    }
}

/// Runs steps back to back, without the rate limit or the pause, until the
/// pass under way (or the one this starts) has finished — or another
/// replica holds the scrub — and returns the scrub state after it.
pub async fn full_pass(state: &AppState, config: &ScrubConfig) -> Result<ScrubState, JobError> {
    let holder = Uuid::now_v7();
    let immediate = ScrubConfig {
        scrub_pause_secs: 0,
        ..config.clone()
    };
    while let Step::Checked { .. } = step(state, &immediate, holder).await? {}
    let mut conn = state.pool.get().await?;
    release(&mut conn, holder).await?;
    Ok(load(&mut conn).await?)
}

/// One step: take (or keep) the lease, start a pass if one is due, check
/// the next version, or finish the pass.
pub async fn step(state: &AppState, config: &ScrubConfig, holder: Uuid) -> Result<Step, JobError> {
    let mut conn = state.pool.get().await?;
    let Some(scrub) = lease(&mut conn, holder).await? else {
        return Ok(Step::Idle(Duration::from_secs(LEASE_SECS.unsigned_abs())));
    };
    let cursor = match scrub.pass_started_at {
        Some(_) => scrub.cursor_version_id,
        None => {
            if let Some(finished) = scrub.last_pass_finished_at {
                let pause = chrono::TimeDelta::seconds(
                    i64::try_from(config.scrub_pause_secs).unwrap_or(i64::MAX),
                );
                let due = finished + pause;
                if Utc::now() < due {
                    let wait = (due - Utc::now()).to_std().unwrap_or_default();
                    return Ok(Step::Idle(wait));
                }
            }
            drop(conn);
            let swept = sweep(state, config.staging_ttl_secs, holder).await?;
            conn = state.pool.get().await?;
            let expired = crate::idempotency::prune(&mut conn).await?;
            if expired > 0 {
                tracing::info!(expired, "pruned idempotency keys past their retention");
            }
            start_pass(&mut conn, holder, swept).await?;
            None
        }
    };
    let mut query = skill_versions::table
        .select(skill_versions::id)
        .order(skill_versions::id)
        .limit(1)
        .into_boxed();
    if let Some(cursor) = cursor {
        query = query.filter(skill_versions::id.gt(cursor));
    }
    let next: Option<Uuid> = query.load(&mut conn).await.single_optional()?;
    let Some(version_id) = next else {
        finish_pass(&mut conn, holder).await?;
        return Ok(Step::PassFinished);
    };
    drop(conn);
    let (verdict, bytes) = verification::verify(state, version_id).await?;
    let mut conn = state.pool.get().await?;
    diesel::update(content_scrub::table.filter(content_scrub::lease_holder.eq(holder)))
        .set((
            content_scrub::cursor_version_id.eq(version_id),
            content_scrub::pass_versions.eq(content_scrub::pass_versions + 1),
            content_scrub::pass_bytes
                .eq(content_scrub::pass_bytes + i64::try_from(bytes).unwrap_or(i64::MAX)),
            content_scrub::pass_damaged
                .eq(content_scrub::pass_damaged
                    + i64::from(verdict.is_some_and(Verdict::is_damage))),
        ))
        .execute(&mut conn)
        .await?;
    Ok(Step::Checked { bytes })
}

/// Takes the scrub's lease for `holder` (or renews it), returning the
/// state; `None` while another replica holds it. The database's clock
/// decides, so replicas whose clocks disagree still take turns.
async fn lease(conn: &mut AsyncPgConnection, holder: Uuid) -> QueryResult<Option<ScrubState>> {
    diesel::sql_query(
        "UPDATE content_scrub \
         SET lease_holder = $1, leased_until = now() + make_interval(secs => $2) \
         WHERE leased_until < now() OR lease_holder = $1 \
         RETURNING *",
    )
    .bind::<diesel::sql_types::Uuid, _>(holder)
    .bind::<diesel::sql_types::Double, _>(LEASE_SECS as f64)
    .load(conn)
    .await
    .single_optional()
}

/// Gives the lease up, so another replica may scrub at once.
async fn release(conn: &mut AsyncPgConnection, holder: Uuid) -> QueryResult<()> {
    diesel::update(content_scrub::table.filter(content_scrub::lease_holder.eq(holder)))
        .set((
            content_scrub::lease_holder.eq(None::<Uuid>),
            content_scrub::leased_until.eq(DateTime::<Utc>::UNIX_EPOCH),
        ))
        .execute(conn)
        .await
        .map(drop)
}

async fn start_pass(conn: &mut AsyncPgConnection, holder: Uuid, swept: u64) -> QueryResult<()> {
    diesel::update(content_scrub::table.filter(content_scrub::lease_holder.eq(holder)))
        .set((
            content_scrub::pass_started_at.eq(Some(Utc::now())),
            content_scrub::cursor_version_id.eq(None::<Uuid>),
            content_scrub::pass_versions.eq(0),
            content_scrub::pass_bytes.eq(0),
            content_scrub::pass_damaged.eq(0),
            content_scrub::swept_objects
                .eq(content_scrub::swept_objects + i64::try_from(swept).unwrap_or(i64::MAX)),
        ))
        .execute(conn)
        .await
        .map(drop)
}

async fn finish_pass(conn: &mut AsyncPgConnection, holder: Uuid) -> QueryResult<()> {
    let finished: Option<ScrubState> =
        diesel::update(content_scrub::table.filter(content_scrub::lease_holder.eq(holder)))
            .set((
                content_scrub::last_pass_finished_at.eq(Some(Utc::now())),
                content_scrub::last_pass_versions.eq(content_scrub::pass_versions),
                content_scrub::last_pass_damaged.eq(content_scrub::pass_damaged),
                content_scrub::pass_started_at.eq(None::<DateTime<Utc>>),
                content_scrub::cursor_version_id.eq(None::<Uuid>),
            ))
            .returning(ScrubState::as_returning())
            .load(conn)
            .await
            .single_optional()?;
    if let Some(finished) = finished {
        tracing::info!(
            versions = finished.last_pass_versions,
            damaged = finished.last_pass_damaged,
            "content scrub finished a pass"
        );
    }
    Ok(())
}

/// The scrub's state.
pub async fn load(conn: &mut AsyncPgConnection) -> QueryResult<ScrubState> {
    content_scrub::table
        .select(ScrubState::as_select())
        .load(conn)
        .await
        .single()
}

/// Versions whose latest verification found their content damaged.
pub async fn damaged_versions(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    skill_version_verifications::table
        .filter(skill_version_verifications::state.ne(Verdict::Verified))
        .count()
        .load(conn)
        .await
        .single()
}

/// Removes staged uploads, and content no version references, older than
/// `ttl_secs`; returns how many objects it removed. The listing is read in
/// batches: the references of a batch are looked up in one query, and only
/// unreferenced content is then removed, under its content lock after
/// checking again, the same way the outbox's deletion does, so a version
/// being created with that content cannot lose it. The lease is renewed
/// between batches; the sweep stops if another replica took it.
async fn sweep(state: &AppState, ttl_secs: u64, holder: Uuid) -> Result<u64, JobError> {
    let cutoff =
        Utc::now() - chrono::TimeDelta::seconds(i64::try_from(ttl_secs).unwrap_or(i64::MAX));
    let store = state.storage.store().clone();
    let mut removed = 0;
    for prefix in ["uploads", "skills"] {
        let prefix_path = object_store::path::Path::from(prefix);
        let mut listing = store.list(Some(&prefix_path)).ready_chunks(SWEEP_BATCH);
        while let Some(batch) = listing.next().await {
            let mut old = Vec::new();
            for meta in batch {
                let meta = meta?;
                if meta.last_modified <= cutoff {
                    old.push(meta.location.to_string());
                }
            }
            let mut conn = state.pool.get().await?;
            if lease(&mut conn, holder).await?.is_none() {
                tracing::info!("another replica took the scrub over; sweep stopped");
                return Ok(removed);
            }
            if prefix == "skills" {
                let referenced: Vec<String> = skill_versions::table
                    .filter(skill_versions::object_key.eq_any(&old))
                    .select(skill_versions::object_key)
                    .distinct()
                    .load(&mut conn)
                    .await?;
                old.retain(|key| !referenced.contains(key));
            }
            drop(conn);
            for key in old {
                let outcome = if prefix == "uploads" {
                    crate::content::delete_object(&store, &key)
                        .await
                        .map(|()| true)
                        .map_err(JobError::from)
                } else {
                    let sha256 = key.rsplit('/').next().unwrap_or_default().to_owned();
                    verification::delete_unreferenced(state, &key, &sha256).await
                };
                match outcome {
                    Ok(true) => removed += 1,
                    Ok(false) => {}
                    Err(error) => tracing::warn!(%key, %error, "sweep could not remove an object"),
                }
            }
        }
    }
    if removed > 0 {
        tracing::info!(removed, "sweep removed staged or unreferenced objects");
    }
    Ok(removed)
}
