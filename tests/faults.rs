//! Nothing acknowledged is lost when PostgreSQL goes down under load.
//!
//! A private cluster (not the suite's shared one) serves a bounded
//! RecordUsage and CreateSkill load from concurrent clients that retry
//! every failed call with the same request id until it is acknowledged.
//! Meanwhile PostgreSQL is stopped `-m immediate` (SIGQUIT: no checkpoint,
//! crash recovery on start) and later restarted cleanly. Afterwards every
//! acknowledged call's row is there exactly once and the counters the
//! worker keeps equal the rows.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use atelier::db::embedded::{ClusterOptions, EmbeddedPostgres};
use atelier::proto::registry::{CreateSkillRequest, SkillCategory};
use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::common::{TestApp, TestAppOptions, as_user, create_skill, use_of};

/// How long the load runs.
const LOAD: Duration = Duration::from_secs(5);
/// Concurrent RecordUsage clients.
const CLIENTS: usize = 8;

async fn start_cluster(dir: &std::path::Path) -> EmbeddedPostgres {
    // Not ephemeral: its `synchronous_commit=off` acknowledges commits
    // before their WAL is written, and an immediate stop loses them (this
    // test caught exactly that). Durability is what is under test.
    let options = ClusterOptions {
        bin_dir: None,
        ephemeral: false,
    };
    let mut cluster = EmbeddedPostgres::new(dir, &options).expect("cluster");
    cluster.start().await.expect("start PostgreSQL");
    let mut admin = AsyncPgConnection::establish(&cluster.url("postgres"))
        .await
        .expect("connect");
    diesel::sql_query("CREATE DATABASE atelier")
        .execute(&mut admin)
        .await
        .expect("create database");
    cluster
}

/// Calls `call` with the same request until it is acknowledged or the
/// deadline passes; returns whether it was.
async fn until_acknowledged<F, Fut, T>(deadline: Instant, mut call: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, tonic::Status>>,
{
    while Instant::now() < deadline + Duration::from_secs(30) {
        match call().await {
            Ok(_) => return true,
            Err(status) => {
                assert!(
                    !matches!(status.code(), tonic::Code::Internal | tonic::Code::Unknown),
                    "an outage must not look like a bug: {status:?}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    false
}

#[derive(diesel::QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[tokio::test(flavor = "multi_thread")]
async fn acknowledged_writes_survive_an_immediate_stop_and_a_restart_of_postgres() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cluster = start_cluster(dir.path()).await;
    let url = cluster.url("atelier");
    atelier::db::run_migrations(&url).await.expect("migrate");
    let app = Arc::new(TestApp::serve(url.clone(), None, TestAppOptions::default()).await);
    let mut skills = Vec::new();
    for n in 0..4 {
        skills.push(
            create_skill(&app, "ada", &format!("fault-skill-{n}"))
                .await
                .id,
        );
    }

    let acknowledged_uses = Arc::new(Mutex::new(BTreeSet::new()));
    let acknowledged_skills = Arc::new(Mutex::new(BTreeSet::new()));
    let deadline = Instant::now() + LOAD;
    let mut clients = Vec::new();
    for client in 0..CLIENTS {
        let (app, skills, acknowledged) = (app.clone(), skills.clone(), acknowledged_uses.clone());
        clients.push(tokio::spawn(async move {
            let mut sequence = 0;
            while Instant::now() < deadline {
                sequence += 1;
                let request_id = format!("use-{client}-{sequence}");
                let skill = &skills[sequence % skills.len()];
                let ok = until_acknowledged(deadline, || {
                    let mut request = use_of(skill);
                    request.request_id = request_id.clone();
                    let mut registry = app.registry();
                    async move { registry.record_usage(as_user("user", request)).await }
                })
                .await;
                if ok {
                    acknowledged.lock().expect("lock").insert(request_id);
                }
            }
        }));
    }
    {
        let (app, acknowledged) = (app.clone(), acknowledged_skills.clone());
        clients.push(tokio::spawn(async move {
            let mut sequence = 0;
            while Instant::now() < deadline {
                sequence += 1;
                let slug = format!("created-under-fault-{sequence}");
                let ok = until_acknowledged(deadline, || {
                    let request = CreateSkillRequest {
                        slug: slug.clone(),
                        name: "Created under fault".to_owned(),
                        description: "Retried with its request id".to_owned(),
                        category: SkillCategory::Prompt.into(),
                        hours_saved: None,
                        request_id: format!("create-{sequence}"),
                    };
                    let mut registry = app.registry();
                    async move { registry.create_skill(as_user("ada", request)).await }
                })
                .await;
                if ok {
                    acknowledged.lock().expect("lock").insert(slug);
                }
            }
        }));
    }

    // 1 s in: an immediate stop (no checkpoint; crash recovery on start).
    tokio::time::sleep(Duration::from_secs(1)).await;
    let pid = cluster.pid().expect("postmaster pid");
    kill(
        Pid::from_raw(i32::try_from(pid).expect("pid")),
        Signal::SIGQUIT,
    )
    .expect("SIGQUIT");
    while cluster.reap().is_none() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    cluster
        .start()
        .await
        .expect("restart after the immediate stop");
    // 2.5 s in: a clean restart.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    cluster.stop().await.expect("stop");
    tokio::time::sleep(Duration::from_millis(300)).await;
    cluster.start().await.expect("restart");

    for client in clients {
        client.await.expect("client");
    }
    app.drain_outbox(1).await;

    let mut conn = AsyncPgConnection::establish(&url).await.expect("connect");
    let uses: Vec<Row> = diesel::sql_query(
        "SELECT request_id AS key, count(*) AS n FROM usage_events GROUP BY request_id",
    )
    .load(&mut conn)
    .await
    .expect("usage rows");
    let present: BTreeSet<String> = uses.iter().map(|r| r.key.clone()).collect();
    let duplicated: Vec<&Row> = uses.iter().filter(|r| r.n != 1).collect();
    let acknowledged = acknowledged_uses.lock().expect("lock").clone();
    let lost: Vec<&String> = acknowledged.difference(&present).collect();
    assert!(
        acknowledged.len() > 100,
        "the load ran: {}",
        acknowledged.len()
    );
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    assert!(
        duplicated.is_empty(),
        "recorded twice: {}",
        duplicated.len()
    );

    let totals: Vec<Row> = diesel::sql_query(
        "SELECT 'total' AS key, coalesce(sum(total_uses), 0)::bigint AS n FROM skills",
    )
    .load(&mut conn)
    .await
    .expect("totals");
    assert_eq!(
        totals[0].n,
        i64::try_from(uses.len()).expect("count"),
        "the counters equal the rows"
    );

    let created: Vec<Row> = diesel::sql_query(
        "SELECT slug AS key, count(*) AS n FROM skills WHERE slug LIKE 'created-under-fault-%' GROUP BY slug",
    )
    .load(&mut conn)
    .await
    .expect("created skills");
    let created_slugs: BTreeSet<String> = created.iter().map(|r| r.key.clone()).collect();
    let acknowledged_skills = acknowledged_skills.lock().expect("lock").clone();
    let lost: Vec<&String> = acknowledged_skills.difference(&created_slugs).collect();
    assert!(lost.is_empty(), "acknowledged skills lost: {lost:?}");
    eprintln!(
        "acknowledged {} uses and {} skills across an immediate stop and a restart; lost 0, duplicated 0",
        acknowledged.len(),
        acknowledged_skills.len()
    );
    drop(app);
    cluster.stop().await.expect("stop");
}
