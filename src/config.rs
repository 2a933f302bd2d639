//! Every setting of the server, read once from flags and environment
//! variables and validated before anything starts.
//!
//! Each flag has an `ATELIER_…` environment variable (and the database URL
//! the conventional `DATABASE_URL`), so a deployment configures the server
//! with environment alone and `atelier --help` documents both.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod traffic;
mod transport;
mod workshop;

pub use self::traffic::{Traffic, TrafficConfig};
pub use self::transport::{CorsOrigins, TlsFiles, Transport, TransportConfig};
pub use self::workshop::{
    DEFAULT_SESSION_GAP_SECS, DEFAULT_STEP_OUTPUT_MAX_BYTES, DEFAULT_WORKSHOP_PLAN,
    DEFAULT_WORKSHOP_PLAN_CAPS, WorkshopConfig, WorkshopPolicy,
};

/// The `atelier` command line.
#[derive(Debug, Parser)]
#[command(
    name = "atelier",
    version,
    about = "Atelier: the SkillRegistry, Workshop and Signals gRPC services"
)]
pub struct Cli {
    /// Settings every subcommand shares.
    #[command(flatten)]
    pub common: CommonConfig,
    /// What to run; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
// Parsed once per process: the size of `Serve` costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve gRPC and run the outbox worker in one process (the default).
    Serve(ServeConfig),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Run the outbox worker only, without serving gRPC.
    Worker(WorkerConfig),
    /// Inspect or repair the outbox.
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// Ask a running server's gRPC health service whether it is SERVING
    /// (exit 0) or not (exit 1): the health check of a container image
    /// that has no shell or grpcurl.
    HealthProbe(HealthProbeConfig),
    /// Run a throwaway PostgreSQL cluster shared by the test suite's
    /// processes until none of them holds its lease (see
    /// `db::shared_cluster`). Not for production use.
    #[command(hide = true)]
    TestCluster(TestClusterConfig),
}

/// `atelier health-probe`.
#[derive(Debug, Clone, Args)]
pub struct HealthProbeConfig {
    /// The server's plaintext gRPC address.
    #[arg(long, default_value = "127.0.0.1:50051")]
    pub address: SocketAddr,
    /// The service to ask about; empty asks about the server as a whole.
    #[arg(long, default_value = "")]
    pub service: String,
    /// Seconds to wait for the answer.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=60))]
    pub timeout_secs: u64,
}

/// `atelier outbox …`.
#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// Print pending and dead event counts and the oldest pending age.
    Stats,
    /// Put dead events back in the queue, attempts reset.
    RetryDead {
        /// Ids of the dead events to retry.
        #[arg(long = "id", required_unless_present = "all", conflicts_with = "all")]
        ids: Vec<uuid::Uuid>,
        /// Retry every dead event.
        #[arg(long)]
        all: bool,
    },
}

/// Settings of the hidden `test-cluster` subcommand.
#[derive(Debug, Clone, Args)]
pub struct TestClusterConfig {
    /// Directory of the shared cluster and its lock files.
    #[arg(long)]
    pub root: PathBuf,
    /// Seconds without any lease holder before the cluster stops.
    #[arg(long, default_value_t = 2)]
    pub idle_grace_secs: u64,
}

// Every default that code also needs outside the command line (the tests'
// and the benchmark's settings, `Default` impls) is written once, here.

/// Default of `--database-pool-size`.
pub const DEFAULT_POOL_SIZE: u32 = 16;
/// Default of `--database-timeout-secs`.
pub const DEFAULT_DATABASE_TIMEOUT_SECS: u64 = 5;
/// Default of `--max-inline-content-bytes`: 1 MiB, well under the 4 MiB
/// gRPC message limit.
pub const DEFAULT_INLINE_CONTENT_BYTES: u64 = 1024 * 1024;
/// Default of `--max-upload-bytes`: 256 MiB.
pub const DEFAULT_UPLOAD_BYTES: u64 = 256 * 1024 * 1024;
/// Default of `--log`.
pub const DEFAULT_LOG_FILTER: &str = "info";

/// Settings shared by every subcommand: where the data lives and how to log.
#[derive(Debug, Clone, Args)]
pub struct CommonConfig {
    /// Directory for the embedded PostgreSQL cluster and the default object
    /// store. Created on first use.
    #[arg(
        long,
        env = "ATELIER_DATA_DIR",
        default_value = "atelier-data",
        global = true
    )]
    pub data_dir: PathBuf,

    /// PostgreSQL to use, e.g. `postgres://user@host/atelier`. When unset the
    /// server runs its own PostgreSQL cluster inside the data directory.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, global = true)]
    pub database_url: Option<String>,

    /// Maximum number of pooled database connections.
    #[arg(long, env = "ATELIER_DATABASE_POOL_SIZE", default_value_t = DEFAULT_POOL_SIZE,
          value_parser = clap::value_parser!(u32).range(1..=1000), global = true)]
    pub database_pool_size: u32,

    /// Seconds to wait for a pooled database connection before failing the
    /// request with UNAVAILABLE.
    #[arg(long, env = "ATELIER_DATABASE_TIMEOUT_SECS", default_value_t = DEFAULT_DATABASE_TIMEOUT_SECS,
          value_parser = clap::value_parser!(u64).range(1..=300), global = true)]
    pub database_timeout_secs: u64,

    /// Directory holding the PostgreSQL server binaries (`initdb`,
    /// `postgres`) for the embedded cluster. Found through `pg_config
    /// --bindir`, PATH or /usr/lib/postgresql/*/bin when unset.
    #[arg(long, env = "ATELIER_POSTGRES_BIN_DIR", global = true)]
    pub postgres_bin_dir: Option<PathBuf>,

    /// Object store URL: `file:///abs/path`, `memory://`, `s3://bucket/prefix`
    /// (credentials from the usual AWS_* variables). Defaults to the
    /// `objects` folder of the data directory.
    #[arg(
        long,
        env = "ATELIER_OBJECT_STORE_URL",
        hide_env_values = true,
        global = true
    )]
    pub object_store_url: Option<String>,

    /// Largest content, in bytes, that CreateSkillVersion accepts inline
    /// (keep it under the 4 MiB gRPC message limit).
    #[arg(long, env = "ATELIER_MAX_INLINE_CONTENT_BYTES", default_value_t = DEFAULT_INLINE_CONTENT_BYTES,
          value_parser = clap::value_parser!(u64).range(1..=3 * 1024 * 1024), global = true)]
    pub max_inline_content_bytes: u64,

    /// Largest content, in bytes, that UploadSkillVersion accepts.
    #[arg(long, env = "ATELIER_MAX_UPLOAD_BYTES", default_value_t = DEFAULT_UPLOAD_BYTES,
          value_parser = clap::value_parser!(u64).range(1..), global = true)]
    pub max_upload_bytes: u64,

    /// Log format.
    #[arg(long, env = "ATELIER_LOG_FORMAT", value_enum, default_value_t = LogFormat::Human, global = true)]
    pub log_format: LogFormat,

    /// Log filter in `tracing` syntax, e.g. `info` or `atelier=debug,info`.
    #[arg(long, env = "ATELIER_LOG", default_value = DEFAULT_LOG_FILTER, global = true)]
    pub log: String,

    /// Address to serve Prometheus metrics on (`GET /metrics`), e.g.
    /// `0.0.0.0:9090`. Off when unset.
    #[arg(long, env = "ATELIER_METRICS_LISTEN", global = true)]
    pub metrics_listen: Option<SocketAddr>,

    /// OTLP/gRPC collector to export trace spans to, e.g.
    /// `http://otel-collector:4317`. Off when unset (trace ids still reach
    /// the logs and outbox events).
    #[arg(long, env = "ATELIER_OTLP_ENDPOINT", global = true)]
    pub otlp_endpoint: Option<String>,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One readable line per event, for terminals.
    Human,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Settings of `serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// Address to serve gRPC on.
    #[arg(long, env = "ATELIER_LISTEN", default_value = "0.0.0.0:50051")]
    pub listen: SocketAddr,

    /// Do not apply pending migrations at start-up (for deployments that run
    /// `atelier migrate` as a separate step).
    #[arg(long, env = "ATELIER_SKIP_MIGRATIONS")]
    pub skip_migrations: bool,

    /// Bearer tokens that callers must present, comma separated, each
    /// `name:token` (the name appears in logs) or just `token`. With none
    /// configured the server accepts every caller and warns loudly.
    #[arg(
        long,
        env = "ATELIER_AUTH_TOKENS",
        hide_env_values = true,
        value_delimiter = ','
    )]
    pub auth_tokens: Vec<String>,

    /// In open mode (no auth tokens), listen on the requested address even
    /// when it is not loopback. Without it, open mode listens on loopback
    /// only, so an unauthenticated server is never reachable from afar by
    /// accident.
    #[arg(long, env = "ATELIER_ALLOW_OPEN_REMOTE")]
    pub allow_open_remote: bool,

    /// Connections the server holds at once; more are closed on arrival.
    #[arg(long, env = "ATELIER_MAX_CONNECTIONS", default_value_t = 1024,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_connections: u64,

    /// Connections one client address may hold at once.
    #[arg(long, env = "ATELIER_MAX_CONNECTIONS_PER_IP", default_value_t = 256,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_connections_per_ip: u64,

    /// Seconds a new connection has to send its HTTP/2 preface.
    #[arg(long, env = "ATELIER_HANDSHAKE_TIMEOUT_SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub handshake_timeout_secs: u64,

    /// Seconds without traffic after which a connection is closed.
    #[arg(long, env = "ATELIER_IDLE_TIMEOUT_SECS", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub idle_timeout_secs: u64,

    /// How often, in milliseconds, health checks probe the database.
    #[arg(long, env = "ATELIER_HEALTH_INTERVAL_MS", default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(50..=60_000))]
    pub health_interval_ms: u64,

    /// Seconds that in-flight RPCs get to finish after SIGINT/SIGTERM.
    #[arg(long, env = "ATELIER_SHUTDOWN_GRACE_SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub shutdown_grace_secs: u64,

    /// Do not run the outbox worker in this process.
    #[arg(long, env = "ATELIER_NO_WORKER")]
    pub no_worker: bool,

    /// Benchmark baseline only: RecordUsage adds to `total_uses` inside its
    /// own transaction, as a naive design would, instead of leaving it to
    /// the outbox worker. Every call then queues on the skill's row lock.
    #[arg(long, env = "ATELIER_SYNCHRONOUS_USAGE_COUNTERS")]
    pub synchronous_usage_counters: bool,

    /// Settings of the outbox worker that runs beside the server.
    #[command(flatten)]
    pub worker: WorkerConfig,

    /// Settings of the Workshop service.
    #[command(flatten)]
    pub workshop: WorkshopConfig,

    /// Message size, load shedding, keepalive, connection age and drain.
    #[command(flatten)]
    pub traffic: TrafficConfig,

    /// TLS, mutual TLS and the browser origins of gRPC-Web.
    #[command(flatten)]
    pub transport: TransportConfig,
}

/// Parses `serve`'s settings alone, for [`ServeConfig::from_env`].
#[derive(Parser)]
struct ServeSettingsOnly {
    #[command(flatten)]
    serve: ServeConfig,
}

impl ServeConfig {
    /// The connection limits of the gRPC server.
    pub fn connection_limits(&self) -> crate::connections::ConnectionLimits {
        crate::connections::ConnectionLimits {
            max_connections: usize::try_from(self.max_connections).unwrap_or(usize::MAX),
            max_connections_per_ip: usize::try_from(self.max_connections_per_ip)
                .unwrap_or(usize::MAX),
            handshake_timeout: std::time::Duration::from_secs(self.handshake_timeout_secs),
            idle_timeout: std::time::Duration::from_secs(self.idle_timeout_secs),
        }
    }

    /// The settings of `serve` from environment variables and defaults:
    /// what a bare `atelier` (no subcommand) runs with.
    pub fn from_env() -> Result<Self, clap::Error> {
        ServeSettingsOnly::try_parse_from(["atelier"]).map(|parsed| parsed.serve)
    }

    /// The health probe interval.
    pub fn health_interval(&self) -> Duration {
        Duration::from_millis(self.health_interval_ms)
    }

    /// How long in-flight RPCs may run after a shutdown signal.
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }

    /// Who maintains `total_uses`.
    pub fn usage_counters(&self) -> UsageCounters {
        if self.synchronous_usage_counters {
            UsageCounters::Synchronous
        } else {
            UsageCounters::Outbox
        }
    }
}

/// Who adds recorded uses to a skill's `total_uses`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum UsageCounters {
    /// The outbox worker, coalescing many uses into one update (the design).
    #[default]
    Outbox,
    /// RecordUsage itself, in its transaction (the benchmark's baseline).
    Synchronous,
}

/// Events a worker claims per batch by default. A 20,000-event batch of
/// usage drains in about 0.15 s here, holding its skills' row locks that long;
/// 500 drained five times slower (see the drain benchmark in the README).
pub const DEFAULT_OUTBOX_BATCH_SIZE: u32 = 20_000;

/// How long a notified worker waits for its burst to grow, by default.
pub const DEFAULT_OUTBOX_LINGER_MS: u64 = 20;

/// Settings of the outbox worker.
#[derive(Debug, Clone, Args)]
pub struct WorkerConfig {
    /// Events claimed per batch. Batches are only this large when a backlog
    /// builds up; then larger ones coalesce more uses into each counter
    /// update (see the drain benchmark in the README).
    #[arg(long, env = "ATELIER_OUTBOX_BATCH_SIZE", default_value_t = DEFAULT_OUTBOX_BATCH_SIZE,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub outbox_batch_size: u32,

    /// Milliseconds between polls when no notification arrives.
    #[arg(long, env = "ATELIER_OUTBOX_POLL_INTERVAL_MS", default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(10..=600_000))]
    pub outbox_poll_interval_ms: u64,

    /// Milliseconds a worker woken by a notification waits before claiming,
    /// so a burst of events is drained in one batch instead of many small
    /// ones. Adds at most this much to the time until an effect shows.
    #[arg(long, env = "ATELIER_OUTBOX_LINGER_MS", default_value_t = DEFAULT_OUTBOX_LINGER_MS,
          value_parser = clap::value_parser!(u64).range(0..=10_000))]
    pub outbox_linger_ms: u64,

    /// Seconds a worker leases an event whose effect lies outside the
    /// database (content verification and deletion); if the worker dies,
    /// another picks the event up once the lease expires.
    #[arg(long, env = "ATELIER_OUTBOX_LEASE_SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub outbox_lease_secs: u64,

    /// Attempts before a failing event is parked as dead.
    #[arg(long, env = "ATELIER_OUTBOX_MAX_ATTEMPTS", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub outbox_max_attempts: u32,

    /// The content scrub the worker runs beside the outbox.
    #[command(flatten)]
    pub scrub: ScrubConfig,
}

/// Settings of the content scrub: the background re-verification of all
/// stored content, and the sweep of staged uploads and unreferenced content.
#[derive(Debug, Clone, Args)]
pub struct ScrubConfig {
    /// Bytes of stored content the scrub hashes per second, at most; 0
    /// turns the scrub (and its sweeps) off. A full pass takes the total
    /// content size divided by this, plus the pause.
    #[arg(long, env = "ATELIER_SCRUB_BYTES_PER_SEC", default_value_t = 8 * 1024 * 1024)]
    pub scrub_bytes_per_sec: u64,

    /// Seconds between the end of one scrub pass and the start of the next.
    #[arg(long, env = "ATELIER_SCRUB_PAUSE_SECS", default_value_t = 3600,
          value_parser = clap::value_parser!(u64).range(0..=30 * 24 * 3600))]
    pub scrub_pause_secs: u64,

    /// Age after which a staged upload (`uploads/`) or content no version
    /// references is removed by the sweep at the start of each pass. At
    /// least a minute, longer than any upload takes to commit.
    #[arg(long, env = "ATELIER_STAGING_TTL_SECS", default_value_t = 3600,
          value_parser = clap::value_parser!(u64).range(60..=30 * 24 * 3600))]
    pub staging_ttl_secs: u64,
}

impl ScrubConfig {
    /// No scrub at all (tests and benchmarks that drive it themselves).
    pub fn disabled() -> Self {
        Self {
            scrub_bytes_per_sec: 0,
            scrub_pause_secs: 3600,
            staging_ttl_secs: 3600,
        }
    }
}

impl CommonConfig {
    /// Settings for a data directory with everything else at its default,
    /// as the tests and embedders start from.
    pub fn with_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            database_url: None,
            database_pool_size: DEFAULT_POOL_SIZE,
            database_timeout_secs: DEFAULT_DATABASE_TIMEOUT_SECS,
            postgres_bin_dir: None,
            object_store_url: None,
            max_inline_content_bytes: DEFAULT_INLINE_CONTENT_BYTES,
            max_upload_bytes: DEFAULT_UPLOAD_BYTES,
            log_format: LogFormat::Human,
            log: DEFAULT_LOG_FILTER.to_owned(),
            metrics_listen: None,
            otlp_endpoint: None,
        }
    }

    /// The content size limits.
    pub fn content_limits(&self) -> ContentLimits {
        ContentLimits {
            inline_max: self.max_inline_content_bytes,
            upload_max: self.max_upload_bytes,
        }
    }

    /// How long to wait for a pooled connection.
    pub fn database_timeout(&self) -> Duration {
        Duration::from_secs(self.database_timeout_secs)
    }
}

/// How much content a version may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentLimits {
    /// Bytes CreateSkillVersion accepts inline.
    pub inline_max: u64,
    /// Bytes UploadSkillVersion accepts.
    pub upload_max: u64,
}

impl Default for ContentLimits {
    fn default() -> Self {
        Self {
            inline_max: DEFAULT_INLINE_CONTENT_BYTES,
            upload_max: DEFAULT_UPLOAD_BYTES,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        common: CommonConfig,
        #[command(flatten)]
        workshop: WorkshopConfig,
    }

    /// The defaults code starts from are the command line's defaults.
    #[test]
    fn code_defaults_are_the_command_line_defaults() {
        // Only meaningful without ATELIER_* settings in the environment.
        if std::env::vars().any(|(name, _)| name.starts_with("ATELIER_") || name == "DATABASE_URL")
        {
            return;
        }
        let cli = Cli::try_parse_from(["atelier"]).expect("no arguments parse");
        let coded = CommonConfig::with_data_dir("atelier-data");
        assert_eq!(cli.common.database_pool_size, coded.database_pool_size);
        assert_eq!(
            cli.common.database_timeout_secs,
            coded.database_timeout_secs
        );
        assert_eq!(cli.common.log, coded.log);
        assert_eq!(cli.common.content_limits(), ContentLimits::default());
        assert_eq!(coded.content_limits(), ContentLimits::default());
        assert_eq!(
            cli.workshop.policy().expect("default policy"),
            WorkshopPolicy::default()
        );
    }
}
