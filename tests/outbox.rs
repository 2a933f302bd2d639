//! The outbox worker: exact counters, rating aggregates, content
//! verification and deletion, and parking what it cannot handle.

use atelier::db::rows::SingleRow as _;
use atelier::proto::registry::get_skill_request::Selector;
use atelier::proto::registry::record_usage_request::Skill as Which;
use atelier::proto::registry::{
    BatchRecordUsageRequest, CreateSkillVersionRequest, DeleteSkillRequest, GetSkillRequest,
    GetSkillVersionRequest, PublishSkillVersionRequest, RateSkillRequest, RecordUsageRequest,
    Skill, VerificationState,
};
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel_async::RunQueryDsl;
use tonic::Code;

use crate::common::{TestApp, as_user, reason, use_of};

async fn create(app: &TestApp, slug: &str) -> Skill {
    crate::common::create_skill(app, "ada", slug).await
}

async fn get(app: &TestApp, skill: &Skill) -> Skill {
    app.registry()
        .get_skill(as_user(
            "reader",
            GetSkillRequest {
                selector: Some(Selector::Id(skill.id.clone())),
            },
        ))
        .await
        .expect("get")
        .into_inner()
        .skill
        .expect("skill")
}

async fn outbox_count(app: &TestApp) -> i64 {
    crate::common::count(app, "SELECT count(*) AS count FROM outbox").await
}

async fn add_version(app: &TestApp, skill: &Skill, content: &[u8]) {
    app.registry()
        .create_skill_version(as_user(
            "ada",
            CreateSkillVersionRequest {
                request_id: String::new(),
                skill_id: skill.id.clone(),
                content: content.to_vec(),
                content_type: "text/plain".to_owned(),
                name: String::new(),
                description: String::new(),
                expected_sha256: String::new(),
                publish: false,
            },
        ))
        .await
        .expect("version");
}

#[tokio::test(flavor = "multi_thread")]
async fn usage_counters_are_exact_with_four_workers_draining_concurrently() {
    let app = TestApp::start().await;
    let skills = [
        create(&app, "hot").await,
        create(&app, "warm").await,
        create(&app, "cold").await,
    ];
    let shares = [700_usize, 250, 50];
    for (skill, share) in skills.iter().zip(shares) {
        for batch in 0..share.div_ceil(100) {
            let size = (share - batch * 100).min(100);
            let usages = (0..size).map(|_| use_of(&skill.id)).collect();
            app.registry()
                .batch_record_usage(as_user("grace", BatchRecordUsageRequest { usages }))
                .await
                .expect("record");
        }
    }
    // Single uses too, so the hot skill has many events per batch.
    for _ in 0..100 {
        app.registry()
            .record_usage(as_user(
                "grace",
                RecordUsageRequest {
                    skill: Some(Which::SkillSlug("hot".to_owned())),
                    version: None,
                    tool_name: String::new(),
                    request_id: String::new(),
                },
            ))
            .await
            .expect("record");
    }
    assert_eq!(
        get(&app, &skills[0]).await.total_uses,
        0,
        "the read side waits for the worker"
    );

    app.drain_outbox(4).await;
    let totals: Vec<i64> = futures_util::future::join_all(skills.iter().map(|s| get(&app, s)))
        .await
        .iter()
        .map(|s| s.total_uses)
        .collect();
    assert_eq!(totals, [800, 250, 50]);
    assert_eq!(outbox_count(&app).await, 0, "processed events are deleted");
    assert_eq!(
        get(&app, &skills[0]).await.etag,
        skills[0].etag,
        "counters do not move the etag"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn average_rating_follows_re_ratings_rounded_half_up() {
    let app = TestApp::start().await;
    let skill = create(&app, "rated").await;
    let rate = |user: String, stars: i32| {
        let mut client = app.registry();
        let request = RateSkillRequest {
            request_id: String::new(),
            skill_id: skill.id.clone(),
            stars,
            comment: String::new(),
            hours_saved_estimate: None,
        };
        async move {
            client
                .rate_skill(as_user(&user, request))
                .await
                .expect("rate")
        }
    };
    // Eight users: seven ones and a two average 1.125, i.e. 112.5 → 113.
    for user in 0..8 {
        rate(format!("u{user}"), 5).await;
    }
    for user in 0..7 {
        rate(format!("u{user}"), 1).await; // re-ratings replace
    }
    rate("u7".to_owned(), 2).await;
    app.drain_outbox(2).await;
    let rated = get(&app, &skill).await;
    assert_eq!((rated.rating_count, rated.average_rating_x100), (8, 113));

    #[derive(diesel::QueryableByName)]
    struct Recomputed {
        #[diesel(sql_type = BigInt)]
        average: i64,
    }
    let recomputed: Recomputed = diesel::sql_query(
        "SELECT round(avg(stars) * 100)::bigint AS average FROM ratings WHERE skill_id = $1::uuid",
    )
    .bind::<Text, _>(&skill.id)
    .load(&mut app.db().await)
    .await
    .single()
    .expect("recompute");
    assert_eq!(i64::from(rated.average_rating_x100), recomputed.average);
}

#[tokio::test(flavor = "multi_thread")]
async fn verification_marks_intact_corrupted_and_missing_content() {
    let app = TestApp::start().await;
    let intact = create(&app, "intact").await;
    let corrupted = create(&app, "corrupted").await;
    let missing = create(&app, "missing").await;
    add_version(&app, &intact, b"intact bytes").await;
    add_version(&app, &corrupted, b"corrupted bytes").await;
    add_version(&app, &missing, b"missing bytes").await;
    let key_of = |content: &[u8]| {
        let sha: String = <sha2::Sha256 as sha2::Digest>::digest(content)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        atelier::storage::skill_content_key(&sha).to_string()
    };
    std::fs::write(
        app.object_file(&key_of(b"corrupted bytes")),
        b"CORRUPTED bytes",
    )
    .expect("corrupt");
    std::fs::remove_file(app.object_file(&key_of(b"missing bytes"))).expect("delete");

    app.drain_outbox(2).await;
    let state = |skill: &Skill| {
        let mut client = app.registry();
        let request = GetSkillVersionRequest {
            skill_id: skill.id.clone(),
            version: 1,
        };
        async move {
            client
                .get_skill_version(as_user("reader", request))
                .await
                .expect("get")
                .into_inner()
                .version
                .expect("v")
        }
    };
    assert_eq!(
        state(&intact).await.verification_state(),
        VerificationState::Verified
    );
    let bad = state(&corrupted).await;
    assert_eq!(bad.verification_state(), VerificationState::Mismatch);
    assert_eq!(bad.found_sha256.len(), 64);
    assert_ne!(bad.found_sha256, bad.sha256);
    assert_eq!(
        state(&missing).await.verification_state(),
        VerificationState::Missing
    );
    assert_eq!(outbox_count(&app).await, 0);

    let refused = app
        .registry()
        .publish_skill_version(as_user(
            "ada",
            PublishSkillVersionRequest {
                skill_id: corrupted.id.clone(),
                version: 1,
                etag: String::new(),
            },
        ))
        .await
        .expect_err("mismatched content cannot be published");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(reason(&refused), "CONTENT_UNVERIFIED");
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_skill_deletes_its_content_unless_another_version_uses_it() {
    let app = TestApp::start().await;
    let doomed = create(&app, "doomed").await;
    let survivor = create(&app, "survivor").await;
    add_version(&app, &doomed, b"only doomed has this").await;
    add_version(&app, &doomed, b"shared content").await;
    add_version(&app, &survivor, b"shared content").await;
    app.drain_outbox(1).await; // verification
    assert_eq!(app.stored_objects().len(), 2);

    app.registry()
        .delete_skill(as_user(
            "ada",
            DeleteSkillRequest {
                id: doomed.id.clone(),
                etag: String::new(),
            },
        ))
        .await
        .expect("delete");
    app.drain_outbox(2).await;
    assert_eq!(app.stored_objects().len(), 1, "{:?}", app.stored_objects());
    assert_eq!(outbox_count(&app).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_event_of_an_unknown_kind_is_parked_dead_and_blocks_nothing() {
    let app = TestApp::start().await;
    let skill = create(&app, "after-mystery").await;
    diesel::sql_query(
        "INSERT INTO outbox (id, kind, aggregate_id, payload) VALUES (gen_random_uuid(), 'mystery.kind', gen_random_uuid(), '{}'), \
         (gen_random_uuid(), 'usage.recorded', $1::uuid, '{\"uses\": \"many\"}'), \
         (gen_random_uuid(), 'usage.recorded', $1::uuid, '{\"uses\": 1.5}'), \
         (gen_random_uuid(), 'usage.recorded', $1::uuid, '{\"uses\": -3}'), \
         (gen_random_uuid(), 'usage.recorded', $1::uuid, '{\"uses\": 0}'), \
         (gen_random_uuid(), 'usage.recorded', $1::uuid, '{\"uses\": 1e30}'), \
         (gen_random_uuid(), 'usage.recorded', $1::uuid, '{\"uses\": 99999999999999999999}'), \
         (gen_random_uuid(), 'usage.recorded', $1::uuid, '{}')",
    )
    .bind::<Text, _>(&skill.id)
    .execute(&mut app.db().await)
    .await
    .expect("insert odd events");
    app.registry()
        .record_usage(as_user("grace", use_of(&skill.id)))
        .await
        .expect("record");
    app.drain_outbox(1).await;
    assert_eq!(get(&app, &skill).await.total_uses, 1);

    #[derive(diesel::QueryableByName)]
    struct Dead {
        #[diesel(sql_type = Text)]
        kind: String,
        #[diesel(sql_type = Nullable<Text>)]
        last_error: Option<String>,
    }
    let mut dead: Vec<Dead> =
        diesel::sql_query("SELECT kind, last_error FROM outbox WHERE dead_at IS NOT NULL")
            .load(&mut app.db().await)
            .await
            .expect("dead events");
    dead.sort_by(|a, b| a.kind.cmp(&b.kind));
    assert_eq!(dead.len(), 8);
    assert!(
        dead[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("unknown event kind"))
    );
    for usage in &dead[1..] {
        assert_eq!(usage.kind, "usage.recorded");
        assert!(
            usage
                .last_error
                .as_deref()
                .is_some_and(|e| e.contains("malformed"))
        );
    }
    assert_eq!(outbox_count(&app).await, 8, "only the parked events remain");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_notification_wakes_the_worker_long_before_its_next_poll() {
    let app = TestApp::start().await;
    let skill = create(&app, "prompt-wakeup").await;
    app.spawn_worker(60_000);
    // Let the worker finish its first (empty) drain and start listening.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let recorded = std::time::Instant::now();
    app.registry()
        .record_usage(as_user("grace", use_of(&skill.id)))
        .await
        .expect("record");
    let counted = crate::common::eventually(std::time::Duration::from_secs(10), || async {
        get(&app, &skill).await.total_uses == 1
    })
    .await;
    assert!(
        counted,
        "the use was not counted within 10 s (the poll interval is 60 s)"
    );
    eprintln!(
        "RecordUsage to visible total_uses: {:?}",
        recorded.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn operators_see_stats_list_dead_events_and_retry_them() {
    use atelier::proto::admin::outbox_client::OutboxClient;
    use atelier::proto::admin::{
        GetOutboxStatsRequest, ListDeadEventsRequest, RetryDeadEventsRequest,
    };

    let app = TestApp::start().await;
    let skill = create(&app, "observed").await;
    let mut admin = OutboxClient::new(app.channel.clone());
    diesel::sql_query(
        "INSERT INTO outbox (id, kind, aggregate_id, payload) \
         SELECT gen_random_uuid(), 'mystery.kind', gen_random_uuid(), '{}' FROM generate_series(1, 3)",
    )
    .execute(&mut app.db().await)
    .await
    .expect("odd events");
    app.registry()
        .record_usage(as_user("grace", use_of(&skill.id)))
        .await
        .expect("record");
    let before = admin
        .get_outbox_stats(GetOutboxStatsRequest {})
        .await
        .expect("stats")
        .into_inner();
    assert_eq!((before.pending_count, before.dead_count), (4, 0));
    assert!(before.oldest_pending_age.is_some());

    app.drain_outbox(1).await;
    let after = admin
        .get_outbox_stats(GetOutboxStatsRequest {})
        .await
        .expect("stats")
        .into_inner();
    assert_eq!((after.pending_count, after.dead_count), (0, 3));
    assert_eq!(after.oldest_pending_age, None);
    assert_eq!(after.processed_since_start.get("usage.recorded"), Some(&1));

    let page = admin
        .list_dead_events(ListDeadEventsRequest {
            page_size: 2,
            page_token: String::new(),
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(page.events.len(), 2);
    assert!(
        page.events
            .iter()
            .all(|e| e.kind == "mystery.kind" && e.last_error.contains("unknown"))
    );
    let rest = admin
        .list_dead_events(ListDeadEventsRequest {
            page_size: 2,
            page_token: page.next_page_token,
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!((rest.events.len(), rest.next_page_token.as_str()), (1, ""));

    let retried = admin
        .retry_dead_events(RetryDeadEventsRequest {
            ids: vec![page.events[0].id.clone()],
            all: false,
        })
        .await
        .expect("retry one")
        .into_inner();
    assert_eq!(retried.retried_count, 1);
    let stats = admin
        .get_outbox_stats(GetOutboxStatsRequest {})
        .await
        .expect("stats")
        .into_inner();
    assert_eq!((stats.pending_count, stats.dead_count), (1, 2));
    let all = admin
        .retry_dead_events(RetryDeadEventsRequest {
            ids: vec![],
            all: true,
        })
        .await
        .expect("retry all")
        .into_inner();
    assert_eq!(all.retried_count, 2);

    let invalid = admin
        .retry_dead_events(RetryDeadEventsRequest {
            ids: vec!["nope".to_owned()],
            all: true,
        })
        .await
        .expect_err("invalid");
    assert_eq!(invalid.code(), Code::InvalidArgument);
    assert_eq!(crate::common::violated_fields(&invalid), ["ids", "ids[0]"]);
}

#[test]
fn the_outbox_cli_prints_stats_and_retries_dead_events() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let database = runtime.block_on(crate::common::TestDatabase::migrated());
    runtime.block_on(async {
        diesel::sql_query(
            "INSERT INTO outbox (id, kind, aggregate_id, payload, dead_at) \
             VALUES (gen_random_uuid(), 'mystery.kind', gen_random_uuid(), '{}', now())",
        )
        .execute(&mut database.connect().await)
        .await
        .expect("dead event");
    });
    let atelier = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_atelier"))
            .args(["--database-url", &database.url, "outbox"])
            .args(args)
            .output()
            .expect("run atelier");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("UTF-8")
    };
    let stats = atelier(&["stats"]);
    assert!(
        stats.contains("pending: 0") && stats.contains("dead: 1"),
        "{stats}"
    );
    assert_eq!(atelier(&["retry-dead", "--all"]).trim(), "retried: 1");
    assert!(atelier(&["stats"]).contains("pending: 1"));
    drop(database);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_object_store_leads_to_retries_then_a_dead_event_then_success_after_retry() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use atelier::proto::admin::outbox_client::OutboxClient;
    use atelier::proto::admin::{GetOutboxStatsRequest, RetryDeadEventsRequest};

    let failing = Arc::new(AtomicBool::new(false));
    let app = TestApp::start_with(crate::common::TestAppOptions {
        failing_reads: Some(failing.clone()),
        ..crate::common::TestAppOptions::default()
    })
    .await;
    let skill = create(&app, "flaky-store").await;
    add_version(&app, &skill, b"content to verify").await;
    failing.store(true, Ordering::SeqCst);

    #[derive(diesel::QueryableByName)]
    struct Event {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        attempts: i32,
        #[diesel(sql_type = Nullable<Text>)]
        last_error: Option<String>,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        dead: bool,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        backed_off: bool,
    }
    let event = || async {
        diesel::sql_query(
            "SELECT attempts, last_error, dead_at IS NOT NULL AS dead, available_at > now() AS backed_off \
             FROM outbox WHERE kind = 'content.verify'",
        )
        .load::<Event>(&mut app.db().await)
        .await.single()
        .expect("the verify event")
    };
    // drain_outbox gives up after 3 attempts; between attempts, time "passes"
    // by making the backed-off event due again.
    for attempt in 1..=3 {
        app.drain_outbox(1).await;
        let state = event().await;
        assert_eq!(state.attempts, attempt);
        assert!(
            state
                .last_error
                .as_deref()
                .is_some_and(|e| e.contains("injected read failure"))
        );
        assert_eq!(state.dead, attempt == 3, "attempt {attempt}");
        assert!(state.backed_off, "attempt {attempt} backs off");
        diesel::sql_query("UPDATE outbox SET available_at = now()")
            .execute(&mut app.db().await)
            .await
            .expect("make it due");
    }
    app.drain_outbox(1).await;
    assert_eq!(
        event().await.attempts,
        3,
        "a dead event is not retried by itself"
    );

    failing.store(false, Ordering::SeqCst);
    let mut admin = OutboxClient::new(app.channel.clone());
    let retried = admin
        .retry_dead_events(RetryDeadEventsRequest {
            ids: vec![],
            all: true,
        })
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(retried.retried_count, 1);
    app.drain_outbox(1).await;
    let stats = admin
        .get_outbox_stats(GetOutboxStatsRequest {})
        .await
        .expect("stats")
        .into_inner();
    assert_eq!((stats.pending_count, stats.dead_count), (0, 0));
    let version = app
        .registry()
        .get_skill_version(as_user(
            "reader",
            GetSkillVersionRequest {
                skill_id: skill.id.clone(),
                version: 1,
            },
        ))
        .await
        .expect("get")
        .into_inner()
        .version
        .expect("version");
    assert_eq!(version.verification_state(), VerificationState::Verified);
}

#[tokio::test(flavor = "multi_thread")]
async fn counters_stay_exact_when_a_worker_process_is_killed_mid_drain() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;

    let app = TestApp::start().await;
    let mut skills = Vec::new();
    for n in 0..10 {
        skills.push(create(&app, &format!("killed-{n}")).await);
    }
    // 20,000 one-use events, queued directly: this test is about draining.
    let ids: Vec<String> = skills.iter().map(|s| s.id.clone()).collect();
    diesel::sql_query(
        "INSERT INTO outbox (id, kind, aggregate_id, payload) \
         SELECT gen_random_uuid(), 'usage.recorded', ($1::uuid[])[1 + n % 10], '{\"uses\": 1}' \
         FROM generate_series(0, 19999) AS n",
    )
    .bind::<diesel::sql_types::Array<Text>, _>(&ids)
    .execute(&mut app.db().await)
    .await
    .expect("queue events");

    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut worker = std::process::Command::new(env!("CARGO_BIN_EXE_atelier"))
        .args(["--database-url", &app.database_url(), "--data-dir"])
        .arg(data_dir.path())
        .args(["worker", "--outbox-batch-size", "50"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start atelier worker");
    let started = crate::common::eventually(std::time::Duration::from_secs(30), || async {
        outbox_count(&app).await < 15_000
    })
    .await;
    assert!(
        started,
        "the worker process did not drain a quarter of the queue"
    );
    kill(
        Pid::from_raw(i32::try_from(worker.id()).expect("pid")),
        Signal::SIGKILL,
    )
    .expect("SIGKILL");
    let _ = worker.wait();
    let left = outbox_count(&app).await;
    assert!(
        left > 0,
        "the worker finished before it could be killed; make the queue longer"
    );

    app.drain_outbox(2).await;
    let mut total = 0;
    for skill in &skills {
        let uses = get(&app, skill).await.total_uses;
        assert_eq!(uses, 2_000, "{}", skill.slug);
        total += uses;
    }
    assert_eq!(total, 20_000);
    assert_eq!(outbox_count(&app).await, 0);
    eprintln!("killed the worker with {left} of 20000 events left");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_whose_lease_keeps_expiring_is_parked() {
    let app = TestApp::start().await;
    let skill = create(&app, "crashy").await;
    add_version(&app, &skill, b"bytes").await;
    // As if three workers had leased the job and died before finishing.
    diesel::sql_query(
        "UPDATE outbox SET attempts = 3, available_at = now() WHERE kind = 'content.verify'",
    )
    .execute(&mut app.db().await)
    .await
    .expect("expired leases");
    app.drain_outbox(1).await;
    #[derive(diesel::QueryableByName)]
    struct Parked {
        #[diesel(sql_type = Nullable<Text>)]
        last_error: Option<String>,
    }
    let parked: Parked =
        diesel::sql_query("SELECT last_error FROM outbox WHERE dead_at IS NOT NULL")
            .load(&mut app.db().await)
            .await
            .single()
            .expect("parked event");
    assert!(
        parked
            .last_error
            .is_some_and(|e| e.contains("lease expired"))
    );
}
