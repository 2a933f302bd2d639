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

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use atelier::app::AppState;
use atelier::db::rows::SingleRow as _;
use atelier::proto::registry::record_usage_request::Skill as Which;
use atelier::proto::registry::skill_registry_client::SkillRegistryClient;
use atelier::proto::registry::{CreateSkillRequest, RecordUsageRequest, SkillCategory};
use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tonic::transport::Channel;

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
    #[diesel(sql_type = Text)]
    key: String,
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

/// Runs the soak against the server at `channel`, killing the embedded
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
    let uses = Arc::new(Mutex::new(BTreeSet::new()));
    let created = Arc::new(Mutex::new(BTreeSet::new()));
    let retries = Arc::new(Mutex::new(0_u64));
    let started = Instant::now();
    let deadline = started + plan.duration;

    let mut tasks = Vec::new();
    for (client, channel) in channels.iter().take(plan.clients).enumerate() {
        let (channel, skills, uses, retries) = (
            channel.clone(),
            skills.clone(),
            uses.clone(),
            retries.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut sequence = 0_usize;
            while Instant::now() < deadline {
                sequence += 1;
                let request_id = format!("soak-{client}-{sequence}");
                let skill = skills[sequence % skills.len()].to_string();
                let ok = until_acknowledged(deadline, &retries, || {
                    let request = RecordUsageRequest {
                        skill: Some(Which::SkillId(skill.clone())),
                        version: None,
                        tool_name: "soak".to_owned(),
                        request_id: request_id.clone(),
                    };
                    let mut registry = SkillRegistryClient::new(channel.clone());
                    async move {
                        registry
                            .record_usage(support::as_user("soak-user", request))
                            .await
                    }
                })
                .await;
                if ok && let Ok(mut uses) = uses.lock() {
                    uses.insert(request_id);
                }
            }
        }));
    }
    if let Some(channel) = channels.last() {
        let (channel, created, retries): (Channel, _, _) =
            (channel.clone(), created.clone(), retries.clone());
        tasks.push(tokio::spawn(async move {
            let mut sequence = 0_usize;
            while Instant::now() < deadline {
                sequence += 1;
                let slug = format!("soak-created-{sequence}");
                let ok = until_acknowledged(deadline, &retries, || {
                    let request = CreateSkillRequest {
                        slug: slug.clone(),
                        name: "Soak".to_owned(),
                        description: "Created during the soak".to_owned(),
                        category: SkillCategory::Prompt.into(),
                        hours_saved: None,
                        request_id: slug.clone(),
                    };
                    let mut registry = SkillRegistryClient::new(channel.clone());
                    async move {
                        registry
                            .create_skill(support::as_user("soak-author", request))
                            .await
                    }
                })
                .await;
                if ok && let Ok(mut created) = created.lock() {
                    created.insert(slug);
                }
            }
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
                    "   {:>5.0} s: {signal} to the postmaster (pid {pid}); acknowledged so far: {} uses, {} skills; RSS {} MiB",
                    started.elapsed().as_secs_f64(),
                    uses.lock().map_or(0, |u| u.len()),
                    created.lock().map_or(0, |c| c.len()),
                    rss_kib() / 1024
                );
            }
        }
    }
    for task in tasks {
        task.await?;
    }
    drop(channels);
    support::wait_until_drained(database_url, Duration::from_secs(300)).await?;
    server.stop().await?;
    let rss_end_kib = rss_kib();

    let mut conn = AsyncPgConnection::establish(database_url).await?;
    let rows: Vec<KeyCount> = diesel::sql_query(
        "SELECT request_id AS key, count(*) AS n FROM usage_events \
         WHERE request_id LIKE 'soak-%' GROUP BY request_id",
    )
    .load(&mut conn)
    .await?;
    let skill_rows: Vec<KeyCount> = diesel::sql_query(
        "SELECT slug AS key, count(*) AS n FROM skills WHERE slug LIKE 'soak-created-%' GROUP BY slug",
    )
    .load(&mut conn)
    .await?;
    let counted: KeyCount = diesel::sql_query(
        "SELECT 'uses' AS key, (SELECT coalesce(sum(total_uses), 0) FROM skills)::bigint \
         - (SELECT count(*) FROM usage_events) AS n",
    )
    .load(&mut conn)
    .await
    .single()?;

    let uses = uses.lock().map(|u| u.clone()).unwrap_or_default();
    let created = created.lock().map(|c| c.clone()).unwrap_or_default();
    let present_uses: BTreeSet<&str> = rows.iter().map(|r| r.key.as_str()).collect();
    let present_skills: BTreeSet<&str> = skill_rows.iter().map(|r| r.key.as_str()).collect();
    let lost = uses
        .iter()
        .filter(|k| !present_uses.contains(k.as_str()))
        .count()
        + created
            .iter()
            .filter(|k| !present_skills.contains(k.as_str()))
            .count();
    let duplicated = rows.iter().filter(|r| r.n != 1).count();
    Ok(SoakReport {
        acknowledged: uses.len() + created.len(),
        present: rows.len() + skill_rows.len(),
        lost,
        duplicated,
        counters_equal_rows: counted.n == 0,
        faults,
        retried_calls: retries.lock().map_or(0, |r| *r),
        rss_start_kib,
        rss_end_kib,
    })
}
