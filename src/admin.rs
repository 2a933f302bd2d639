//! `atelier.admin.v1.Outbox`: outbox statistics, dead events, and retrying
//! them, for operators. Any authenticated caller may use it (it acts for no
//! end user).

use tonic::{Request, Response, Status};

use crate::auth::caller;
use crate::error::{ApiError, Violations};
use crate::outbox::admin::{self, DeadEvent};
use crate::pagination;
use crate::proto::admin as pb;
use crate::proto::admin::outbox_server::Outbox;
use crate::proto::{json_object_to_struct, timestamp};
use crate::registry::scrub;
use crate::state::AppState;

/// Most ids one RetryDeadEvents may name.
pub const MAX_RETRY_IDS: usize = 1000;

/// The Outbox admin service.
#[derive(Debug, Clone)]
pub struct OutboxService {
    /// Database pool and the worker's counters.
    pub state: AppState,
}

#[tonic::async_trait]
impl Outbox for OutboxService {
    async fn get_outbox_stats(
        &self,
        request: Request<pb::GetOutboxStatsRequest>,
    ) -> Result<Response<pb::GetOutboxStatsResponse>, Status> {
        caller(&request)?;
        let mut conn = self.state.pool.get().await.map_err(ApiError::from)?;
        let counts = admin::counts(&mut conn).await.map_err(ApiError::from)?;
        let scrub = scrub::load(&mut conn).await.map_err(ApiError::from)?;
        let damaged_versions = scrub::damaged_versions(&mut conn)
            .await
            .map_err(ApiError::from)?;
        let oldest_pending_age = counts.oldest_pending.map(|oldest| {
            let age = (chrono::Utc::now() - oldest).max(chrono::TimeDelta::zero());
            prost_types::Duration {
                seconds: age.num_seconds(),
                nanos: age.subsec_nanos(),
            }
        });
        Ok(Response::new(pb::GetOutboxStatsResponse {
            pending_count: counts.pending,
            oldest_pending_age,
            dead_count: counts.dead,
            processed_since_start: self.state.outbox_metrics.snapshot().into_iter().collect(),
            start_time: Some(timestamp(self.state.outbox_metrics.started_at)),
            scrub: Some(pb::ScrubProgress {
                pass_start_time: scrub.pass_started_at.map(timestamp),
                pass_versions_checked: scrub.pass_versions,
                pass_bytes_checked: scrub.pass_bytes,
                pass_damaged_count: scrub.pass_damaged,
                last_full_pass_time: scrub.last_pass_finished_at.map(timestamp),
                last_full_pass_versions: scrub.last_pass_versions,
                last_full_pass_damaged_count: scrub.last_pass_damaged,
                damaged_versions,
                swept_objects: scrub.swept_objects,
            }),
        }))
    }

    async fn list_dead_events(
        &self,
        request: Request<pb::ListDeadEventsRequest>,
    ) -> Result<Response<pb::ListDeadEventsResponse>, Status> {
        caller(&request)?;
        let req = request.into_inner();
        let page_size = pagination::page_size(req.page_size)?;
        let query = pagination::fingerprint(&["dead-events"]);
        let after: Option<uuid::Uuid> = self.state.page_tokens.decode(&req.page_token, &query)?;
        let mut conn = self.state.pool.get().await.map_err(ApiError::from)?;
        let mut events = admin::list_dead(&mut conn, page_size + 1, after)
            .await
            .map_err(ApiError::from)?;
        let next_page_token =
            self.state
                .page_tokens
                .next_page_token(&mut events, page_size, &query, |event| event.id);
        Ok(Response::new(pb::ListDeadEventsResponse {
            events: events.into_iter().map(event_to_proto).collect(),
            next_page_token,
        }))
    }

    async fn retry_dead_events(
        &self,
        request: Request<pb::RetryDeadEventsRequest>,
    ) -> Result<Response<pb::RetryDeadEventsResponse>, Status> {
        caller(&request)?;
        let req = request.into_inner();
        let mut violations = Violations::new();
        if req.all && !req.ids.is_empty() {
            violations.add("ids", "must be empty when `all` is set");
        }
        if !req.all && req.ids.is_empty() {
            violations.add("ids", "name the events to retry, or set `all`");
        }
        if req.ids.len() > MAX_RETRY_IDS {
            violations.add("ids", format!("at most {MAX_RETRY_IDS} ids"));
        }
        let ids: Vec<uuid::Uuid> = req
            .ids
            .iter()
            .enumerate()
            .filter_map(|(i, raw)| {
                violations.check(
                    &format!("ids[{i}]"),
                    uuid::Uuid::parse_str(raw)
                        .map_err(|_| format!("{} is not an event id", crate::text::quote(raw))),
                )
            })
            .collect();
        violations.finish()?;
        let mut conn = self.state.pool.get().await.map_err(ApiError::from)?;
        let retried = admin::retry_dead(&mut conn, &ids, req.all)
            .await
            .map_err(ApiError::from)?;
        tracing::info!(
            retried,
            all = req.all,
            "dead outbox events put back in the queue"
        );
        Ok(Response::new(pb::RetryDeadEventsResponse {
            retried_count: i64::try_from(retried).unwrap_or(i64::MAX),
        }))
    }
}

fn event_to_proto(event: DeadEvent) -> pb::OutboxEvent {
    pb::OutboxEvent {
        id: event.id.to_string(),
        kind: event.kind,
        aggregate_id: event.aggregate_id.to_string(),
        payload: match event.payload {
            serde_json::Value::Object(map) => Some(json_object_to_struct(map)),
            _ => None,
        },
        attempts: event.attempts,
        last_error: event.last_error.unwrap_or_default(),
        create_time: Some(timestamp(event.created_at)),
        dead_time: event.dead_at.map(timestamp),
    }
}
