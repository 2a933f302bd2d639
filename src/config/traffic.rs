//! How the server takes traffic: the largest message, how many RPCs run at
//! once before it sheds load, HTTP/2 keepalive pings, how long a connection
//! may live, and the drain on SIGTERM. Flags, and the checked settings the
//! server reads.

use std::time::Duration;

use clap::Args;

/// Default of `--max-message-bytes`: gRPC's customary 4 MiB.
pub const DEFAULT_MAX_MESSAGE_BYTES: u64 = 4 * 1024 * 1024;
/// Default of `--max-concurrent-rpcs`.
pub const DEFAULT_MAX_CONCURRENT_RPCS: u64 = 1024;
/// Default of `--keepalive-interval-secs`.
pub const DEFAULT_KEEPALIVE_INTERVAL_SECS: u64 = 30;
/// Default of `--max-connection-age-secs`: an hour.
pub const DEFAULT_MAX_CONNECTION_AGE_SECS: u64 = 3600;
/// Default of `--drain-delay-secs`.
pub const DEFAULT_DRAIN_DELAY_SECS: u64 = 5;
/// How long a keepalive ping may go unanswered before the connection is
/// dropped.
pub const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);

/// Traffic settings of `serve`.
#[derive(Debug, Clone, Args)]
pub struct TrafficConfig {
    /// Largest request message, in bytes; a larger one is refused with
    /// RESOURCE_EXHAUSTED (`MESSAGE_TOO_LARGE`).
    #[arg(long, env = "ATELIER_MAX_MESSAGE_BYTES", default_value_t = DEFAULT_MAX_MESSAGE_BYTES,
          value_parser = clap::value_parser!(u64).range(64 * 1024..=1024 * 1024 * 1024))]
    pub max_message_bytes: u64,

    /// RPCs that run at once; one more is refused at once with UNAVAILABLE
    /// (`OVERLOADED`) and a RetryInfo, instead of queueing.
    #[arg(long, env = "ATELIER_MAX_CONCURRENT_RPCS", default_value_t = DEFAULT_MAX_CONCURRENT_RPCS,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_concurrent_rpcs: u64,

    /// Seconds between HTTP/2 keepalive pings on a connection; a peer that
    /// does not answer one within 20 s is dropped.
    #[arg(long, env = "ATELIER_KEEPALIVE_INTERVAL_SECS", default_value_t = DEFAULT_KEEPALIVE_INTERVAL_SECS,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub keepalive_interval_secs: u64,

    /// Seconds a connection may live before the server asks the client to
    /// reconnect (GOAWAY), so long-lived clients spread over new replicas;
    /// the RPCs in flight on it finish first. 0 turns it off.
    #[arg(long, env = "ATELIER_MAX_CONNECTION_AGE_SECS", default_value_t = DEFAULT_MAX_CONNECTION_AGE_SECS,
          value_parser = clap::value_parser!(u64).range(0..=30 * 86_400))]
    pub max_connection_age_secs: u64,

    /// Seconds between SIGTERM turning health NOT_SERVING and the server
    /// ceasing to accept calls, for load balancers to notice.
    #[arg(long, env = "ATELIER_DRAIN_DELAY_SECS", default_value_t = DEFAULT_DRAIN_DELAY_SECS,
          value_parser = clap::value_parser!(u64).range(0..=600))]
    pub drain_delay_secs: u64,
}

/// The checked traffic settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Traffic {
    pub max_message_bytes: usize,
    pub max_concurrent_rpcs: usize,
    pub keepalive_interval: Duration,
    /// How long a ping may go unanswered (20 s; tests shorten it).
    pub keepalive_timeout: Duration,
    /// `None`: connections live as long as they like.
    pub max_connection_age: Option<Duration>,
    pub drain_delay: Duration,
}

impl Default for Traffic {
    fn default() -> Self {
        Self {
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES as usize,
            max_concurrent_rpcs: DEFAULT_MAX_CONCURRENT_RPCS as usize,
            keepalive_interval: Duration::from_secs(DEFAULT_KEEPALIVE_INTERVAL_SECS),
            keepalive_timeout: KEEPALIVE_TIMEOUT,
            max_connection_age: Some(Duration::from_secs(DEFAULT_MAX_CONNECTION_AGE_SECS)),
            drain_delay: Duration::from_secs(DEFAULT_DRAIN_DELAY_SECS),
        }
    }
}

impl TrafficConfig {
    /// The settings, as the server reads them.
    pub fn traffic(&self) -> Traffic {
        Traffic {
            max_message_bytes: usize::try_from(self.max_message_bytes).unwrap_or(usize::MAX),
            max_concurrent_rpcs: usize::try_from(self.max_concurrent_rpcs).unwrap_or(usize::MAX),
            keepalive_interval: Duration::from_secs(self.keepalive_interval_secs),
            keepalive_timeout: KEEPALIVE_TIMEOUT,
            max_connection_age: (self.max_connection_age_secs > 0)
                .then(|| Duration::from_secs(self.max_connection_age_secs)),
            drain_delay: Duration::from_secs(self.drain_delay_secs),
        }
    }
}
