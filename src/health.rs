//! grpc.health.v1: every service reports SERVING while the database answers
//! and NOT_SERVING while it does not, re-checked on an interval so the
//! status recovers by itself once the database is back.

use std::time::Duration;

use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::proto::SERVICE_NAMES;
use crate::shutdown::Shutdown;

/// How long one probe may take before the database counts as unreachable.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Probes the database every `interval` and publishes the outcome for the
/// whole server (the empty service name) and for each service, until
/// `shutdown` fires; then reports NOT_SERVING so load balancers drain us.
///
/// The probe keeps a connection of its own rather than borrowing from the
/// pool, so a pool saturated by busy RPCs never reads as a database outage.
pub async fn watch_database(
    reporter: HealthReporter,
    database_url: String,
    interval: Duration,
    shutdown: Shutdown,
) {
    let mut last = None;
    let mut probe = None;
    loop {
        let status = if database_answers(&database_url, &mut probe).await {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        };
        if last != Some(status) {
            if status == ServingStatus::Serving {
                tracing::info!("database reachable: serving");
            } else {
                tracing::warn!("database unreachable: not serving");
            }
            publish(&reporter, status).await;
            last = Some(status);
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = shutdown.wait() => break,
        }
    }
    publish(&reporter, ServingStatus::NotServing).await;
}

async fn publish(reporter: &HealthReporter, status: ServingStatus) {
    reporter.set_service_status("", status).await;
    for name in SERVICE_NAMES {
        reporter.set_service_status(*name, status).await;
    }
}

/// Runs `SELECT 1` on the probe connection, (re)connecting as needed; a
/// failed connection is dropped so the next probe starts afresh.
async fn database_answers(database_url: &str, probe: &mut Option<AsyncPgConnection>) -> bool {
    if probe.is_none() {
        match tokio::time::timeout(PROBE_TIMEOUT, AsyncPgConnection::establish(database_url)).await
        {
            Ok(Ok(conn)) => *probe = Some(conn),
            _ => return false,
        }
    }
    let Some(conn) = probe.as_mut() else {
        return false;
    };
    let answered = matches!(
        tokio::time::timeout(PROBE_TIMEOUT, diesel::sql_query("SELECT 1").execute(conn)).await,
        Ok(Ok(_))
    );
    if !answered {
        *probe = None;
    }
    answered
}
