//! What the worker can do with an event, registered by kind.
//!
//! The worker knows no domain: each domain implements one of three traits
//! beside its own code and registers it in [`Handlers`] (the server does so
//! in `jobs.rs`):
//!
//! * a [`Job`] is an effect outside the database (object store, rendering):
//!   leased, run with no transaction open, retried with backoff;
//! * an [`Aggregate`] is an effect inside the database: applied set-based to
//!   all of a batch's events of its kind, in the transaction that claims and
//!   deletes them, so each takes effect exactly once;
//! * a [`BulkAggregate`] is an aggregate that also claims its own events, in
//!   one statement that sums them in PostgreSQL (usage counting: shipping
//!   every event to Rust made that drain three times slower).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use diesel_async::AsyncPgConnection;
use futures_util::future::BoxFuture;
use serde::Deserialize as _;
use uuid::Uuid;

use super::event::Event;

/// Why a job run failed; recorded as the event's `last_error` and retried.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// No connection from the pool.
    #[error("database: {0}")]
    Pool(#[from] diesel_async::pooled_connection::deadpool::PoolError),
    /// A statement failed.
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
    /// The object store failed.
    #[error("object store: {0}")]
    ObjectStore(#[from] object_store::Error),
    /// Anything else, said in words.
    #[error("{0}")]
    Other(String),
}

/// An effect outside the database, run for one event at a time.
pub trait Job: Send + Sync + 'static {
    /// The event that asks for it.
    type Event: Event;

    /// Runs the job with no transaction open. `Ok` deletes the event; an
    /// error retries it with backoff. Must be idempotent: a worker that
    /// dies mid-job leaves the lease to expire and another runs it again.
    fn run(
        &self,
        aggregate_id: Uuid,
        event: Self::Event,
    ) -> impl Future<Output = Result<(), JobError>> + Send;

    /// Called once when the event is parked as dead (its attempts ran
    /// out), so the row waiting on it can say so (a build pack becomes
    /// failed). Does nothing by default.
    fn parked(
        &self,
        aggregate_id: Uuid,
        event: Self::Event,
        reason: &str,
    ) -> impl Future<Output = ()> + Send {
        let _ = (aggregate_id, event, reason);
        async {}
    }
}

/// An effect inside the database, applied to a batch's events of one kind
/// at once in the claiming transaction.
pub trait Aggregate: Send + Sync + 'static {
    /// The event that asks for it.
    type Event: Event;

    /// Applies `events` (aggregate id and payload, in claim order).
    fn apply(
        &self,
        conn: &mut AsyncPgConnection,
        events: Vec<(Uuid, Self::Event)>,
    ) -> impl Future<Output = diesel::QueryResult<()>> + Send;
}

/// What a [`BulkAggregate`] claimed.
#[derive(Debug, Default)]
pub struct BulkOutcome {
    /// Events applied and deleted.
    pub applied: i64,
    /// Events whose payload is malformed, still locked, to park.
    pub malformed: Vec<Uuid>,
    /// `traceparent`s of requests that caused applied events (a sample),
    /// for the worker's span to link to.
    pub causes: Vec<String>,
}

/// An aggregate that claims, applies and deletes up to `limit` due events
/// of its kind in set-based SQL of its own.
pub trait BulkAggregate: Send + Sync + 'static {
    /// The event it claims.
    type Event: Event;

    /// Claims (`FOR UPDATE SKIP LOCKED`, due and not dead), applies and
    /// deletes up to `limit` events, inside the caller's transaction.
    fn claim_and_apply(
        &self,
        conn: &mut AsyncPgConnection,
        limit: u32,
    ) -> impl Future<Output = diesel::QueryResult<BulkOutcome>> + Send;
}

/// A [`Job`] with its payload type erased, for the registry.
pub(super) trait AnyJob: Send + Sync {
    /// Whether `payload` parses as this job's event (else: park it).
    fn check(&self, payload: &serde_json::Value) -> Result<(), String>;
    fn run(
        &self,
        aggregate_id: Uuid,
        payload: serde_json::Value,
    ) -> BoxFuture<'_, Result<(), JobError>>;
    fn parked<'a>(
        &'a self,
        aggregate_id: Uuid,
        payload: serde_json::Value,
        reason: &'a str,
    ) -> BoxFuture<'a, ()>;
}

impl<J: Job> AnyJob for J {
    fn check(&self, payload: &serde_json::Value) -> Result<(), String> {
        J::Event::deserialize(payload)
            .map(drop)
            .map_err(|e| e.to_string())
    }

    fn run(
        &self,
        aggregate_id: Uuid,
        payload: serde_json::Value,
    ) -> BoxFuture<'_, Result<(), JobError>> {
        Box::pin(async move {
            let event = serde_json::from_value(payload)
                .map_err(|e| JobError::Other(format!("malformed payload: {e}")))?;
            Job::run(self, aggregate_id, event).await
        })
    }

    fn parked<'a>(
        &'a self,
        aggregate_id: Uuid,
        payload: serde_json::Value,
        reason: &'a str,
    ) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            if let Ok(event) = serde_json::from_value(payload) {
                Job::parked(self, aggregate_id, event, reason).await;
            }
        })
    }
}

/// An [`Aggregate`] with its payload type erased.
pub(super) trait AnyAggregate: Send + Sync {
    /// Applies the well-formed events; returns the ids of the malformed
    /// ones (not applied) with the reason.
    fn apply<'a>(
        &'a self,
        conn: &'a mut AsyncPgConnection,
        events: Vec<(Uuid, Uuid, serde_json::Value)>,
    ) -> BoxFuture<'a, diesel::QueryResult<Vec<(Uuid, String)>>>;
}

impl<A: Aggregate> AnyAggregate for A {
    fn apply<'a>(
        &'a self,
        conn: &'a mut AsyncPgConnection,
        events: Vec<(Uuid, Uuid, serde_json::Value)>,
    ) -> BoxFuture<'a, diesel::QueryResult<Vec<(Uuid, String)>>> {
        Box::pin(async move {
            let mut parsed = Vec::with_capacity(events.len());
            let mut malformed = Vec::new();
            for (id, aggregate_id, payload) in events {
                match serde_json::from_value(payload) {
                    Ok(event) => parsed.push((aggregate_id, event)),
                    Err(error) => malformed.push((id, error.to_string())),
                }
            }
            if !parsed.is_empty() {
                Aggregate::apply(self, conn, parsed).await?;
            }
            Ok(malformed)
        })
    }
}

/// A [`BulkAggregate`] with its payload type erased.
pub(super) trait AnyBulk: Send + Sync {
    fn claim_and_apply<'a>(
        &'a self,
        conn: &'a mut AsyncPgConnection,
        limit: u32,
    ) -> BoxFuture<'a, diesel::QueryResult<BulkOutcome>>;
}

impl<B: BulkAggregate> AnyBulk for B {
    fn claim_and_apply<'a>(
        &'a self,
        conn: &'a mut AsyncPgConnection,
        limit: u32,
    ) -> BoxFuture<'a, diesel::QueryResult<BulkOutcome>> {
        Box::pin(BulkAggregate::claim_and_apply(self, conn, limit))
    }
}

/// How the worker handles one kind.
#[derive(Clone)]
pub(super) enum Handler {
    Job(Arc<dyn AnyJob>),
    Aggregate(Arc<dyn AnyAggregate>),
}

/// Every kind the worker can handle. An event of a kind not registered
/// here is parked as dead with the reason, never retried forever.
#[derive(Clone, Default)]
pub struct Handlers {
    pub(super) by_kind: BTreeMap<&'static str, Handler>,
    pub(super) bulk: Vec<(&'static str, Arc<dyn AnyBulk>)>,
}

impl std::fmt::Debug for Handlers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handlers")
            .field("kinds", &self.by_kind.keys().collect::<Vec<_>>())
            .field(
                "bulk",
                &self.bulk.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Handlers {
    /// No handlers yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `job` for its event's kind.
    #[must_use]
    pub fn job<J: Job>(mut self, job: J) -> Self {
        self.insert(J::Event::KIND, Handler::Job(Arc::new(job)));
        self
    }

    /// Registers `aggregate` for its event's kind.
    #[must_use]
    pub fn aggregate<A: Aggregate>(mut self, aggregate: A) -> Self {
        self.insert(A::Event::KIND, Handler::Aggregate(Arc::new(aggregate)));
        self
    }

    /// Registers `bulk` for its event's kind.
    #[must_use]
    pub fn bulk<B: BulkAggregate>(mut self, bulk: B) -> Self {
        let kind = B::Event::KIND;
        assert!(
            !self.by_kind.contains_key(kind) && self.bulk.iter().all(|(k, _)| *k != kind),
            "two handlers for the outbox kind {kind}"
        );
        self.bulk.push((kind, Arc::new(bulk)));
        self
    }

    fn insert(&mut self, kind: &'static str, handler: Handler) {
        let taken = self.by_kind.insert(kind, handler).is_some()
            || self.bulk.iter().any(|(k, _)| *k == kind);
        assert!(!taken, "two handlers for the outbox kind {kind}");
    }
}
