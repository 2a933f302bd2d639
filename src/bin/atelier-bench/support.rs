//! What the benchmarks share: a seeded random source, a Zipf sampler,
//! skills made in bulk, an in-process server, clients and percentiles.

use atelier::db::rows::SingleRow as _;
use std::time::Duration;

use anyhow::Context as _;
use atelier::auth::Authenticator;
use atelier::config::WorkerConfig;
use atelier::server::{ServerOptions, serve_grpc};
use atelier::shutdown::Shutdown;
use atelier::state::AppState;
use diesel::sql_types::{Array, BigInt, Text, Uuid as SqlUuid};
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tonic::transport::Channel;
use uuid::Uuid;

/// SplitMix64: a tiny, fast, seedable generator. The benchmarks need
/// reproducible skew and filler bytes, not cryptographic randomness.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1_u64 << 53) as f64
    }

    pub fn fill(&mut self, bytes: &mut [u8]) {
        for chunk in bytes.chunks_mut(8) {
            let word = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }
}

/// Ranks 0..n drawn with probability proportional to 1 / (rank + 1)^s:
/// a few skills get most of the use, as in any real catalogue.
#[derive(Debug, Clone)]
pub struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    pub fn new(n: usize, exponent: f64) -> Self {
        let mut total = 0.0;
        let cumulative = (1..=n)
            .map(|rank| {
                total += 1.0 / (rank as f64).powf(exponent);
                total
            })
            .collect();
        Self { cumulative }
    }

    pub fn sample(&self, rng: &mut SplitMix64) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let target = rng.next_f64() * total;
        self.cumulative
            .partition_point(|c| *c <= target)
            .min(self.cumulative.len().saturating_sub(1))
    }
}

/// Inserts `count` skills named `<prefix>-<n>` and returns their ids (the
/// benchmarks measure the outbox, not CreateSkill).
pub async fn create_skills(
    conn: &mut AsyncPgConnection,
    prefix: &str,
    count: usize,
) -> anyhow::Result<Vec<Uuid>> {
    let ids: Vec<Uuid> = (0..count).map(|_| Uuid::now_v7()).collect();
    diesel::sql_query(
        "INSERT INTO skills (id, slug, name, description, category, author_id) \
         SELECT id, $2 || '-' || ord, 'Benchmark skill', 'Made by atelier-bench', 'prompt', 'bench' \
         FROM unnest($1::uuid[]) WITH ORDINALITY AS t(id, ord)",
    )
    .bind::<Array<SqlUuid>, _>(&ids)
    .bind::<Text, _>(prefix)
    .execute(conn)
    .await
    .context("creating benchmark skills")?;
    Ok(ids)
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// pgbench from the PostgreSQL binaries the embedded cluster uses, if
/// installed.
pub fn pgbench() -> Option<std::path::PathBuf> {
    atelier::db::embedded::find_bin_dir()
        .map(|dir| dir.join("pgbench"))
        .filter(|path| path.exists())
}

/// Live (not dead) events left in the outbox.
pub async fn pending_events(conn: &mut AsyncPgConnection) -> anyhow::Result<i64> {
    let row: Count =
        diesel::sql_query("SELECT count(*) AS count FROM outbox WHERE dead_at IS NULL")
            .load(conn)
            .await
            .single()?;
    Ok(row.count)
}

/// A skill's `total_uses`.
pub async fn total_uses(conn: &mut AsyncPgConnection, skill: Uuid) -> anyhow::Result<i64> {
    let row: Count = diesel::sql_query("SELECT total_uses AS count FROM skills WHERE id = $1")
        .bind::<SqlUuid, _>(skill)
        .load(conn)
        .await
        .single()?;
    Ok(row.count)
}

/// Waits until the outbox has no live events (the worker caught up).
pub async fn wait_until_drained(database_url: &str, limit: Duration) -> anyhow::Result<()> {
    let mut conn = AsyncPgConnection::establish(database_url).await?;
    let deadline = tokio::time::Instant::now() + limit;
    while pending_events(&mut conn).await? > 0 {
        if tokio::time::Instant::now() >= deadline {
            let state = database_activity(&mut conn).await.unwrap_or_default();
            anyhow::bail!("the outbox did not drain within {limit:?}; database activity:\n{state}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// What every other session of the database is doing, for a failure
/// report.
async fn database_activity(conn: &mut AsyncPgConnection) -> anyhow::Result<String> {
    #[derive(diesel::QueryableByName)]
    struct Line {
        #[diesel(sql_type = Text)]
        line: String,
    }
    let lines: Vec<Line> = diesel::sql_query(
        "SELECT concat_ws(' | ', pid, state, wait_event_type, wait_event, \
                left(query, 120)) AS line \
         FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .load(conn)
    .await?;
    let outbox: Vec<Line> = diesel::sql_query(
        "SELECT concat_ws(' | ', kind, count(*), min(available_at), max(attempts)) AS line \
         FROM outbox WHERE dead_at IS NULL GROUP BY kind",
    )
    .load(conn)
    .await?;
    Ok(lines
        .iter()
        .chain(&outbox)
        .map(|l| l.line.as_str())
        .collect::<Vec<_>>()
        .join("\n"))
}

/// The real server (and, when asked, its outbox worker) in this process on
/// a free local port.
pub struct RunningServer {
    pub address: std::net::SocketAddr,
    shutdown: Shutdown,
    server: JoinHandle<anyhow::Result<()>>,
    worker: Option<JoinHandle<()>>,
}

impl RunningServer {
    pub async fn start(
        state: AppState,
        database_url: &str,
        worker: Option<WorkerConfig>,
    ) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let shutdown = Shutdown::new();
        let worker = worker.map(|config| {
            let worker = atelier::jobs::outbox_worker(&state, config);
            tokio::spawn(worker.run(Some(database_url.to_owned()), shutdown.clone()))
        });
        let options = ServerOptions {
            auth: Authenticator::new(&[]).map_err(anyhow::Error::msg)?,
            health_interval: Duration::from_secs(1),
            shutdown_grace: Duration::from_secs(5),
            traffic: atelier::config::Traffic {
                drain_delay: Duration::ZERO,
                ..Default::default()
            },
            // Every benchmark client comes from 127.0.0.1: no caps here.
            connections: atelier::connections::ConnectionLimits {
                max_connections: 100_000,
                max_connections_per_ip: 100_000,
                ..atelier::connections::ConnectionLimits::default()
            },
            transport: atelier::config::Transport::default(),
        };
        let server = tokio::spawn(serve_grpc(
            listener,
            state,
            database_url.to_owned(),
            options,
            shutdown.clone(),
        ));
        Ok(Self {
            address,
            shutdown,
            server,
            worker,
        })
    }

    /// `count` clients, each on a connection of its own.
    pub async fn connect(&self, count: usize) -> anyhow::Result<Vec<Channel>> {
        let mut channels = Vec::with_capacity(count);
        for _ in 0..count {
            let channel = Channel::from_shared(format!("http://{}", self.address))?
                .tcp_nodelay(true)
                .connect()
                .await
                .context("connecting to the benchmark server")?;
            channels.push(channel);
        }
        Ok(channels)
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.trigger();
        if let Some(worker) = self.worker {
            worker.await?;
        }
        self.server.await?
    }
}

/// A request made by the benchmark's user.
pub fn as_user<T>(user: &str, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Ok(value) = user.parse() {
        request.metadata_mut().insert("x-user-id", value);
    }
    request
}

/// The `fraction` quantile (0..=1) of sorted `samples`, by the
/// nearest-rank method.
pub fn quantile(sorted: &[Duration], fraction: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (fraction * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// `met` or `NOT met`, for the goal lines.
pub fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "NOT met" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zipf_favours_low_ranks_and_stays_in_range() {
        let zipf = Zipf::new(100, 1.0);
        let mut rng = SplitMix64::new(7);
        let mut counts = [0_u32; 100];
        for _ in 0..100_000 {
            counts[zipf.sample(&mut rng)] += 1;
        }
        // Rank 1 gets 1/H(100) ≈ 19% of draws, rank 100 about 0.2%.
        assert!((18_000..21_000).contains(&counts[0]), "{}", counts[0]);
        assert!(counts[0] > counts[1] && counts[1] > counts[9] && counts[9] > counts[99]);
    }

    #[test]
    fn quantiles_use_the_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(quantile(&samples, 0.5), Duration::from_millis(50));
        assert_eq!(quantile(&samples, 0.99), Duration::from_millis(99));
        assert_eq!(quantile(&samples[..1], 0.99), Duration::from_millis(1));
    }
}
