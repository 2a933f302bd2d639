//! The worker: claims batches of due events and hands each to the handler
//! registered for its kind.
//!
//! Each batch runs in an `outbox.batch` span and each leased job in an
//! `outbox.job` span. They are new traces, linked to the requests that
//! enqueued the events (their stored `traceparent`), and their log lines
//! name those requests' trace ids in `caused_by`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use uuid::Uuid;

use super::admin::OutboxMetrics;
use super::handlers::{AnyJob, Handler, Handlers};
use super::queue::{self, ClaimedEvent};
use crate::config::WorkerConfig;
use crate::db::DbPool;
use crate::shutdown::Shutdown;
use crate::telemetry::names::{OUTBOX_APPLIED, OUTBOX_BATCH_DURATION};
use crate::telemetry::trace_context;

/// The channel the outbox trigger notifies on commit.
const NOTIFY_CHANNEL: &str = "atelier_outbox";

/// Jobs (effects outside the database) one worker leases per batch. They
/// run one after another, so all of them must finish well within the lease
/// (30 s by default) or another worker would start them again.
const JOBS_PER_BATCH: usize = 16;

/// Requests a batch's span links to at most: enough to find the causes of
/// a small batch, bounded for a backlog of thousands.
const MAX_LINKS_PER_BATCH: usize = 32;

/// Why a batch failed as a whole (nothing of it was applied).
#[derive(Debug, thiserror::Error)]
pub enum DrainError {
    /// No connection from the pool.
    #[error("no database connection: {0}")]
    Pool(#[from] diesel_async::pooled_connection::deadpool::PoolError),
    /// A statement of the batch failed.
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
}

/// An outbox worker: cheap to clone, any number may drain one table.
#[derive(Clone)]
pub struct Worker {
    pool: DbPool,
    handlers: Arc<Handlers>,
    metrics: Arc<OutboxMetrics>,
    config: WorkerConfig,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("handlers", &self.handlers)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A job leased in a batch's claiming transaction, to run after it commits.
struct Leased {
    event: ClaimedEvent,
    job: Arc<dyn AnyJob>,
}

/// What a batch's claiming transaction decided.
#[derive(Default)]
struct Claimed {
    count: usize,
    leased: Vec<Leased>,
    /// Jobs parked at claim time (their leases kept expiring), to tell.
    parked_jobs: Vec<(ClaimedEvent, Arc<dyn AnyJob>, String)>,
    applied_kinds: BTreeMap<String, i64>,
    /// `traceparent`s of the requests behind the applied events (a sample,
    /// duplicates removed).
    causes: Vec<String>,
}

impl Claimed {
    fn add_cause(&mut self, cause: Option<String>) {
        if let Some(cause) = cause
            && self.causes.len() < MAX_LINKS_PER_BATCH
            && !self.causes.contains(&cause)
        {
            self.causes.push(cause);
        }
    }
}

impl Worker {
    /// A worker over `pool` running `handlers`, counting into `metrics`.
    pub fn new(
        pool: DbPool,
        handlers: Handlers,
        metrics: Arc<OutboxMetrics>,
        config: WorkerConfig,
    ) -> Self {
        Self {
            pool,
            handlers: Arc::new(handlers),
            metrics,
            config,
        }
    }

    /// Drains the outbox until `shutdown` fires: a batch at a time while
    /// events are due; then it waits for a notification from the outbox
    /// trigger (on its own connection to `listen_url`, when given) or the
    /// poll interval, whichever comes first.
    pub async fn run(self, listen_url: Option<String>, shutdown: Shutdown) {
        let config = &self.config;
        tracing::info!(
            batch_size = config.outbox_batch_size,
            "outbox worker started"
        );
        let poll_interval = Duration::from_millis(config.outbox_poll_interval_ms);
        let linger = Duration::from_millis(config.outbox_linger_ms);
        let mut listener = None;
        while !shutdown.is_triggered() {
            let claimed = match self.drain_batch().await {
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
                        // Let the burst that woke us grow a little: one batch
                        // then carries many events instead of a handful.
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

    /// Claims up to a batch of due events, applies or leases them, runs the
    /// leased jobs; returns how many events it claimed. (`run` calls it in a
    /// loop; tests and tools call it directly.)
    pub async fn drain_batch(&self) -> Result<usize, DrainError> {
        let span = tracing::info_span!(
            parent: None,
            "outbox.batch",
            events = tracing::field::Empty,
            caused_by = tracing::field::Empty,
        );
        let started = Instant::now();
        let claimed = async {
            let mut conn = self.pool.get().await?;
            conn.transaction::<_, DrainError, _>(async |conn| Ok(self.claim_batch(conn).await?))
                .await
        }
        .instrument(span.clone())
        .await?;
        if claimed.count == 0 {
            return Ok(0);
        }
        metrics::histogram!(OUTBOX_BATCH_DURATION).record(started.elapsed().as_secs_f64());
        span.record("events", claimed.count);
        let caused_by = link_causes(&span, &claimed.causes);
        if !caused_by.is_empty() {
            span.record("caused_by", caused_by.as_str());
        }
        span.in_scope(|| {
            tracing::debug!(
                claimed = claimed.count,
                applied = claimed.applied_kinds.values().sum::<i64>(),
                leased = claimed.leased.len(),
                elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
                "outbox batch committed"
            );
        });
        for (kind, count) in &claimed.applied_kinds {
            self.metrics.add(kind, *count);
            metrics::counter!(OUTBOX_APPLIED, "kind" => kind.clone())
                .increment(u64::try_from(*count).unwrap_or(0));
        }
        for (event, job, reason) in claimed.parked_jobs {
            job.parked(event.aggregate_id, event.payload, &reason).await;
        }
        for leased in claimed.leased {
            self.run_leased(leased).await?;
        }
        Ok(claimed.count)
    }

    /// The claiming transaction: bulk aggregates claim and apply their own
    /// kinds; every other due event is applied by its aggregate, leased for
    /// its job, or parked.
    async fn claim_batch(&self, conn: &mut AsyncPgConnection) -> diesel::QueryResult<Claimed> {
        let batch_size = self.config.outbox_batch_size;
        let max_attempts = self.max_attempts();
        let mut claimed = Claimed::default();
        let mut parked: Vec<(Uuid, String)> = Vec::new();

        for (kind, bulk) in &self.handlers.bulk {
            let outcome = bulk.claim_and_apply(conn, batch_size).await?;
            claimed.count +=
                usize::try_from(outcome.applied).unwrap_or(0) + outcome.malformed.len();
            if outcome.applied > 0 {
                claimed
                    .applied_kinds
                    .insert((*kind).to_owned(), outcome.applied);
            }
            for cause in outcome.causes {
                claimed.add_cause(Some(cause));
            }
            parked.extend(
                outcome
                    .malformed
                    .into_iter()
                    .map(|id| (id, format!("malformed {kind} payload"))),
            );
        }

        let bulk_kinds: Vec<&str> = self.handlers.bulk.iter().map(|(kind, _)| *kind).collect();
        let events = queue::claim(conn, &bulk_kinds, batch_size).await?;
        claimed.count += events.len();
        let mut by_aggregate: BTreeMap<&str, Vec<(Uuid, Uuid, serde_json::Value)>> =
            BTreeMap::new();
        for event in events {
            match self.handlers.by_kind.get(event.kind.as_str()) {
                None => parked.push((event.id, format!("unknown event kind {}", event.kind))),
                Some(Handler::Aggregate(_)) => {
                    claimed.add_cause(event.trace_parent.clone());
                    let kind = self
                        .handlers
                        .by_kind
                        .get_key_value(event.kind.as_str())
                        .map_or("", |(k, _)| *k);
                    by_aggregate.entry(kind).or_default().push((
                        event.id,
                        event.aggregate_id,
                        event.payload,
                    ));
                }
                Some(Handler::Job(job)) => {
                    if let Err(problem) = job.check(&event.payload) {
                        parked.push((
                            event.id,
                            format!("malformed {} payload: {problem}", event.kind),
                        ));
                    } else if event.attempts >= max_attempts {
                        // A job whose leases kept expiring (its worker died
                        // each time) is parked like one that kept failing.
                        let reason = format!(
                            "its lease expired {} times without the job finishing",
                            event.attempts
                        );
                        parked.push((event.id, reason.clone()));
                        claimed.parked_jobs.push((event, job.clone(), reason));
                    } else if claimed.leased.len() < JOBS_PER_BATCH {
                        claimed.leased.push(Leased {
                            event,
                            job: job.clone(),
                        });
                    }
                    // Beyond that: lease no more than one worker runs well
                    // within a lease; the rest stay due for the next claim.
                }
            }
        }

        let mut applied = Vec::new();
        for (kind, events) in by_aggregate {
            let Some(Handler::Aggregate(aggregate)) = self.handlers.by_kind.get(kind) else {
                continue;
            };
            let ids: Vec<Uuid> = events.iter().map(|(id, _, _)| *id).collect();
            let malformed = aggregate.apply(conn, events).await?;
            let applied_here: Vec<Uuid> = ids
                .into_iter()
                .filter(|id| malformed.iter().all(|(m, _)| m != id))
                .collect();
            if !applied_here.is_empty() {
                *claimed.applied_kinds.entry(kind.to_owned()).or_default() +=
                    applied_here.len() as i64;
            }
            applied.extend(applied_here);
            parked.extend(
                malformed
                    .into_iter()
                    .map(|(id, problem)| (id, format!("malformed {kind} payload: {problem}"))),
            );
        }
        queue::delete_events(conn, &applied).await?;
        let leased_ids: Vec<Uuid> = claimed.leased.iter().map(|l| l.event.id).collect();
        queue::lease_events(conn, &leased_ids, self.config.outbox_lease_secs).await?;
        for (id, reason) in &parked {
            tracing::warn!(event.id = %id, reason, "outbox event parked as dead");
            queue::park(conn, *id, reason).await?;
        }
        Ok(claimed)
    }

    /// Runs one leased job, then deletes its event, or reschedules it with
    /// backoff, or parks it when its attempts ran out.
    async fn run_leased(&self, leased: Leased) -> Result<(), DrainError> {
        let span = tracing::info_span!(
            parent: None,
            "outbox.job",
            event.id = %leased.event.id,
            event.kind = %leased.event.kind,
            caused_by = tracing::field::Empty,
        );
        let caused_by = link_causes(&span, leased.event.trace_parent.as_slice());
        if !caused_by.is_empty() {
            span.record("caused_by", caused_by.as_str());
        }
        self.run_leased_in_span(leased).instrument(span).await
    }

    async fn run_leased_in_span(&self, Leased { event, job }: Leased) -> Result<(), DrainError> {
        let started = Instant::now();
        let outcome = job.run(event.aggregate_id, event.payload.clone()).await;
        // Attempts are counted at lease time: this run is attempt + 1.
        let attempt = event.attempts + 1;
        let mut conn = self.pool.get().await?;
        match outcome {
            Ok(()) => {
                queue::finish(&mut conn, event.id, attempt).await?;
                self.metrics.add(&event.kind, 1);
                metrics::counter!(OUTBOX_APPLIED, "kind" => event.kind.clone()).increment(1);
                tracing::debug!(
                    attempt,
                    elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
                    "outbox job done"
                );
            }
            Err(error) => {
                tracing::warn!(event.id = %event.id, event.kind = %event.kind, attempt, %error, "outbox job failed");
                let dead = attempt >= self.max_attempts();
                queue::fail(&mut conn, event.id, attempt, &error.to_string(), dead).await?;
                drop(conn);
                if dead {
                    let reason = format!("failed {attempt} times; last error: {error}");
                    job.parked(event.aggregate_id, event.payload, &reason).await;
                }
            }
        }
        Ok(())
    }

    fn max_attempts(&self) -> i32 {
        i32::try_from(self.config.outbox_max_attempts).unwrap_or(i32::MAX)
    }
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

/// Links `span` to the requests named by `causes` (stored `traceparent`s;
/// one that does not parse is skipped) and returns their trace ids, comma
/// separated, for the span's `caused_by`.
fn link_causes(span: &tracing::Span, causes: &[String]) -> String {
    let mut trace_ids: Vec<String> = Vec::new();
    for cause in causes {
        if let Some(context) = trace_context::parse_traceparent(cause) {
            let trace_id = context.trace_id().to_string();
            span.add_link(context);
            if !trace_ids.contains(&trace_id) {
                trace_ids.push(trace_id);
            }
        }
    }
    trace_ids.join(",")
}
