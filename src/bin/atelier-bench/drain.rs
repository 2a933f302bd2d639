//! Benchmark 1: how fast the outbox worker turns queued usage events into
//! `total_uses`, beside PostgreSQL doing the same drain alone (pgbench
//! looping one statement), on the same queue in the same run.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use atelier::config::WorkerConfig;
use atelier::state::AppState;
use diesel::sql_types::{Array, Uuid as SqlUuid};
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::support::{self, SplitMix64, Zipf};

/// The drain's shape.
#[derive(Debug, Clone)]
pub struct DrainPlan {
    pub events: usize,
    pub skills: usize,
    pub zipf_exponent: f64,
    pub batch_size: u32,
}

/// Who drained the queue, and how fast.
#[derive(Debug)]
pub struct DrainRun {
    pub label: String,
    pub clients: usize,
    pub events_per_sec: f64,
}

/// A queue a drain benchmark empties: refilled to the same state before
/// every contender, and checked exact after it.
pub trait DrainQueue {
    /// Empties the outbox, resets what the drain writes, queues every event
    /// again and tidies up.
    async fn refill(&self, conn: &mut AsyncPgConnection) -> anyhow::Result<()>;

    /// Fails unless the outbox is empty and everything the drain wrote is
    /// exact.
    async fn check(&self, conn: &mut AsyncPgConnection, label: &str) -> anyhow::Result<()>;
}

/// The queue: which skill each event is about, and what each skill's
/// `total_uses` must be once it is drained.
struct Queue {
    skills: Vec<Uuid>,
    event_skills: Vec<Uuid>,
    expected: HashMap<Uuid, i64>,
}

impl Queue {
    fn new(skills: Vec<Uuid>, plan: &DrainPlan) -> Self {
        let zipf = Zipf::new(skills.len(), plan.zipf_exponent);
        let mut rng = SplitMix64::new(0x0a7e_11e5);
        let mut expected: HashMap<Uuid, i64> = HashMap::new();
        let event_skills = (0..plan.events)
            .map(|_| {
                let skill = skills[zipf.sample(&mut rng)];
                *expected.entry(skill).or_default() += 1;
                skill
            })
            .collect();
        Self {
            skills,
            event_skills,
            expected,
        }
    }
}

impl DrainQueue for Queue {
    /// Empties the outbox, zeroes the counters, queues every event again
    /// and tidies up, so each contender starts from the same table state.
    async fn refill(&self, conn: &mut AsyncPgConnection) -> anyhow::Result<()> {
        diesel::sql_query("DELETE FROM outbox")
            .execute(conn)
            .await?;
        diesel::sql_query("UPDATE skills SET total_uses = 0 WHERE id = ANY($1)")
            .bind::<Array<SqlUuid>, _>(&self.skills)
            .execute(conn)
            .await?;
        for chunk in self.event_skills.chunks(20_000) {
            let ids: Vec<Uuid> = chunk.iter().map(|_| Uuid::now_v7()).collect();
            diesel::sql_query(
                "INSERT INTO outbox (id, kind, aggregate_id, payload) \
                 SELECT e.id, 'usage.recorded', e.skill, '{\"uses\": 1}'::jsonb \
                 FROM unnest($1::uuid[], $2::uuid[]) AS e(id, skill)",
            )
            .bind::<Array<SqlUuid>, _>(&ids)
            .bind::<Array<SqlUuid>, _>(chunk)
            .execute(conn)
            .await?;
        }
        diesel::sql_query("VACUUM ANALYZE outbox, skills")
            .execute(conn)
            .await?;
        // Not allowed for every role on an external server; then the run
        // just risks meeting a checkpoint.
        let _ = diesel::sql_query("CHECKPOINT").execute(conn).await;
        Ok(())
    }

    /// Fails unless the outbox is empty and every counter is exact.
    async fn check(&self, conn: &mut AsyncPgConnection, label: &str) -> anyhow::Result<()> {
        let left = support::pending_events(conn).await?;
        anyhow::ensure!(left == 0, "{label}: {left} events left in the outbox");
        for skill in &self.skills {
            let want = self.expected.get(skill).copied().unwrap_or(0);
            let got = support::total_uses(conn, *skill).await?;
            anyhow::ensure!(
                got == want,
                "{label}: skill {skill} has total_uses {got}, expected {want}"
            );
        }
        Ok(())
    }
}

/// Runs the drain by PostgreSQL alone with 1 and 2 clients (when pgbench
/// is installed) and by 1 and 2 atelier workers.
pub async fn run(
    state: &AppState,
    database_url: &str,
    work_dir: &Path,
    plan: &DrainPlan,
) -> anyhow::Result<Vec<DrainRun>> {
    let mut conn = AsyncPgConnection::establish(database_url).await?;
    let skills = support::create_skills(&mut conn, "drain", plan.skills).await?;
    let queue = Queue::new(skills, plan);
    let script = work_dir.join("drain.sql");
    std::fs::write(&script, drain_statement(plan.batch_size))?;
    contenders(state, database_url, &mut conn, &queue, &script, plan).await
}

/// Drains `queue` by PostgreSQL alone looping `script` with 1 and 2 clients
/// (when pgbench is installed), then by 1 and 2 atelier workers, checking
/// it after each.
pub async fn contenders(
    state: &AppState,
    database_url: &str,
    conn: &mut AsyncPgConnection,
    queue: &impl DrainQueue,
    script: &Path,
    plan: &DrainPlan,
) -> anyhow::Result<Vec<DrainRun>> {
    let mut runs = Vec::new();
    match &support::pgbench() {
        Some(pgbench) => {
            for clients in [1, 2] {
                queue.refill(conn).await?;
                let elapsed = run_pgbench(pgbench, script, database_url, clients, plan)?;
                let label = format!("PostgreSQL alone (pgbench, {clients} client(s))");
                queue.check(conn, &label).await?;
                runs.push(DrainRun {
                    label,
                    clients,
                    events_per_sec: plan.events as f64 / elapsed.as_secs_f64(),
                });
            }
        }
        None => println!("   (pgbench not found: the PostgreSQL-alone baseline is skipped)"),
    }

    let config = WorkerConfig {
        outbox_batch_size: plan.batch_size,
        outbox_poll_interval_ms: 1000,
        outbox_lease_secs: 30,
        outbox_max_attempts: 10,
        scrub: atelier::config::ScrubConfig::disabled(),
        outbox_linger_ms: 0,
    };
    for workers in [1, 2] {
        queue.refill(conn).await?;
        let elapsed = drain_with_workers(state, &config, workers).await?;
        let label = format!("atelier worker x{workers}");
        queue.check(conn, &label).await?;
        runs.push(DrainRun {
            label,
            clients: workers,
            events_per_sec: plan.events as f64 / elapsed.as_secs_f64(),
        });
    }
    Ok(runs)
}

/// The statement pgbench loops: delete a batch of due usage events claimed
/// with SKIP LOCKED (through the same partial index as the worker) and add
/// their per-skill counts to `skills`.
fn drain_statement(batch_size: u32) -> String {
    format!(
        "WITH claimed AS (\n\
         \x20 DELETE FROM outbox WHERE id IN (\n\
         \x20   SELECT id FROM outbox\n\
         \x20   WHERE dead_at IS NULL AND kind = 'usage.recorded' AND available_at <= now()\n\
         \x20   ORDER BY available_at, id LIMIT {batch_size} FOR UPDATE SKIP LOCKED)\n\
         \x20 RETURNING aggregate_id, (payload->>'uses')::bigint AS uses\n\
         ), per_skill AS (\n\
         \x20 SELECT aggregate_id AS id, sum(uses) AS uses FROM claimed GROUP BY aggregate_id\n\
         )\n\
         UPDATE skills SET total_uses = total_uses + per_skill.uses\n\
         FROM per_skill WHERE skills.id = per_skill.id;\n"
    )
}

fn run_pgbench(
    pgbench: &Path,
    script: &Path,
    database_url: &str,
    clients: usize,
    plan: &DrainPlan,
) -> anyhow::Result<Duration> {
    // Enough transactions for every client to keep draining until the
    // queue is empty; the spare ones find nothing and cost next to nothing.
    let batches = plan.events.div_ceil(plan.batch_size as usize);
    let per_client = batches.div_ceil(clients) + 10;
    let started = Instant::now();
    let output = std::process::Command::new(pgbench)
        .arg("--no-vacuum")
        .arg(format!("--file={}", script.display()))
        .arg(format!("--client={clients}"))
        .arg(format!("--jobs={clients}"))
        .arg(format!("--transactions={per_client}"))
        // Two clients can deadlock on the skills they both update; pgbench
        // retries such a transaction like an application would.
        .arg("--max-tries=100")
        .arg(database_url)
        .output()
        .context("running pgbench")?;
    let elapsed = started.elapsed();
    anyhow::ensure!(
        output.status.success(),
        "pgbench failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(elapsed)
}

/// Drains the queue with `workers` concurrent workers, each running the
/// worker's batch step until it finds nothing to claim.
async fn drain_with_workers(
    state: &AppState,
    config: &WorkerConfig,
    workers: usize,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let worker = atelier::jobs::outbox_worker(state, config.clone());
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let worker = worker.clone();
            tokio::spawn(async move {
                while worker.drain_batch().await? > 0 {}
                Ok::<_, atelier::outbox::DrainError>(())
            })
        })
        .collect();
    for task in tasks {
        task.await?
            .map_err(|e| anyhow::anyhow!("worker failed: {e}"))?;
    }
    Ok(started.elapsed())
}

/// Prints each run, and each worker run as a ratio of PostgreSQL alone
/// with as many clients.
pub fn print_runs(runs: &[DrainRun]) {
    for run in runs {
        let mut line = format!("   {:<42} {:>10.0} events/s", run.label, run.events_per_sec);
        if let Some(ratio) = ratio_to_alone(runs, run) {
            line.push_str(&format!("  = {ratio:.2} of PostgreSQL alone"));
        }
        println!("{line}");
    }
}

/// `run`'s rate over PostgreSQL alone's with as many clients (none for a
/// PostgreSQL run, or without pgbench).
fn ratio_to_alone(runs: &[DrainRun], run: &DrainRun) -> Option<f64> {
    if run.label.starts_with("PostgreSQL") {
        return None;
    }
    runs.iter()
        .find(|r| r.label.starts_with("PostgreSQL") && r.clients == run.clients)
        .map(|alone| run.events_per_sec / alone.events_per_sec)
}

/// Prints the usage drain's runs and the goal's verdict.
pub fn print(runs: &[DrainRun]) {
    print_runs(runs);
    let met = runs
        .iter()
        .filter(|run| !run.label.starts_with("PostgreSQL"))
        .all(|run| {
            run.events_per_sec >= 100_000.0 && ratio_to_alone(runs, run).is_none_or(|r| r >= 0.5)
        });
    println!(
        "   goal: >= 100,000 events/s and >= 0.5 of PostgreSQL alone: {}",
        support::verdict(met)
    );
}
