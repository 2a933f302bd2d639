//! The soak: minutes of mixed write load with PostgreSQL killed at a fixed
//! interval, counting what was acknowledged against what is in the
//! database afterwards. Not a speed benchmark and not run by default (nor
//! in CI): `--only soak`.
//!
//! Clients retry every failed call with its request id until it is
//! acknowledged, as a careful caller would. Faults alternate between
//! SIGKILL and SIGQUIT (`pg_ctl stop -m immediate`) of the embedded
//! postmaster; the server's supervisor restarts it. At the end every
//! acknowledged write must be present once, and the counters must equal
//! the rows.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use atelier::db::rows::SingleRow as _;
use atelier::proto::registry::record_usage_request::Skill as Which;
use atelier::proto::registry::skill_registry_client::SkillRegistryClient;
use atelier::proto::registry::{CreateSkillRequest, RecordUsageRequest, SkillCategory};
use atelier::state::AppState;
use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::support;

/// How the soak runs.
#[derive(Debug, Clone, Copy)]
pub struct SoakPlan {
    /// How long the load lasts.
    pub duration: Duration,
    /// Time between two faults.
    pub fault_every: Duration,
    /// Concurrent RecordUsage clients (one more creates skills).
    pub clients: usize,
}

/// What the soak saw.
#[derive(Debug)]
pub struct SoakReport {
    pub acknowledged: usize,
    pub present: usize,
    pub lost: usize,
    pub duplicated: usize,
    pub counters_equal_rows: bool,
    pub faults: usize,
    pub retried_calls: u64,
    pub rss_start_kib: u64,
    pub rss_end_kib: u64,
}

#[derive(diesel::QueryableByName)]
struct KeyCount {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// This process's resident memory (the server runs in it), in KiB.
pub fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse().ok())
        })
        .unwrap_or(0)
}

/// The embedded postmaster's pid, from its lock file.
fn postmaster_pid(data_dir: &Path) -> Option<i32> {
    let text = std::fs::read_to_string(data_dir.join("postgres/postmaster.pid")).ok()?;
    text.lines().next()?.trim().parse().ok()
}

/// Calls until acknowledged (or long past the deadline); counts retries.
async fn until_acknowledged<F, Fut, T>(deadline: Instant, retries: &Mutex<u64>, mut call: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, tonic::Status>>,
{
    while Instant::now() < deadline + Duration::from_secs(60) {
        if call().await.is_ok() {
            return true;
        }
        if let Ok(mut retries) = retries.lock() {
            *retries += 1;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// What one client did: it sent requests 1..=`last`, each retried until
/// acknowledged, except those in `unacknowledged` (given up on). Kept this
/// small on purpose: the server runs in this process, and its memory is
/// what the soak watches.
#[derive(Debug, Default)]
struct Ledger {
    last: usize,
    unacknowledged: Vec<usize>,
}

impl Ledger {
    fn acknowledged(&self) -> usize {
        self.last - self.unacknowledged.len()
    }
}

/// Runs the soak on a fresh in-process server, killing the embedded
/// PostgreSQL of `data_dir`.
pub async fn run(
    state: &AppState,
    database_url: &str,
    data_dir: &Path,
    plan: SoakPlan,
) -> anyhow::Result<SoakReport> {
    let mut conn = AsyncPgConnection::establish(database_url).await?;
    let skills = support::create_skills(&mut conn, "soak", 16).await?;
    let server = support::RunningServer::start(
        state.clone(),
        database_url,
        Some(crate::worker_config(
            atelier::config::DEFAULT_OUTBOX_LINGER_MS,
        )),
    )
    .await?;
    let channels = server.connect(plan.clients + 1).await?;
    let rss_start_kib = rss_kib();
    let progress = Arc::new(AtomicUsize::new(0));
    let retries = Arc::new(Mutex::new(0_u64));
    let started = Instant::now();
    let deadline = started + plan.duration;

    // Clients 0..n record uses; client n creates skills.
    let mut tasks = Vec::new();
    for (client, channel) in channels.iter().enumerate() {
        let creates_skills = client == plan.clients;
        let (channel, skills, progress, retries) = (
            channel.clone(),
            skills.clone(),
            progress.clone(),
            retries.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut ledger = Ledger::default();
            while Instant::now() < deadline {
                ledger.last += 1;
                let sequence = ledger.last;
                let ok = until_acknowledged(deadline, &retries, || {
                    let mut registry = SkillRegistryClient::new(channel.clone());
                    let skill = skills[sequence % skills.len()].to_string();
                    async move {
                        if creates_skills {
                            let slug = format!("soak-created-{sequence}");
                            let request = CreateSkillRequest {
                                slug: slug.clone(),
                                name: "Soak".to_owned(),
                                description: "Created during the soak".to_owned(),
                                category: SkillCategory::Prompt.into(),
                                hours_saved: None,
                                request_id: slug,
                            };
                            registry
                                .create_skill(support::as_user("soak-author", request))
                                .await
                                .map(drop)
                        } else {
                            let request = RecordUsageRequest {
                                skill: Some(Which::SkillId(skill)),
                                version: None,
                                tool_name: "soak".to_owned(),
                                request_id: format!("soak-{client}-{sequence}"),
                            };
                            registry
                                .record_usage(support::as_user("soak-user", request))
                                .await
                                .map(drop)
                        }
                    }
                })
                .await;
                if ok {
                    progress.fetch_add(1, Ordering::Relaxed);
                } else {
                    ledger.unacknowledged.push(sequence);
                }
            }
            ledger
        }));
    }

    let mut faults = 0;
    let mut next_fault = started + plan.fault_every;
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if Instant::now() >= next_fault && Instant::now() < deadline {
            next_fault += plan.fault_every;
            let signal = if faults % 2 == 0 {
                Signal::SIGKILL
            } else {
                Signal::SIGQUIT
            };
            if let Some(pid) = postmaster_pid(data_dir) {
                let _ = kill(Pid::from_raw(pid), signal);
                faults += 1;
                println!(
                    "   {:>5.0} s: {signal} to the postmaster (pid {pid}); acknowledged so far: {}; RSS {} MiB",
                    started.elapsed().as_secs_f64(),
                    AtomicUsize::load(&progress, Ordering::Relaxed),
                    rss_kib() / 1024
                );
            }
        }
    }
    let mut ledgers = Vec::new();
    for task in tasks {
        ledgers.push(task.await?);
    }
    let rss_end_kib = rss_kib();
    drop(channels);
    support::wait_until_drained(database_url, Duration::from_secs(300)).await?;
    server.stop().await?;
    check(
        database_url,
        &ledgers,
        faults,
        retries.lock().map_or(0, |r| *r),
        rss_start_kib,
        rss_end_kib,
    )
    .await
}

/// Compares the ledgers with the database: per client, the distinct
/// request ids present, and which of the given-up ones made it anyway.
async fn check(
    database_url: &str,
    ledgers: &[Ledger],
    faults: usize,
    retried_calls: u64,
    rss_start_kib: u64,
    rss_end_kib: u64,
) -> anyhow::Result<SoakReport> {
    let mut conn = AsyncPgConnection::establish(database_url).await?;
    let skill_client = ledgers.len() - 1;
    let per_client: Vec<ClientRows> = diesel::sql_query(
        "SELECT split_part(request_id, '-', 2) AS key, count(*) AS n, count(DISTINCT request_id) AS d \
         FROM usage_events WHERE request_id LIKE 'soak-%' GROUP BY 1 \
         UNION ALL \
         SELECT $1 AS key, count(*) AS n, count(DISTINCT slug) AS d \
         FROM skills WHERE slug LIKE 'soak-created-%'",
    )
    .bind::<Text, _>(skill_client.to_string())
    .load(&mut conn)
    .await?;
    let mut report = SoakReport {
        acknowledged: 0,
        present: 0,
        lost: 0,
        duplicated: 0,
        counters_equal_rows: false,
        faults,
        retried_calls,
        rss_start_kib,
        rss_end_kib,
    };
    for (client, ledger) in ledgers.iter().enumerate() {
        let rows = per_client
            .iter()
            .find(|r| r.key == client.to_string())
            .map_or((0, 0), |r| (r.n, r.d));
        // Given up on, but committed all the same: present, not acknowledged.
        let mut unacknowledged_present = 0;
        for sequence in &ledger.unacknowledged {
            let key = if client == skill_client {
                format!("soak-created-{sequence}")
            } else {
                format!("soak-{client}-{sequence}")
            };
            let found: KeyCount = diesel::sql_query(
                "SELECT (SELECT count(*) FROM usage_events WHERE request_id = $1) \
                 + (SELECT count(*) FROM skills WHERE slug = $1) AS n",
            )
            .bind::<Text, _>(&key)
            .load(&mut conn)
            .await
            .single()?;
            unacknowledged_present += usize::from(found.n > 0);
        }
        let present = usize::try_from(rows.1)?;
        report.acknowledged += ledger.acknowledged();
        report.present += present;
        report.lost += ledger
            .acknowledged()
            .saturating_sub(present - unacknowledged_present);
        report.duplicated += usize::try_from(rows.0 - rows.1)?;
    }
    let counted: KeyCount = diesel::sql_query(
        "SELECT (SELECT coalesce(sum(total_uses), 0) FROM skills)::bigint \
         - (SELECT count(*) FROM usage_events) AS n",
    )
    .load(&mut conn)
    .await
    .single()?;
    report.counters_equal_rows = counted.n == 0;
    Ok(report)
}

#[derive(diesel::QueryableByName)]
struct ClientRows {
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
    #[diesel(sql_type = BigInt)]
    d: i64,
}
