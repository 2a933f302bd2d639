//! SkillRegistry: ratings and usage, and the outbox events they leave for
//! the worker.

use atelier::proto::registry::record_usage_request::Skill as Which;
use atelier::proto::registry::{
    BatchRecordUsageRequest, CreateSkillRequest, ListRatingsRequest, RateSkillRequest,
    RecordUsageRequest, Skill, SkillCategory,
};
use diesel::sql_types::{BigInt, Text};
use diesel_async::RunQueryDsl;
use tonic::Code;
use tonic_types::StatusExt as _;

use crate::common::{TestApp, as_user, count, reason, violated_fields};

async fn create(app: &TestApp, slug: &str) -> Skill {
    app.registry()
        .create_skill(as_user(
            "author",
            CreateSkillRequest {
                slug: slug.to_owned(),
                name: "A skill".to_owned(),
                description: "Does a thing".to_owned(),
                category: SkillCategory::Workflow.into(),
                hours_saved: None,
                request_id: String::new(),
            },
        ))
        .await
        .expect("create")
        .into_inner()
        .skill
        .expect("skill")
}

fn rate(skill: &Skill, stars: i32) -> RateSkillRequest {
    RateSkillRequest {
        request_id: String::new(),
        skill_id: skill.id.clone(),
        stars,
        comment: String::new(),
        hours_saved_estimate: None,
    }
}

fn use_by_slug(slug: &str, request_id: &str) -> RecordUsageRequest {
    RecordUsageRequest {
        skill: Some(Which::SkillSlug(slug.to_owned())),
        version: None,
        tool_name: "claude-code".to_owned(),
        request_id: request_id.to_owned(),
    }
}

/// `(skill_id, uses)` of every usage.recorded event, sorted.
async fn usage_events(app: &TestApp) -> Vec<(String, i64)> {
    #[derive(diesel::QueryableByName)]
    struct Event {
        #[diesel(sql_type = Text)]
        skill: String,
        #[diesel(sql_type = BigInt)]
        uses: i64,
    }
    let mut events: Vec<(String, i64)> = diesel::sql_query(
        "SELECT aggregate_id::text AS skill, (payload->>'uses')::bigint AS uses FROM outbox WHERE kind = 'usage.recorded'",
    )
    .load::<Event>(&mut app.db().await)
    .await
    .expect("events")
    .into_iter()
    .map(|e| (e.skill, e.uses))
    .collect();
    events.sort();
    events
}

#[tokio::test(flavor = "multi_thread")]
async fn rerating_replaces_the_earlier_rating_and_each_change_enqueues_an_event() {
    let app = TestApp::start().await;
    let skill = create(&app, "rated-skill").await;
    let first = app
        .registry()
        .rate_skill(as_user("grace", rate(&skill, 3)))
        .await
        .expect("rate");
    let first = first.into_inner().rating.expect("rating");
    let second = app
        .registry()
        .rate_skill(as_user(
            "grace",
            RateSkillRequest {
                comment: "  Better than I thought  ".to_owned(),
                hours_saved_estimate: Some(2),
                ..rate(&skill, 5)
            },
        ))
        .await
        .expect("re-rate")
        .into_inner()
        .rating
        .expect("rating");
    assert_eq!(
        (second.stars, second.comment.as_str()),
        (5, "Better than I thought")
    );
    assert_eq!(second.hours_saved_estimate, Some(2));
    assert_eq!(
        second.create_time, first.create_time,
        "the same rating, replaced"
    );
    assert_eq!(
        count(&app, "SELECT count(*) AS count FROM ratings").await,
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS count FROM outbox WHERE kind = 'rating.changed'"
        )
        .await,
        2
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rating_out_of_range_or_of_a_missing_skill_is_refused() {
    let app = TestApp::start().await;
    let skill = create(&app, "rated-skill").await;
    let invalid = app
        .registry()
        .rate_skill(as_user(
            "grace",
            RateSkillRequest {
                comment: "x".repeat(2001),
                hours_saved_estimate: Some(-5),
                ..rate(&skill, 6)
            },
        ))
        .await
        .expect_err("invalid");
    assert_eq!(invalid.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&invalid),
        ["stars", "comment", "hours_saved_estimate"]
    );

    let missing = Skill {
        id: uuid::Uuid::now_v7().to_string(),
        ..skill
    };
    let status = app
        .registry()
        .rate_skill(as_user("grace", rate(&missing, 4)))
        .await
        .expect_err("missing");
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(
        count(&app, "SELECT count(*) AS count FROM outbox").await,
        0,
        "nothing enqueued"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ratings_page_newest_first_and_refuse_foreign_tokens() {
    let app = TestApp::start().await;
    let skill = create(&app, "rated-skill").await;
    let other = create(&app, "other-skill").await;
    for user in ["u1", "u2", "u3", "u4", "u5"] {
        app.registry()
            .rate_skill(as_user(user, rate(&skill, 4)))
            .await
            .expect("rate");
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = app
            .registry()
            .list_ratings(as_user(
                "reader",
                ListRatingsRequest {
                    skill_id: skill.id.clone(),
                    page_size: 2,
                    page_token: token.clone(),
                },
            ))
            .await
            .expect("page")
            .into_inner();
        assert!(page.ratings.len() <= 2);
        seen.extend(page.ratings.into_iter().map(|r| r.user_id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(
        seen,
        ["u5", "u4", "u3", "u2", "u1"],
        "most recent first, each once"
    );

    let first = app
        .registry()
        .list_ratings(as_user(
            "reader",
            ListRatingsRequest {
                skill_id: skill.id.clone(),
                page_size: 2,
                page_token: String::new(),
            },
        ))
        .await
        .expect("page")
        .into_inner();
    let mut tampered = first.next_page_token.clone();
    tampered.insert(3, 'x');
    for (skill_id, token) in [
        (&skill.id, tampered),
        (&other.id, first.next_page_token.clone()),
    ] {
        let status = app
            .registry()
            .list_ratings(as_user(
                "reader",
                ListRatingsRequest {
                    skill_id: skill_id.clone(),
                    page_size: 2,
                    page_token: token,
                },
            ))
            .await
            .expect_err("bad token");
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(violated_fields(&status), ["page_token"]);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn record_usage_by_id_or_slug_stores_the_use_and_an_event() {
    let app = TestApp::start().await;
    let skill = create(&app, "used-skill").await;
    let by_slug = app
        .registry()
        .record_usage(as_user("grace", use_by_slug("used-skill", "")))
        .await
        .expect("by slug")
        .into_inner()
        .usage_event
        .expect("usage");
    assert_eq!(
        (by_slug.skill_id.as_str(), by_slug.user_id.as_str()),
        (skill.id.as_str(), "grace")
    );
    assert_eq!(by_slug.tool_name, "claude-code");
    app.registry()
        .record_usage(as_user(
            "grace",
            RecordUsageRequest {
                skill: Some(Which::SkillId(skill.id.clone())),
                ..use_by_slug("", "")
            },
        ))
        .await
        .expect("by id");
    assert_eq!(
        count(&app, "SELECT count(*) AS count FROM usage_events").await,
        2
    );
    assert_eq!(
        usage_events(&app).await,
        [(skill.id.clone(), 1), (skill.id, 1)]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_synchronous_baseline_counts_uses_at_once_and_queues_no_event() {
    let app = TestApp::start_with(crate::common::TestAppOptions {
        usage_counters: atelier::config::UsageCounters::Synchronous,
        ..Default::default()
    })
    .await;
    let skill = create(&app, "counted-now").await;
    let batch: Vec<RecordUsageRequest> = (0..3).map(|_| use_by_slug("counted-now", "")).collect();
    app.registry()
        .batch_record_usage(as_user("grace", BatchRecordUsageRequest { usages: batch }))
        .await
        .expect("batch");
    app.registry()
        .record_usage(as_user("grace", use_by_slug("counted-now", "")))
        .await
        .expect("one");
    let total = count(
        &app,
        &format!(
            "SELECT total_uses AS count FROM skills WHERE id = '{}'",
            skill.id
        ),
    )
    .await;
    assert_eq!(total, 4, "counted without any worker");
    assert_eq!(count(&app, "SELECT count(*) AS count FROM outbox").await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retried_record_usage_with_the_same_request_id_records_nothing_twice() {
    let app = TestApp::start().await;
    let skill = create(&app, "used-skill").await;
    let first = app
        .registry()
        .record_usage(as_user("grace", use_by_slug("used-skill", "use-1")))
        .await
        .expect("first")
        .into_inner();
    let retry = app
        .registry()
        .record_usage(as_user("grace", use_by_slug("used-skill", "use-1")))
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(first.usage_event, retry.usage_event);
    assert_eq!(
        count(&app, "SELECT count(*) AS count FROM usage_events").await,
        1
    );
    assert_eq!(
        usage_events(&app).await,
        [(skill.id, 1)],
        "one event: the retry added no use"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn batch_record_usage_is_all_or_nothing_and_names_the_failing_entry() {
    let app = TestApp::start().await;
    let a = create(&app, "skill-a").await;
    let b = create(&app, "skill-b").await;
    let failing = BatchRecordUsageRequest {
        usages: vec![
            use_by_slug("skill-a", ""),
            use_by_slug("skill-b", ""),
            use_by_slug("skill-a", ""),
            use_by_slug("no-such-skill", ""),
        ],
    };
    let status = app
        .registry()
        .batch_record_usage(as_user("grace", failing))
        .await
        .expect_err("unknown skill");
    assert_eq!(status.code(), Code::NotFound);
    let info = status
        .get_error_details()
        .error_info()
        .cloned()
        .expect("ErrorInfo");
    assert_eq!(
        info.metadata.get("field").map(String::as_str),
        Some("usages[3].skill_slug")
    );
    assert_eq!(
        count(&app, "SELECT count(*) AS count FROM usage_events").await,
        0,
        "nothing recorded"
    );
    assert!(usage_events(&app).await.is_empty());

    let ok = BatchRecordUsageRequest {
        usages: vec![
            use_by_slug("skill-a", "b-1"),
            use_by_slug("skill-b", "b-2"),
            use_by_slug("skill-a", "b-3"),
            use_by_slug("skill-a", "b-1"),
        ],
    };
    let recorded = app
        .registry()
        .batch_record_usage(as_user("grace", ok))
        .await
        .expect("batch")
        .into_inner()
        .usage_events;
    assert_eq!(recorded.len(), 4, "one record per entry, in order");
    assert_eq!(
        recorded[0], recorded[3],
        "a repeated key within the batch is the same use"
    );
    assert_eq!(recorded[1].skill_id, b.id);
    assert_eq!(
        count(&app, "SELECT count(*) AS count FROM usage_events").await,
        3
    );
    let mut expected = vec![(a.id.clone(), 2), (b.id.clone(), 1)];
    expected.sort();
    assert_eq!(
        usage_events(&app).await,
        expected,
        "one event per skill, counting new uses"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn batch_record_usage_checks_its_size_and_every_entry() {
    let app = TestApp::start().await;
    create(&app, "skill-a").await;
    for size in [0, 501] {
        let status = app
            .registry()
            .batch_record_usage(as_user(
                "grace",
                BatchRecordUsageRequest {
                    usages: vec![use_by_slug("skill-a", ""); size],
                },
            ))
            .await
            .expect_err("size");
        assert_eq!(status.code(), Code::InvalidArgument, "{size}");
        assert_eq!(violated_fields(&status), ["usages"]);
    }
    let status = app
        .registry()
        .batch_record_usage(as_user(
            "grace",
            BatchRecordUsageRequest {
                usages: vec![
                    use_by_slug("skill-a", ""),
                    RecordUsageRequest {
                        tool_name: "t".repeat(101),
                        ..use_by_slug("Bad Slug", "")
                    },
                ],
            },
        ))
        .await
        .expect_err("invalid entry");
    assert_eq!(
        violated_fields(&status),
        ["usages[1].skill_slug", "usages[1].tool_name"]
    );
    assert_eq!(reason(&status), "INVALID_ARGUMENT");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_use_of_a_version_that_does_not_exist_is_not_found() {
    let app = TestApp::start().await;
    create(&app, "skill-a").await;
    let status = app
        .registry()
        .record_usage(as_user(
            "grace",
            RecordUsageRequest {
                version: Some(3),
                ..use_by_slug("skill-a", "")
            },
        ))
        .await
        .expect_err("no version 3");
    assert_eq!(status.code(), Code::NotFound);
    let info = status
        .get_error_details()
        .error_info()
        .cloned()
        .expect("ErrorInfo");
    assert_eq!(
        info.metadata.get("field").map(String::as_str),
        Some("version")
    );
}

/// A token that carries the server's own signature but a page-key time no
/// timestamp can hold (as a leaked key or a bug would produce) is refused
/// as an invalid `page_token`, never read as 1970 or answered INTERNAL.
#[tokio::test(flavor = "multi_thread")]
async fn a_signed_page_token_with_an_impossible_time_is_invalid_argument() {
    let app = TestApp::start().await;
    let skill = create(&app, "rated-for-forgery").await;
    let query = atelier::pagination::fingerprint(&["ratings", &skill.id]);
    for micros in [i64::MAX, i64::MIN, 253_402_300_800_000_000] {
        let forged = app
            .page_tokens()
            .encode(&query, &(micros, "someone".to_owned()));
        let status = app
            .registry()
            .list_ratings(as_user(
                "reader",
                ListRatingsRequest {
                    skill_id: skill.id.clone(),
                    page_size: 2,
                    page_token: forged,
                },
            ))
            .await
            .expect_err("an impossible time");
        assert_eq!(status.code(), Code::InvalidArgument, "{micros}");
        assert_eq!(violated_fields(&status), ["page_token"]);
    }
}
