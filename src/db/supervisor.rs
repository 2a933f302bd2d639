//! Keeps the embedded PostgreSQL running while the server does: a
//! postmaster that dies is started again (PostgreSQL recovers from its WAL).

use std::time::Duration;

use super::embedded::{EmbeddedError, EmbeddedPostgres};
use crate::telemetry::names::EMBEDDED_POSTGRES_UP;

/// How often the supervisor looks at the postmaster.
const SUPERVISE_INTERVAL: Duration = Duration::from_millis(250);

/// Longest wait between two failed restarts.
const MAX_RESTART_BACKOFF: Duration = Duration::from_secs(30);

/// Keeps a started cluster running: when its postmaster dies (killed, out
/// of memory, a crash), the supervisor logs how it ended and starts it
/// again — PostgreSQL recovers from its WAL — backing off while restarts
/// fail. Connections to the dead server fail meanwhile (the pool and the
/// health probe see it, health goes NOT_SERVING) and work again once it is
/// back.
#[derive(Debug)]
pub struct Supervisor {
    cluster: std::sync::Arc<tokio::sync::Mutex<EmbeddedPostgres>>,
    stop: crate::shutdown::Shutdown,
    task: tokio::task::JoinHandle<()>,
}

impl Supervisor {
    /// Supervises `cluster`, which must have been started.
    pub fn watch(cluster: EmbeddedPostgres) -> Self {
        metrics::gauge!(EMBEDDED_POSTGRES_UP).set(1.0);
        let cluster = std::sync::Arc::new(tokio::sync::Mutex::new(cluster));
        let stop = crate::shutdown::Shutdown::new();
        let task = tokio::spawn(supervise(cluster.clone(), stop.clone()));
        Self {
            cluster,
            stop,
            task,
        }
    }

    /// Stops supervising, then stops the cluster.
    pub async fn stop(self) -> Result<(), EmbeddedError> {
        self.stop.trigger();
        let _ = self.task.await;
        self.cluster.lock().await.stop().await
    }
}

async fn supervise(
    cluster: std::sync::Arc<tokio::sync::Mutex<EmbeddedPostgres>>,
    stop: crate::shutdown::Shutdown,
) {
    let mut backoff = SUPERVISE_INTERVAL;
    let mut wait = SUPERVISE_INTERVAL;
    loop {
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = stop.wait() => return,
        }
        let mut cluster = cluster.lock().await;
        if let Some(status) = cluster.reap() {
            metrics::gauge!(EMBEDDED_POSTGRES_UP).set(0.0);
            tracing::error!(%status, pgdata = %cluster.pgdata().display(), "embedded PostgreSQL exited; restarting it");
        } else if cluster.pid().is_some() {
            metrics::gauge!(EMBEDDED_POSTGRES_UP).set(1.0);
            wait = SUPERVISE_INTERVAL;
            continue;
        }
        let restarted = tokio::select! {
            restarted = cluster.start() => restarted,
            // Shutdown wins over a restart in progress; `stop` then stops
            // whatever half-started server is left.
            () = stop.wait() => return,
        };
        match restarted {
            Ok(()) => {
                metrics::gauge!(EMBEDDED_POSTGRES_UP).set(1.0);
                tracing::info!("embedded PostgreSQL is running again");
                backoff = SUPERVISE_INTERVAL;
                wait = SUPERVISE_INTERVAL;
            }
            Err(error) => {
                tracing::error!(%error, retry_in_ms = backoff.as_millis(), "embedded PostgreSQL did not restart");
                wait = backoff;
                backoff = (backoff * 2).min(MAX_RESTART_BACKOFF);
            }
        }
    }
}
