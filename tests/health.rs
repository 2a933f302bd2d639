//! grpc.health.v1 follows database reachability without a restart.

use std::time::Duration;

use atelier::db::embedded::{ClusterOptions, EmbeddedPostgres};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;

use crate::common::{TestApp, TestAppOptions, eventually};

const SERVICES: [&str; 4] = [
    "",
    "atelier.registry.v1.SkillRegistry",
    "atelier.workshop.v1.Workshop",
    "atelier.signals.v1.Signals",
];

async fn statuses(app: &TestApp) -> Vec<Option<ServingStatus>> {
    let mut health = app.health();
    let mut found = Vec::new();
    for service in SERVICES {
        let status = health
            .check(HealthCheckRequest {
                service: service.to_owned(),
            })
            .await
            .ok()
            .and_then(|response| ServingStatus::try_from(response.into_inner().status).ok());
        found.push(status);
    }
    found
}

async fn all_become(app: &TestApp, wanted: ServingStatus) -> bool {
    eventually(Duration::from_secs(15), || async {
        statuses(app).await.iter().all(|s| *s == Some(wanted))
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn health_is_not_serving_while_postgres_is_down_and_recovers_without_a_restart() {
    // A cluster of this test's own, since the test stops it.
    let dir = tempfile::tempdir().expect("temp dir");
    let options = ClusterOptions {
        bin_dir: None,
        ephemeral: true,
    };
    let mut cluster = EmbeddedPostgres::new(dir.path(), &options).expect("cluster");
    cluster.start().await.expect("cluster starts");
    let url = cluster.url("postgres");
    atelier::db::run_migrations(&url).await.expect("migrations");

    let app = TestApp::serve(url, None, TestAppOptions::default()).await;
    assert!(
        all_become(&app, ServingStatus::Serving).await,
        "{:?}",
        statuses(&app).await
    );

    cluster.stop().await.expect("cluster stops");
    assert!(
        all_become(&app, ServingStatus::NotServing).await,
        "{:?}",
        statuses(&app).await
    );

    cluster.start().await.expect("cluster restarts");
    assert!(
        all_become(&app, ServingStatus::Serving).await,
        "{:?}",
        statuses(&app).await
    );

    app.stop().await.expect("clean stop");
    cluster.stop().await.expect("cluster stops");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_service_name_is_not_found() {
    let app = TestApp::start().await;
    let status = app
        .health()
        .check(HealthCheckRequest {
            service: "atelier.nope.v1.Nothing".to_owned(),
        })
        .await
        .expect_err("unknown service");
    assert_eq!(status.code(), tonic::Code::NotFound);
}

/// `atelier health-probe`, the container image's health check, against a
/// serving server and against an address where nothing listens.
#[tokio::test(flavor = "multi_thread")]
async fn the_health_probe_subcommand_exits_zero_only_for_a_serving_server() {
    let app = TestApp::start().await;
    let probe = |address: String| {
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_atelier"))
                .args(["health-probe", "--timeout-secs", "3", "--address", &address])
                .output()
                .expect("run atelier health-probe")
        })
    };
    let serving = probe(app.addr.to_string()).await.expect("join");
    assert!(
        serving.status.success(),
        "{}",
        String::from_utf8_lossy(&serving.stderr)
    );
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let nowhere = closed.local_addr().expect("addr").to_string();
    drop(closed);
    let refused = probe(nowhere.clone()).await.expect("join");
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains(&nowhere), "{stderr}");
}
