//! The Prometheus endpoint (`--metrics-listen`, off by default) and the
//! metrics it exposes. Code records through the `metrics` crate's macros
//! with the names below; with no endpoint configured no recorder is
//! installed and every record is a no-op.
//!
//! Labels are bounded: an RPC's `service` and `method` come from the
//! methods the server registers, so a client sending random paths adds one
//! `unknown` series, not one per path.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::Context as _;
use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
use prost::Message as _;

use super::names::*;
use crate::db::DbPool;
use crate::shutdown::Shutdown;

/// Latency buckets, in seconds: sub-millisecond reads to slow uploads.
const DURATION_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// How often the pool's gauges are sampled.
const POOL_SAMPLE_INTERVAL: Duration = Duration::from_secs(1);
/// Outbox gauges are sampled every this many pool samples: counting the
/// outbox scans it, which is cheap but not free on a large backlog.
const OUTBOX_SAMPLE_EVERY: u32 = 5;

/// Serves `GET /metrics` on `listen` (bound here, so a taken port stops
/// start-up) and installs the global recorder.
pub fn serve(listen: SocketAddr) -> anyhow::Result<()> {
    PrometheusBuilder::new()
        .with_http_listener(listen)
        .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), DURATION_BUCKETS)
        .context("metrics buckets")?
        .install()
        .with_context(|| format!("cannot serve metrics on {listen}"))?;
    describe();
    tracing::info!(address = %listen, "serving Prometheus metrics at /metrics");
    Ok(())
}

fn describe() {
    describe_counter!(
        RPC_REQUESTS,
        "RPCs answered, by service, method and gRPC code"
    );
    describe_histogram!(RPC_DURATION, Unit::Seconds, "RPC latency until its status");
    describe_gauge!(RPC_IN_FLIGHT, "RPCs running now");
    describe_gauge!(POOL_CONNECTIONS, "Database connections the pool holds");
    describe_gauge!(POOL_IDLE, "Idle database connections in the pool");
    describe_gauge!(POOL_WAITERS, "Callers waiting for a database connection");
    describe_gauge!(POOL_MAX, "Maximum size of the database pool");
    describe_gauge!(OUTBOX_PENDING, "Outbox events waiting to be applied");
    describe_gauge!(OUTBOX_DEAD, "Outbox events parked as dead");
    describe_gauge!(
        OUTBOX_OLDEST_AGE,
        Unit::Seconds,
        "Age of the oldest pending outbox event"
    );
    describe_counter!(
        OUTBOX_APPLIED,
        "Outbox events applied by this process, by kind"
    );
    describe_histogram!(
        OUTBOX_BATCH_DURATION,
        Unit::Seconds,
        "Duration of one outbox batch"
    );
    describe_counter!(
        VERIFIED_BYTES,
        Unit::Bytes,
        "Content bytes hashed to verify it"
    );
    describe_gauge!(EMBEDDED_POSTGRES_UP, "1 while the embedded PostgreSQL runs");
}

/// Samples the pool and outbox gauges until `shutdown` fires.
pub async fn sample_gauges(pool: DbPool, shutdown: Shutdown) {
    let mut tick = 0_u32;
    loop {
        let status = pool.status();
        metrics::gauge!(POOL_CONNECTIONS).set(status.size as f64);
        metrics::gauge!(POOL_IDLE).set(status.available as f64);
        metrics::gauge!(POOL_WAITERS).set(status.waiting as f64);
        metrics::gauge!(POOL_MAX).set(status.max_size as f64);
        if tick.is_multiple_of(OUTBOX_SAMPLE_EVERY) {
            sample_outbox(&pool).await;
        }
        tick = tick.wrapping_add(1);
        tokio::select! {
            () = tokio::time::sleep(POOL_SAMPLE_INTERVAL) => {}
            () = shutdown.wait() => return,
        }
    }
}

async fn sample_outbox(pool: &DbPool) {
    let counts = async {
        let mut conn = pool.get().await.map_err(|e| e.to_string())?;
        crate::outbox::admin::counts(&mut conn)
            .await
            .map_err(|e| e.to_string())
    };
    match counts.await {
        Ok(counts) => {
            metrics::gauge!(OUTBOX_PENDING).set(counts.pending as f64);
            metrics::gauge!(OUTBOX_DEAD).set(counts.dead as f64);
            let age = counts.oldest_pending.map_or(0.0, |oldest| {
                (chrono::Utc::now() - oldest).num_milliseconds().max(0) as f64 / 1000.0
            });
            metrics::gauge!(OUTBOX_OLDEST_AGE).set(age);
        }
        // The database is down: health says so; the gauges keep their last
        // values rather than claiming an empty outbox.
        Err(error) => tracing::debug!(%error, "cannot sample the outbox for metrics"),
    }
}

/// The `service` and `method` labels of a request path: its own when the
/// server registers that method, `unknown` otherwise.
pub fn rpc_labels(path: &str) -> (&'static str, &'static str) {
    known_methods()
        .get(path)
        .map_or(("unknown", "unknown"), |(service, method)| {
            (service.as_str(), method.as_str())
        })
}

/// Every `/package.Service/Method` path the server serves, with its
/// service and method names, from the descriptors it registers for
/// reflection.
fn known_methods() -> &'static HashMap<String, (String, String)> {
    static KNOWN: OnceLock<HashMap<String, (String, String)>> = OnceLock::new();
    KNOWN.get_or_init(|| {
        let mut known = HashMap::new();
        for encoded in [
            crate::proto::FILE_DESCRIPTOR_SET,
            tonic_health::pb::FILE_DESCRIPTOR_SET,
            tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
            tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
        ] {
            let Ok(set) = prost_types::FileDescriptorSet::decode(encoded) else {
                continue;
            };
            for file in set.file {
                for service in &file.service {
                    let service_name = format!("{}.{}", file.package(), service.name());
                    for method in &service.method {
                        known.insert(
                            format!("/{service_name}/{}", method.name()),
                            (service_name.clone(), method.name().to_owned()),
                        );
                    }
                }
            }
        }
        known
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_name_registered_methods_only() {
        assert_eq!(
            rpc_labels("/atelier.registry.v1.SkillRegistry/GetSkill"),
            ("atelier.registry.v1.SkillRegistry", "GetSkill")
        );
        assert_eq!(
            rpc_labels("/grpc.health.v1.Health/Check"),
            ("grpc.health.v1.Health", "Check")
        );
        assert_eq!(
            rpc_labels("/atelier.admin.v1.Outbox/GetOutboxStats").0,
            "atelier.admin.v1.Outbox"
        );
        for hostile in [
            "/atelier.registry.v1.SkillRegistry/NoSuchMethod",
            "/x/y",
            "/",
            "",
            "/atelier.registry.v1.SkillRegistry/GetSkill/extra",
        ] {
            assert_eq!(rpc_labels(hostile), ("unknown", "unknown"), "{hostile}");
        }
    }
}
