//! What the outbox worker does with the Signals events ([`super::events`]).

use uuid::Uuid;

use super::events::ProjectCountsChanged;
use super::store::counts;
use crate::outbox::{Aggregate, Handlers};

/// Registers the Signals handlers.
pub fn register(handlers: Handlers) -> Handlers {
    handlers.aggregate(ProjectCounts)
}

/// Recounts each changed project's linked signals once per batch.
#[derive(Debug)]
struct ProjectCounts;

impl Aggregate for ProjectCounts {
    type Event = ProjectCountsChanged;

    async fn apply(
        &self,
        conn: &mut diesel_async::AsyncPgConnection,
        events: Vec<(Uuid, ProjectCountsChanged)>,
    ) -> diesel::QueryResult<()> {
        let projects: Vec<Uuid> = events.into_iter().map(|(project, _)| project).collect();
        counts::recount(conn, &projects).await
    }
}
