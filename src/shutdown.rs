//! Graceful shutdown as a first-class value: one [`Shutdown`] is triggered
//! by SIGINT/SIGTERM (or by a test), and every long-running task holds a
//! clone and stops when it fires.

use tokio_util::sync::CancellationToken;

/// A shutdown signal that can be triggered once and awaited by many: a
/// `tokio_util` [`CancellationToken`] (already in the tree through tonic)
/// under the name the code speaks of, plus the process's signal handling.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    token: CancellationToken,
}

impl Shutdown {
    /// A signal that has not fired.
    pub fn new() -> Self {
        Self::default()
    }

    /// Fires the signal; every waiter wakes up.
    pub fn trigger(&self) {
        self.token.cancel();
    }

    /// Whether the signal has fired.
    pub fn is_triggered(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Completes once the signal has fired.
    pub async fn wait(&self) {
        self.token.cancelled().await;
    }

    /// Like [`Shutdown::wait`], for places that need a `'static` future.
    pub async fn wait_owned(self) {
        self.token.cancelled_owned().await;
    }

    /// Fires the signal on SIGINT or SIGTERM; a second such signal exits the
    /// process at once. Spawns a task; returns at once.
    pub fn trigger_on_signals(&self) {
        let shutdown = self.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!(
                "shutdown signal received; finishing in-flight requests (a second signal exits at once)"
            );
            shutdown.trigger();
            // An operator who does not want to wait signals again.
            wait_for_signal().await;
            tracing::warn!("second shutdown signal: exiting without waiting");
            std::process::exit(130);
        });
    }
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(mut interrupt), Ok(mut terminate)) => {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        }
        _ => {
            tracing::warn!("cannot listen for SIGTERM; only Ctrl-C stops the server");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
