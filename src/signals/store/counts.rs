//! Project counts: how many signals link to a project, in all and per
//! severity. Recomputed from the links (never incremented), so a count is
//! exact whatever order the events arrive in and however often one is
//! applied; `project.counts_changed` events ask for it.

use diesel::sql_types::{Array, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::outbox::NewEvent;
use crate::signals::events::ProjectCountsChanged;

/// Recounts `projects` (deleted ones are skipped) in one statement, the
/// rows locked in id order so concurrent workers cannot deadlock.
pub async fn recount(conn: &mut AsyncPgConnection, projects: &[Uuid]) -> diesel::QueryResult<()> {
    if projects.is_empty() {
        return Ok(());
    }
    let mut ids = projects.to_vec();
    ids.sort_unstable();
    ids.dedup();
    diesel::sql_query(
        "WITH locked AS ( \
           SELECT id FROM projects WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE \
         ), agg AS ( \
           SELECT locked.id, \
                  count(s.id) AS total, \
                  count(s.id) FILTER (WHERE s.severity = 'critical') AS critical, \
                  count(s.id) FILTER (WHERE s.severity = 'high') AS high, \
                  count(s.id) FILTER (WHERE s.severity = 'medium') AS medium, \
                  count(s.id) FILTER (WHERE s.severity = 'low') AS low \
           FROM locked \
           LEFT JOIN signal_projects l ON l.project_id = locked.id \
           LEFT JOIN signals s ON s.id = l.signal_id \
           GROUP BY locked.id \
         ) \
         UPDATE projects SET signal_count = agg.total, critical_count = agg.critical, \
                high_count = agg.high, medium_count = agg.medium, low_count = agg.low \
         FROM agg WHERE projects.id = agg.id",
    )
    .bind::<Array<SqlUuid>, _>(&ids)
    .execute(conn)
    .await
    .map(drop)
}

/// Asks the worker to recount `projects`, in the caller's transaction.
pub async fn enqueue_recount(
    conn: &mut AsyncPgConnection,
    projects: &[Uuid],
) -> diesel::QueryResult<()> {
    let events: Vec<NewEvent> = projects
        .iter()
        .map(|project| NewEvent::of(*project, &ProjectCountsChanged {}))
        .collect();
    crate::outbox::enqueue(conn, &events).await
}
