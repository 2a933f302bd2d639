//! What the outbox worker does with the registry's events
//! ([`super::events`]).

use uuid::Uuid;

use super::events::{ContentUnreferenced, ContentVerify, RatingChanged, UsageRecorded};
use super::store::counters;
use super::verification;
use crate::outbox::{Aggregate, BulkAggregate, BulkOutcome, Handlers, Job, JobError};
use crate::state::AppState;

/// Registers the registry's handlers.
pub fn register(handlers: Handlers, state: &AppState) -> Handlers {
    handlers
        .bulk(UsageCounter)
        .aggregate(RatingAggregates)
        .job(VerifyContent(state.clone()))
        .job(DeleteUnreferenced(state.clone()))
}

/// Adds uses to `total_uses`: claims, sums per skill and deletes the
/// events in one statement.
#[derive(Debug)]
struct UsageCounter;

impl BulkAggregate for UsageCounter {
    type Event = UsageRecorded;

    async fn claim_and_apply(
        &self,
        conn: &mut diesel_async::AsyncPgConnection,
        limit: u32,
    ) -> diesel::QueryResult<BulkOutcome> {
        let claim = counters::claim_usage(conn, limit).await?;
        counters::add_uses(conn, &claim.uses).await?;
        Ok(BulkOutcome {
            applied: claim.applied,
            malformed: claim.malformed,
            causes: claim.causes,
        })
    }
}

/// Recomputes each rated skill's count and average once per batch.
#[derive(Debug)]
struct RatingAggregates;

impl Aggregate for RatingAggregates {
    type Event = RatingChanged;

    async fn apply(
        &self,
        conn: &mut diesel_async::AsyncPgConnection,
        events: Vec<(Uuid, RatingChanged)>,
    ) -> diesel::QueryResult<()> {
        let skills: Vec<Uuid> = events.into_iter().map(|(skill, _)| skill).collect();
        counters::recompute_ratings(conn, &skills).await
    }
}

/// Hashes a version's stored content and records the verdict.
struct VerifyContent(AppState);

impl Job for VerifyContent {
    type Event = ContentVerify;

    async fn run(&self, version_id: Uuid, _: ContentVerify) -> Result<(), JobError> {
        verification::verify(&self.0, version_id).await.map(drop)
    }
}

/// Deletes content no version references any more.
struct DeleteUnreferenced(AppState);

impl Job for DeleteUnreferenced {
    type Event = ContentUnreferenced;

    async fn run(&self, _skill: Uuid, event: ContentUnreferenced) -> Result<(), JobError> {
        verification::delete_unreferenced(&self.0, &event.object_key, &event.sha256)
            .await
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbox::Event as _;

    /// `usage::try_record_one` writes this event as SQL text and
    /// `counters::claim_usage` reads it back as SQL: both spell the kind
    /// and the field as the struct does.
    #[test]
    fn the_sql_that_writes_and_sums_usage_events_matches_the_event_type() {
        assert_eq!(UsageRecorded::KIND, "usage.recorded");
        assert_eq!(
            serde_json::to_value(UsageRecorded { uses: 1 }).ok(),
            Some(serde_json::json!({ "uses": 1 }))
        );
    }

    /// Payloads stored by the previous release (built with `json!`) parse.
    #[test]
    fn payloads_already_stored_still_parse() {
        let parse = |kind: &str, payload: serde_json::Value| match kind {
            "rating.changed" => serde_json::from_value::<RatingChanged>(payload).is_ok(),
            "content.verify" => serde_json::from_value::<ContentVerify>(payload).is_ok(),
            _ => serde_json::from_value::<ContentUnreferenced>(payload).is_ok(),
        };
        assert!(parse("rating.changed", serde_json::json!({})));
        assert!(parse("content.verify", serde_json::json!({})));
        assert!(parse(
            "content.unreferenced",
            serde_json::json!({ "object_key": "skills/ab/abcd", "sha256": "abcd" })
        ));
        assert!(!parse("content.unreferenced", serde_json::json!({})));
    }
}
