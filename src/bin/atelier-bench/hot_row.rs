//! Benchmarks 2 and 3: many clients calling RecordUsage on one skill, with
//! the outbox design and with the naive synchronous baseline; and, at half
//! the outbox design's maximum rate, how long a recorded use takes to show
//! in GetSkill.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use atelier::proto::registry::skill_registry_client::SkillRegistryClient;
use atelier::proto::registry::{
    GetSkillRequest, RecordUsageRequest, get_skill_request, record_usage_request,
};
use tonic::transport::Channel;
use uuid::Uuid;

use crate::support::{self, SplitMix64};

/// What a load run achieved.
#[derive(Debug)]
pub struct LoadResult {
    pub calls_per_sec: f64,
    pub succeeded: u64,
    pub failed: u64,
    /// The first failure, if any, for the report.
    pub first_error: Option<String>,
}

fn use_of(skill: Uuid) -> RecordUsageRequest {
    RecordUsageRequest {
        skill: Some(record_usage_request::Skill::SkillId(skill.to_string())),
        version: None,
        tool_name: "atelier-bench".to_owned(),
        request_id: String::new(),
    }
}

#[derive(Default)]
struct Tally {
    succeeded: AtomicU64,
    failed: AtomicU64,
    first_error: std::sync::Mutex<Option<String>>,
}

impl Tally {
    fn record(&self, outcome: Result<(), tonic::Status>) {
        match outcome {
            Ok(()) => {
                self.succeeded.fetch_add(1, Ordering::Relaxed);
            }
            Err(status) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut first) = self.first_error.lock() {
                    first.get_or_insert_with(|| {
                        format!("{:?}: {}", status.code(), status.message())
                    });
                }
            }
        }
    }

    fn result(&self, elapsed: Duration) -> LoadResult {
        let succeeded = self.succeeded.load(Ordering::Relaxed);
        LoadResult {
            calls_per_sec: succeeded as f64 / elapsed.as_secs_f64(),
            succeeded,
            failed: self.failed.load(Ordering::Relaxed),
            first_error: self.first_error.lock().ok().and_then(|e| e.clone()),
        }
    }
}

async fn record(
    client: &mut SkillRegistryClient<Channel>,
    user: &str,
    skill: Uuid,
) -> Result<(), tonic::Status> {
    client
        .record_usage(support::as_user(user, use_of(skill)))
        .await
        .map(drop)
}

/// One client per channel, each calling RecordUsage on `skill` back to
/// back for `duration`.
pub async fn closed_loop(channels: &[Channel], skill: Uuid, duration: Duration) -> LoadResult {
    let tally = Arc::new(Tally::default());
    let started = Instant::now();
    let deadline = started + duration;
    let clients: Vec<_> = channels
        .iter()
        .enumerate()
        .map(|(index, channel)| {
            let mut client = SkillRegistryClient::new(channel.clone());
            let tally = tally.clone();
            let user = format!("bench-client-{index}");
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    tally.record(record(&mut client, &user, skill).await);
                }
            })
        })
        .collect();
    for client in clients {
        let _ = client.await;
    }
    tally.result(started.elapsed())
}

/// What the staleness run measured.
#[derive(Debug)]
pub struct Staleness {
    pub load: LoadResult,
    /// Response-to-visible delays, sorted.
    pub samples: Vec<Duration>,
}

/// RecordUsage on `load_skill` at `rate` calls per second spread over the
/// channels, while one prober per probe skill records a use, then polls
/// GetSkill until `total_uses` counts it, and notes the delay.
pub async fn staleness(
    channels: &[Channel],
    load_skill: Uuid,
    probe_skills: &[Uuid],
    rate: f64,
    duration: Duration,
) -> Staleness {
    let tally = Arc::new(Tally::default());
    let started = Instant::now();
    let deadline = started + duration;
    let period = Duration::from_secs_f64(channels.len() as f64 / rate.max(1.0));
    let load: Vec<_> = channels
        .iter()
        .enumerate()
        .map(|(index, channel)| {
            let mut client = SkillRegistryClient::new(channel.clone());
            let tally = tally.clone();
            let user = format!("bench-load-{index}");
            tokio::spawn(async move {
                // Spread the clients' ticks over the period.
                let offset = period.mul_f64(index as f64 / 64.0 % 1.0);
                let mut ticks =
                    tokio::time::interval_at(tokio::time::Instant::now() + offset, period);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    ticks.tick().await;
                    if Instant::now() >= deadline {
                        break;
                    }
                    tally.record(record(&mut client, &user, load_skill).await);
                }
            })
        })
        .collect();

    let probes: Vec<_> = probe_skills
        .iter()
        .enumerate()
        .map(|(index, skill)| {
            let channel = channels[index % channels.len()].clone();
            let skill = *skill;
            tokio::spawn(probe(channel, skill, deadline, index as u64))
        })
        .collect();

    let mut samples = Vec::new();
    for probe in probes {
        if let Ok(found) = probe.await {
            samples.extend(found);
        }
    }
    for client in load {
        let _ = client.await;
    }
    samples.sort_unstable();
    Staleness {
        load: tally.result(started.elapsed()),
        samples,
    }
}

/// Records uses of `skill` (which nothing else uses) until `deadline` and
/// returns, per use, the time from the RecordUsage response until GetSkill
/// counted it.
async fn probe(channel: Channel, skill: Uuid, deadline: Instant, seed: u64) -> Vec<Duration> {
    let mut client = SkillRegistryClient::new(channel);
    let mut rng = SplitMix64::new(seed);
    let mut samples = Vec::new();
    let mut expected = 0_i64;
    while Instant::now() < deadline {
        if record(&mut client, "bench-probe", skill).await.is_err() {
            continue;
        }
        let recorded = Instant::now();
        expected += 1;
        loop {
            let seen = client
                .get_skill(GetSkillRequest {
                    selector: Some(get_skill_request::Selector::Id(skill.to_string())),
                })
                .await
                .ok()
                .and_then(|response| response.into_inner().skill)
                .map_or(0, |skill| skill.total_uses);
            if seen >= expected {
                samples.push(recorded.elapsed());
                break;
            }
            if recorded.elapsed() > Duration::from_secs(30) {
                // Never seen: count it as the worst sample, not silence.
                samples.push(recorded.elapsed());
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // Spread the probes over the worker's batch cycle.
        let pause = 10 + rng.next_u64() % 40;
        tokio::time::sleep(Duration::from_millis(pause)).await;
    }
    samples
}

/// RecordUsage's statement run by PostgreSQL alone: pgbench, prepared, at
/// `clients` connections for `duration`, on `skill`. The ceiling the
/// service's throughput is measured against. Returns calls per second, or
/// `None` without pgbench.
pub fn postgres_alone(
    database_url: &str,
    work_dir: &std::path::Path,
    skill: Uuid,
    clients: usize,
    duration: Duration,
) -> anyhow::Result<Option<f64>> {
    let Some(pgbench) = crate::support::pgbench() else {
        return Ok(None);
    };
    let script = work_dir.join("record_usage.sql");
    std::fs::write(
        &script,
        format!(
            "WITH skill AS (SELECT id FROM skills WHERE id = '{skill}'),\n\
             used AS (INSERT INTO usage_events (id, skill_id, version, user_id, tool_name, request_id)\n\
             \x20 SELECT gen_random_uuid(), skill.id, NULL, 'pgbench', 'atelier-bench', NULL FROM skill\n\
             \x20 RETURNING *),\n\
             queued AS (INSERT INTO outbox (id, kind, aggregate_id, payload)\n\
             \x20 SELECT gen_random_uuid(), 'usage.recorded', skill_id, '{{\"uses\": 1}}'::jsonb FROM used)\n\
             SELECT * FROM used;\n"
        ),
    )?;
    let output = std::process::Command::new(pgbench)
        .args(["--no-vacuum", "--protocol=prepared"])
        .arg(format!("--file={}", script.display()))
        .arg(format!("--client={clients}"))
        .arg("--jobs=2")
        .arg(format!("--time={}", duration.as_secs().max(1)))
        .arg(database_url)
        .output()?;
    anyhow::ensure!(
        output.status.success(),
        "pgbench failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    // "tps = 5762.83 (without initial connection time)"
    let text = String::from_utf8_lossy(&output.stdout);
    let tps = text
        .lines()
        .find_map(|line| line.strip_prefix("tps = "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|number| number.parse().ok());
    Ok(tps)
}
