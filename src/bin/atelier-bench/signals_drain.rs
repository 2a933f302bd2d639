//! Benchmark 1b: how fast the outbox worker turns queued
//! `project.counts_changed` events into exact project counts, beside
//! PostgreSQL doing the same drain alone (pgbench looping the claim and the
//! recount in one statement), on the same queue in the same run.

use std::path::Path;

use atelier::state::AppState;
use diesel::sql_types::{Array, BigInt, Text, Uuid as SqlUuid};
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::drain::{DrainPlan, DrainQueue, DrainRun, contenders, print_runs};
use crate::support::{self, SplitMix64, Zipf};

/// Projects the signals are linked to (the events' aggregates).
const PROJECTS: usize = 200;
/// Signals in the workspace, each linked to two projects.
const SIGNALS: usize = 5_000;

/// The statement of one recount, shared by pgbench's script and the
/// check: the counts of `projects` (an array) from their links.
const COUNTS: &str = "SELECT p.id, count(s.id) AS total, \
       count(s.id) FILTER (WHERE s.severity = 'critical') AS critical, \
       count(s.id) FILTER (WHERE s.severity = 'high') AS high, \
       count(s.id) FILTER (WHERE s.severity = 'medium') AS medium, \
       count(s.id) FILTER (WHERE s.severity = 'low') AS low \
     FROM projects p LEFT JOIN signal_projects l ON l.project_id = p.id \
     LEFT JOIN signals s ON s.id = l.signal_id";

/// A workspace of linked signals and a queue of recount events over its
/// projects (Zipf-distributed, like the usage drain).
struct Queue {
    projects: Vec<Uuid>,
    event_projects: Vec<Uuid>,
}

impl Queue {
    async fn set_up(conn: &mut AsyncPgConnection, plan: &DrainPlan) -> anyhow::Result<Self> {
        let workspace = Uuid::now_v7();
        diesel::sql_query(
            "INSERT INTO workspaces (id, name, created_by) VALUES ($1, 'bench', 'bench')",
        )
        .bind::<SqlUuid, _>(workspace)
        .execute(conn)
        .await?;
        let projects: Vec<Uuid> = (0..PROJECTS).map(|_| Uuid::now_v7()).collect();
        diesel::sql_query(
            "INSERT INTO projects (id, workspace_id, name) \
             SELECT id, $2, 'project ' || ord FROM unnest($1::uuid[]) WITH ORDINALITY AS t(id, ord)",
        )
        .bind::<Array<SqlUuid>, _>(&projects)
        .bind::<SqlUuid, _>(workspace)
        .execute(conn)
        .await?;
        let signals: Vec<Uuid> = (0..SIGNALS).map(|_| Uuid::now_v7()).collect();
        diesel::sql_query(
            "INSERT INTO signals (id, workspace_id, verbatim, source, severity) \
             SELECT id, $2, 'benchmark signal ' || ord, 'webhook', \
                    (ARRAY['critical', 'high', 'medium', 'low'])[1 + ord % 4] \
             FROM unnest($1::uuid[]) WITH ORDINALITY AS t(id, ord)",
        )
        .bind::<Array<SqlUuid>, _>(&signals)
        .bind::<SqlUuid, _>(workspace)
        .execute(conn)
        .await?;
        let zipf = Zipf::new(projects.len(), plan.zipf_exponent);
        let mut rng = SplitMix64::new(0x5161_0a1d);
        let (mut link_signals, mut link_projects) = (Vec::new(), Vec::new());
        for signal in &signals {
            let first = zipf.sample(&mut rng);
            let second = (first + 1 + zipf.sample(&mut rng)) % projects.len();
            for project in [first, second] {
                link_signals.push(*signal);
                link_projects.push(projects[project]);
            }
        }
        diesel::sql_query(
            "INSERT INTO signal_projects (workspace_id, signal_id, project_id, linked_by) \
             SELECT $3, s, p, 'bench' FROM unnest($1::uuid[], $2::uuid[]) AS t(s, p) \
             ON CONFLICT DO NOTHING",
        )
        .bind::<Array<SqlUuid>, _>(&link_signals)
        .bind::<Array<SqlUuid>, _>(&link_projects)
        .bind::<SqlUuid, _>(workspace)
        .execute(conn)
        .await?;
        let event_projects = (0..plan.events)
            .map(|_| projects[zipf.sample(&mut rng)])
            .collect();
        Ok(Self {
            projects,
            event_projects,
        })
    }
}

impl DrainQueue for Queue {
    /// Empties the outbox, zeroes the counts and queues every event again.
    async fn refill(&self, conn: &mut AsyncPgConnection) -> anyhow::Result<()> {
        diesel::sql_query("DELETE FROM outbox")
            .execute(conn)
            .await?;
        diesel::sql_query(
            "UPDATE projects SET signal_count = 0, critical_count = 0, high_count = 0, \
             medium_count = 0, low_count = 0 WHERE id = ANY($1)",
        )
        .bind::<Array<SqlUuid>, _>(&self.projects)
        .execute(conn)
        .await?;
        for chunk in self.event_projects.chunks(20_000) {
            let ids: Vec<Uuid> = chunk.iter().map(|_| Uuid::now_v7()).collect();
            diesel::sql_query(
                "INSERT INTO outbox (id, kind, aggregate_id, payload) \
                 SELECT e.id, $3, e.project, '{}'::jsonb \
                 FROM unnest($1::uuid[], $2::uuid[]) AS e(id, project)",
            )
            .bind::<Array<SqlUuid>, _>(&ids)
            .bind::<Array<SqlUuid>, _>(chunk)
            .bind::<Text, _>(
                <atelier::signals::events::ProjectCountsChanged as atelier::outbox::Event>::KIND,
            )
            .execute(conn)
            .await?;
        }
        diesel::sql_query("VACUUM ANALYZE outbox, projects")
            .execute(conn)
            .await?;
        let _ = diesel::sql_query("CHECKPOINT").execute(conn).await;
        Ok(())
    }

    /// Fails unless the outbox is empty and every queued project's counts
    /// equal a recount of its links.
    async fn check(&self, conn: &mut AsyncPgConnection, label: &str) -> anyhow::Result<()> {
        let left = support::pending_events(conn).await?;
        anyhow::ensure!(left == 0, "{label}: {left} events left in the outbox");
        #[derive(diesel::QueryableByName)]
        struct Wrong {
            #[diesel(sql_type = BigInt)]
            wrong: i64,
        }
        let wrong: Wrong = diesel::sql_query(format!(
            "SELECT count(*) AS wrong FROM ({COUNTS} WHERE p.id = ANY($1) GROUP BY p.id) c \
             JOIN projects p ON p.id = c.id \
             WHERE (p.signal_count, p.critical_count, p.high_count, p.medium_count, p.low_count) \
                   IS DISTINCT FROM (c.total, c.critical, c.high, c.medium, c.low) \
               AND p.id IN (SELECT DISTINCT unnest($2::uuid[]))"
        ))
        .bind::<Array<SqlUuid>, _>(&self.projects)
        .bind::<Array<SqlUuid>, _>(&self.event_projects)
        .load(conn)
        .await?
        .pop()
        .ok_or_else(|| anyhow::anyhow!("no count"))?;
        anyhow::ensure!(
            wrong.wrong == 0,
            "{label}: {} projects miscounted",
            wrong.wrong
        );
        Ok(())
    }
}

/// The statement pgbench loops: claim a batch of due recount events with
/// SKIP LOCKED, delete them, and recount their distinct projects.
fn drain_statement(batch_size: u32) -> String {
    let kind = <atelier::signals::events::ProjectCountsChanged as atelier::outbox::Event>::KIND;
    format!(
        "WITH claimed AS (\n\
         \x20 DELETE FROM outbox WHERE id IN (\n\
         \x20   SELECT id FROM outbox\n\
         \x20   WHERE dead_at IS NULL AND kind = '{kind}' AND available_at <= now()\n\
         \x20   ORDER BY available_at, id LIMIT {batch_size} FOR UPDATE SKIP LOCKED)\n\
         \x20 RETURNING aggregate_id\n\
         ), agg AS (\n\
         \x20 {COUNTS} WHERE p.id IN (SELECT aggregate_id FROM claimed) GROUP BY p.id\n\
         )\n\
         UPDATE projects SET signal_count = agg.total, critical_count = agg.critical,\n\
         \x20 high_count = agg.high, medium_count = agg.medium, low_count = agg.low\n\
         FROM agg WHERE projects.id = agg.id;\n"
    )
}

/// Runs the recount drain by PostgreSQL alone with 1 and 2 clients (when
/// pgbench is installed) and by 1 and 2 atelier workers.
pub async fn run(
    state: &AppState,
    database_url: &str,
    work_dir: &Path,
    plan: &DrainPlan,
) -> anyhow::Result<Vec<DrainRun>> {
    let mut conn = AsyncPgConnection::establish(database_url).await?;
    let queue = Queue::set_up(&mut conn, plan).await?;
    let script = work_dir.join("signals-drain.sql");
    std::fs::write(&script, drain_statement(plan.batch_size))?;
    contenders(state, database_url, &mut conn, &queue, &script, plan).await
}

/// Prints each run beside PostgreSQL alone with as many clients.
pub fn print(runs: &[DrainRun]) {
    print_runs(runs);
    println!("   counts exact after every run (recounted from the links)");
}
