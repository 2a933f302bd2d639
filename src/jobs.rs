//! The background work, assembled in one place: the outbox worker with
//! every domain's handlers, and the content scrub.

use crate::config::WorkerConfig;
use crate::outbox::{Handlers, Worker};
use crate::shutdown::Shutdown;
use crate::state::AppState;
use crate::{registry, signals, workshop};

/// Every outbox event kind this binary handles.
pub fn handlers(state: &AppState) -> Handlers {
    let handlers = registry::jobs::register(Handlers::new(), state);
    let handlers = workshop::jobs::register(handlers, state);
    signals::jobs::register(handlers)
}

/// An outbox worker over `state`'s pool with every handler.
pub fn outbox_worker(state: &AppState, config: WorkerConfig) -> Worker {
    Worker::new(
        state.pool.clone(),
        handlers(state),
        state.outbox_metrics.clone(),
        config,
    )
}

/// The background work of `serve` and `worker`: the outbox worker
/// (listening for notifications on a connection of its own to
/// `database_url`) and the content scrub, until shutdown.
pub async fn run_background_work(
    state: AppState,
    config: WorkerConfig,
    database_url: String,
    shutdown: Shutdown,
) {
    let scrub = tokio::spawn(registry::scrub::run(
        state.clone(),
        config.scrub.clone(),
        shutdown.clone(),
    ));
    outbox_worker(&state, config)
        .run(Some(database_url), shutdown)
        .await;
    let _ = scrub.await;
}
