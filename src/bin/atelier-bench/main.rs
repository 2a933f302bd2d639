//! `atelier-bench`: the outbox's four benchmarks, on the embedded
//! PostgreSQL with default settings (or `--database-url`), printing each
//! figure beside its baseline and goal.
//!
//! 1. drain rate: queued usage events applied per second by 1 and 2
//!    workers, beside pgbench draining the same queue with one statement;
//!    1b. the same for Signals' project recounts (`project.counts_changed`),
//!    beside pgbench claiming and recounting in one statement;
//! 2. hot row: 64 clients calling RecordUsage on one skill, outbox design
//!    against the synchronous-counter baseline;
//! 3. staleness: at half the maximum RecordUsage rate, the delay from a
//!    response until GetSkill shows the use;
//! 4. verification: bytes hashed per second by the worker against
//!    `openssl dgst -sha256` on the same files;
//! 5. soak (only with `--only soak`): minutes of write load with the
//!    embedded PostgreSQL killed every minute, counting acknowledged writes
//!    against what is in the database afterwards (lost must be 0).
//!
//! Every run also checks its counts are exact and exits non-zero when one
//! is not; missing a performance goal is reported, not fatal (machines are
//! noisy; the figures are for people to judge).

mod drain;
mod hot_row;
mod signals_drain;
mod soak;
mod support;
mod verification;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use atelier::config::{CommonConfig, UsageCounters, WorkerConfig};
use atelier::db::Database;
use atelier::state::AppState;
use atelier::storage::Storage;
use clap::Parser;
use diesel_async::{AsyncConnection as _, RunQueryDsl as _};

/// Benchmarks of the outbox design.
#[derive(Debug, Parser)]
#[command(name = "atelier-bench")]
struct Args {
    /// Tiny sizes and durations (seconds in all), for CI: proves the
    /// benchmark runs and its counts are exact, measures nothing useful.
    #[arg(long)]
    smoke: bool,
    /// PostgreSQL to use instead of a fresh embedded cluster. Its
    /// `atelier` schema is migrated and benchmark rows are left behind.
    #[arg(long, env = "ATELIER_BENCH_DATABASE_URL")]
    database_url: Option<String>,
    /// Usage events queued for the drain benchmark.
    #[arg(long, default_value_t = 200_000)]
    events: usize,
    /// Skills the drained events are spread over.
    #[arg(long, default_value_t = 1000)]
    skills: usize,
    /// Exponent of the Zipf skew over skills (1.0: the top skill gets ~13%).
    #[arg(long, default_value_t = 1.0)]
    zipf_exponent: f64,
    /// Events per claimed batch, for the workers and pgbench alike.
    #[arg(long, default_value_t = atelier::config::DEFAULT_OUTBOX_BATCH_SIZE)]
    batch_size: u32,
    /// The server's worker linger (see `atelier serve --help`) in the
    /// hot-row and staleness benchmarks.
    #[arg(long, default_value_t = atelier::config::DEFAULT_OUTBOX_LINGER_MS)]
    outbox_linger_ms: u64,
    /// Concurrent RecordUsage clients in the hot-row benchmark.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Seconds each hot-row run lasts.
    #[arg(long, default_value_t = 20)]
    hot_row_secs: u64,
    /// Seconds of steady load in the staleness benchmark.
    #[arg(long, default_value_t = 15)]
    staleness_secs: u64,
    /// MiB of content the verification benchmark hashes.
    #[arg(long, default_value_t = 1024)]
    verify_mib: u64,
    /// Objects that content is split into.
    #[arg(long, default_value_t = 16)]
    verify_files: usize,
    /// Seconds the soak's load lasts.
    #[arg(long, default_value_t = 600)]
    soak_secs: u64,
    /// Seconds between two faults in the soak.
    #[arg(long, default_value_t = 60)]
    soak_fault_every_secs: u64,
    /// Concurrent RecordUsage clients in the soak.
    #[arg(long, default_value_t = 8)]
    soak_clients: usize,
    /// Run only these benchmarks (comma separated); all but the soak when
    /// omitted.
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<Benchmark>,
}

/// The benchmarks, for `--only`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Benchmark {
    /// 1. drain rate.
    Drain,
    /// 1b. the Signals project-count drain rate.
    SignalsDrain,
    /// 2. hot row and 3. staleness (it runs at half the hot-row rate).
    HotRow,
    /// 4. verification speed.
    Verification,
    /// 5. the soak under faults (never part of "all").
    Soak,
}

impl Args {
    fn runs(&self, benchmark: Benchmark) -> bool {
        if self.only.is_empty() {
            benchmark != Benchmark::Soak
        } else {
            self.only.contains(&benchmark)
        }
    }

    fn shrunk_for_smoke(mut self) -> Self {
        if self.smoke {
            self.events = 3000;
            self.skills = 50;
            self.clients = 8;
            self.hot_row_secs = 1;
            self.staleness_secs = 1;
            self.verify_mib = 4;
            self.verify_files = 4;
            self.soak_secs = 6;
            self.soak_fault_every_secs = 2;
        }
        self
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse().shrunk_for_smoke();
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// A scratch directory removed on the way out.
struct WorkDir(PathBuf);

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn run(args: &Args) -> anyhow::Result<()> {
    let work_dir =
        WorkDir(std::env::temp_dir().join(format!("atelier-bench-{}", std::process::id())));
    std::fs::create_dir_all(&work_dir.0)?;
    let mut common = CommonConfig::with_data_dir(&work_dir.0);
    common.database_url.clone_from(&args.database_url);
    common.database_pool_size = 16;
    let database = Database::open(&common).await?;
    let result = run_all(args, &common, &database.url, &work_dir.0).await;
    database.close().await?;
    result
}

async fn run_all(
    args: &Args,
    common: &CommonConfig,
    database_url: &str,
    work_dir: &Path,
) -> anyhow::Result<()> {
    atelier::db::run_migrations(database_url).await?;
    let objects_dir = work_dir.join("objects");
    let pool = atelier::db::build_pool(
        database_url,
        common.database_pool_size,
        common.database_timeout(),
    )?;
    let settings = atelier::state::Settings {
        limits: common.content_limits(),
        usage_counters: UsageCounters::Outbox,
        workshop: atelier::config::WorkshopPolicy::default(),
    };
    let state = AppState::open(pool, Storage::open(None, work_dir)?, settings).await?;
    println!(
        "atelier-bench on {} ({} CPUs){}",
        if args.database_url.is_some() {
            "the given PostgreSQL"
        } else {
            "the embedded PostgreSQL, default settings"
        },
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
        if args.smoke {
            ", SMOKE sizes: figures mean nothing"
        } else {
            ""
        },
    );

    if args.runs(Benchmark::Drain) {
        drain_benchmark(args, &state, database_url, work_dir).await?;
    }
    if args.runs(Benchmark::SignalsDrain) {
        signals_drain_benchmark(args, &state, database_url, work_dir).await?;
    }
    if args.runs(Benchmark::HotRow) {
        hot_row_benchmarks(args, &state, database_url, work_dir).await?;
    }
    if args.runs(Benchmark::Verification) {
        verification_benchmark(args, &state, database_url, &objects_dir).await?;
    }
    if args.runs(Benchmark::Soak) {
        soak_benchmark(args, &state, database_url, work_dir).await?;
    }
    Ok(())
}

async fn soak_benchmark(
    args: &Args,
    state: &AppState,
    database_url: &str,
    work_dir: &Path,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.database_url.is_none(),
        "the soak kills the embedded PostgreSQL; run it without --database-url"
    );
    let plan = soak::SoakPlan {
        duration: Duration::from_secs(args.soak_secs),
        fault_every: Duration::from_secs(args.soak_fault_every_secs),
        clients: args.soak_clients,
    };
    println!(
        "\n5. Soak: {} s of RecordUsage ({} clients) and CreateSkill, retried by request id; \
         the postmaster killed every {} s (SIGKILL and SIGQUIT in turn)",
        args.soak_secs, args.soak_clients, args.soak_fault_every_secs
    );
    let report = soak::run(state, database_url, work_dir, plan).await?;
    println!(
        "   faults {}; calls retried {}; acknowledged {}; present {}; lost {}; duplicated {}; counters equal rows: {}",
        report.faults,
        report.retried_calls,
        report.acknowledged,
        report.present,
        report.lost,
        report.duplicated,
        report.counters_equal_rows
    );
    println!(
        "   RSS of the server process: {} MiB at the start of the load, {} MiB at the end",
        report.rss_start_kib / 1024,
        report.rss_end_kib / 1024
    );
    anyhow::ensure!(
        report.lost == 0 && report.duplicated == 0 && report.counters_equal_rows,
        "the soak lost, duplicated or miscounted acknowledged writes"
    );
    Ok(())
}

async fn drain_benchmark(
    args: &Args,
    state: &AppState,
    database_url: &str,
    work_dir: &Path,
) -> anyhow::Result<()> {
    let plan = drain::DrainPlan {
        events: args.events,
        skills: args.skills,
        zipf_exponent: args.zipf_exponent,
        batch_size: args.batch_size,
    };
    println!(
        "\n1. Drain rate: {} queued usage events over {} skills (Zipf s={}), batches of {}",
        plan.events, plan.skills, plan.zipf_exponent, plan.batch_size
    );
    let runs = drain::run(state, database_url, work_dir, &plan).await?;
    drain::print(&runs);
    Ok(())
}

/// Runs the Signals drain: project recount events, coalesced per project.
async fn signals_drain_benchmark(
    args: &Args,
    state: &AppState,
    database_url: &str,
    work_dir: &Path,
) -> anyhow::Result<()> {
    let plan = drain::DrainPlan {
        events: args.events,
        skills: 0,
        zipf_exponent: args.zipf_exponent,
        batch_size: args.batch_size,
    };
    println!(
        "\n1b. Signals drain: {} queued project.counts_changed events over 200 projects \
         (5,000 signals, 2 links each; Zipf s={}), batches of {}",
        plan.events, plan.zipf_exponent, plan.batch_size
    );
    let runs = signals_drain::run(state, database_url, work_dir, &plan).await?;
    signals_drain::print(&runs);
    Ok(())
}

/// Runs the hot-row benchmark in both modes and the staleness benchmark
/// in between, on the outbox design's server at half its measured rate.
async fn hot_row_benchmarks(
    args: &Args,
    state: &AppState,
    database_url: &str,
    work_dir: &Path,
) -> anyhow::Result<()> {
    let duration = Duration::from_secs(args.hot_row_secs);
    println!(
        "\n2. Hot row: {} clients calling RecordUsage on one skill for {} s",
        args.clients, args.hot_row_secs
    );
    let mut conn = diesel_async::AsyncPgConnection::establish(database_url).await?;

    // The outbox design, with its worker running beside the server.
    let hot = support::create_skills(&mut conn, "hot-outbox", 1).await?[0];
    let server = support::RunningServer::start(
        state.clone(),
        database_url,
        Some(worker_config(args.outbox_linger_ms)),
    )
    .await?;
    let channels = server.connect(args.clients).await?;
    let outbox = hot_row::closed_loop(&channels, hot, duration).await;
    support::wait_until_drained(database_url, Duration::from_secs(120)).await?;
    check_exact(&mut conn, hot, &outbox, "outbox design").await?;

    // 3. Staleness, on the same server, at half that rate.
    let rate = outbox.calls_per_sec / 2.0;
    let probes = support::create_skills(&mut conn, "probe", 4).await?;
    let staleness = hot_row::staleness(
        &channels,
        hot,
        &probes,
        rate,
        Duration::from_secs(args.staleness_secs),
    )
    .await;
    drop(channels);
    // Drained while the worker still runs: the staleness load's last
    // events may still be queued, and a stopped worker drains nothing
    // (waiting after the stop timed out once, 120 s later).
    support::wait_until_drained(database_url, Duration::from_secs(120)).await?;
    server.stop().await?;

    // The ceiling: RecordUsage's statement run by PostgreSQL alone.
    let ceiling_skill = support::create_skills(&mut conn, "hot-pgbench", 1).await?[0];
    let ceiling = hot_row::postgres_alone(database_url, work_dir, ceiling_skill, 16, duration)?;
    diesel::sql_query("DELETE FROM outbox")
        .execute(&mut conn)
        .await?;

    // The naive baseline: the counter updated inside RecordUsage.
    let hot_sync = support::create_skills(&mut conn, "hot-sync", 1).await?[0];
    let mut sync_state = state.clone();
    sync_state.settings.usage_counters = UsageCounters::Synchronous;
    let server = support::RunningServer::start(sync_state, database_url, None).await?;
    let channels = server.connect(args.clients).await?;
    let synchronous = hot_row::closed_loop(&channels, hot_sync, duration).await;
    drop(channels);
    server.stop().await?;
    check_exact(&mut conn, hot_sync, &synchronous, "synchronous baseline").await?;

    let ratio = outbox.calls_per_sec / synchronous.calls_per_sec.max(f64::MIN_POSITIVE);
    report_load("outbox design (worker running)", &outbox);
    report_load("synchronous counter (baseline)", &synchronous);
    println!("   ratio: {ratio:.1}x; counts exact in both");
    if let Some(ceiling) = ceiling {
        println!(
            "   PostgreSQL alone, RecordUsage's statement (pgbench, prepared, 16 connections): {ceiling:.0}/s \
             = {:.1}x the baseline; the service reaches {:.2} of it",
            ceiling / synchronous.calls_per_sec.max(f64::MIN_POSITIVE),
            outbox.calls_per_sec / ceiling
        );
    }
    println!(
        "   goal: >= 20x the baseline: {}",
        support::verdict(ratio >= 20.0)
    );

    println!(
        "\n3. Staleness: RecordUsage at {:.0}/s (half the maximum) for {} s; response until GetSkill shows it",
        rate, args.staleness_secs
    );
    report_load("steady load achieved", &staleness.load);
    let p50 = support::quantile(&staleness.samples, 0.50);
    let p99 = support::quantile(&staleness.samples, 0.99);
    let max = staleness.samples.last().copied().unwrap_or_default();
    println!(
        "   {} probes: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        staleness.samples.len(),
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3
    );
    println!(
        "   goal: p99 < 250 ms: {}",
        support::verdict(!staleness.samples.is_empty() && p99 < Duration::from_millis(250))
    );
    Ok(())
}

fn worker_config(linger_ms: u64) -> WorkerConfig {
    WorkerConfig {
        outbox_batch_size: atelier::config::DEFAULT_OUTBOX_BATCH_SIZE,
        outbox_poll_interval_ms: 1000,
        outbox_lease_secs: 30,
        outbox_max_attempts: 10,
        scrub: atelier::config::ScrubConfig::disabled(),
        outbox_linger_ms: linger_ms,
    }
}

fn report_load(label: &str, load: &hot_row::LoadResult) {
    print!(
        "   {label:<42} {:>10.0} calls/s ({} ok, {} failed)",
        load.calls_per_sec, load.succeeded, load.failed
    );
    match &load.first_error {
        Some(error) => println!("; first failure: {error}"),
        None => println!(),
    }
}

/// Fails unless the skill counts exactly the successful calls.
async fn check_exact(
    conn: &mut diesel_async::AsyncPgConnection,
    skill: uuid::Uuid,
    load: &hot_row::LoadResult,
    label: &str,
) -> anyhow::Result<()> {
    let counted = support::total_uses(conn, skill).await?;
    anyhow::ensure!(
        counted == i64::try_from(load.succeeded)?,
        "{label}: total_uses is {counted} after {} successful RecordUsage calls",
        load.succeeded
    );
    Ok(())
}

async fn verification_benchmark(
    args: &Args,
    state: &AppState,
    database_url: &str,
    objects_dir: &Path,
) -> anyhow::Result<()> {
    let total = args.verify_mib * 1024 * 1024;
    println!(
        "\n4. Verification: {} MiB of stored content in {} objects, SHA-256",
        args.verify_mib, args.verify_files
    );
    let result = verification::run(state, database_url, objects_dir, total, args.verify_files)
        .await
        .context("verification benchmark")?;
    let mib = |rate: f64| rate / (1024.0 * 1024.0);
    println!(
        "   atelier worker                             {:>10.0} MiB/s",
        mib(result.worker_bytes_per_sec)
    );
    match result.openssl_bytes_per_sec {
        Some(openssl) => {
            let ratio = result.worker_bytes_per_sec / openssl;
            println!(
                "   openssl dgst -sha256                       {:>10.0} MiB/s",
                mib(openssl)
            );
            println!(
                "   ratio: {ratio:.2} of OpenSSL ({} bytes, all verified)",
                result.bytes
            );
            println!(
                "   goal: >= 0.8 of OpenSSL: {}",
                support::verdict(ratio >= 0.8)
            );
        }
        None => println!("   goal: >= 0.8 of OpenSSL: not measured"),
    }
    Ok(())
}
