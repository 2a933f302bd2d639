//! SkillRegistry: creating, reading, updating and deleting skills.

use atelier::db::rows::SingleRow as _;
use atelier::proto::registry::get_skill_request::Selector;
use atelier::proto::registry::{
    CreateSkillRequest, DeleteSkillRequest, GetSkillRequest, Skill, SkillCategory,
    UpdateSkillRequest,
};
use diesel::sql_types::{BigInt, Text};
use diesel_async::RunQueryDsl;
use prost_types::FieldMask;
use tonic::Code;
use tonic_types::StatusExt as _;

use crate::common::{TestApp, as_user, reason, violated_fields};

fn create_request(slug: &str) -> CreateSkillRequest {
    CreateSkillRequest {
        slug: slug.to_owned(),
        name: "Code review".to_owned(),
        description: "Reviews a diff like a senior engineer".to_owned(),
        category: SkillCategory::Prompt.into(),
        hours_saved: None,
        request_id: String::new(),
    }
}

async fn create(app: &TestApp, user: &str, slug: &str) -> Skill {
    app.registry()
        .create_skill(as_user(user, create_request(slug)))
        .await
        .expect("create")
        .into_inner()
        .skill
        .expect("skill")
}

async fn get_by(app: &TestApp, selector: Selector) -> Result<Skill, tonic::Status> {
    app.registry()
        .get_skill(as_user(
            "reader",
            GetSkillRequest {
                selector: Some(selector),
            },
        ))
        .await
        .map(|r| r.into_inner().skill.expect("skill"))
}

fn mask(paths: &[&str]) -> Option<FieldMask> {
    Some(FieldMask {
        paths: paths.iter().map(|p| (*p).to_owned()).collect(),
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_created_skill_belongs_to_its_caller_and_reads_back_by_id_and_slug() {
    let app = TestApp::start().await;
    let skill = create(&app, "ada", "code-review").await;
    assert_eq!(skill.author_id, "ada");
    assert_eq!(skill.hours_saved, 1, "default hours saved");
    assert_eq!(
        (
            skill.total_uses,
            skill.rating_count,
            skill.average_rating_x100
        ),
        (0, 0, 0)
    );
    assert_eq!((skill.published_version, skill.draft_version), (None, None));
    assert!(!skill.etag.is_empty());
    assert!(skill.create_time.is_some());

    assert_eq!(
        get_by(&app, Selector::Id(skill.id.clone()))
            .await
            .expect("by id"),
        skill
    );
    assert_eq!(
        get_by(&app, Selector::Slug("code-review".to_owned()))
            .await
            .expect("by slug"),
        skill
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn create_skill_reports_every_invalid_field_at_once() {
    let app = TestApp::start().await;
    let status = app
        .registry()
        .create_skill(as_user(
            "ada",
            CreateSkillRequest {
                slug: "Not A Slug".to_owned(),
                name: "   ".to_owned(),
                description: "x".repeat(4001),
                category: SkillCategory::Unspecified.into(),
                hours_saved: Some(-1),
                request_id: String::new(),
            },
        ))
        .await
        .expect_err("invalid");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(reason(&status), "INVALID_ARGUMENT");
    assert_eq!(
        violated_fields(&status),
        ["slug", "name", "description", "category", "hours_saved"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_taken_slug_is_already_exists() {
    let app = TestApp::start().await;
    create(&app, "ada", "code-review").await;
    let status = app
        .registry()
        .create_skill(as_user("grace", create_request("code-review")))
        .await
        .expect_err("taken");
    assert_eq!(status.code(), Code::AlreadyExists);
    assert_eq!(reason(&status), "SLUG_TAKEN");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retried_create_with_the_same_request_id_returns_the_first_skill() {
    let app = TestApp::start().await;
    let request = CreateSkillRequest {
        request_id: "req-1".to_owned(),
        ..create_request("retried-skill")
    };
    let first = app
        .registry()
        .create_skill(as_user("ada", request.clone()))
        .await
        .expect("first");
    let retry = app
        .registry()
        .create_skill(as_user("ada", request.clone()))
        .await
        .expect("retry");
    assert_eq!(first.into_inner().skill, retry.into_inner().skill);

    // The key is the caller's own: another user's same key creates anew
    // (and here collides on the slug, proving it really tried).
    let other = app
        .registry()
        .create_skill(as_user("grace", request))
        .await
        .expect_err("slug");
    assert_eq!(reason(&other), "SLUG_TAKEN");

    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        count: i64,
    }
    let rows: Count = diesel::sql_query("SELECT count(*) AS count FROM skills")
        .load(&mut app.db().await)
        .await
        .single()
        .expect("count");
    assert_eq!(rows.count, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn writes_need_a_user_and_say_which_header_to_send() {
    let app = TestApp::start().await;
    let status = app
        .registry()
        .create_skill(create_request("no-user"))
        .await
        .expect_err("no user");
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(reason(&status), "USER_REQUIRED");
    assert!(
        status.message().contains("x-user-id"),
        "{}",
        status.message()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn reading_a_missing_or_malformed_skill() {
    let app = TestApp::start().await;
    let id = uuid::Uuid::now_v7().to_string();
    let missing = get_by(&app, Selector::Id(id.clone()))
        .await
        .expect_err("missing");
    assert_eq!(missing.code(), Code::NotFound);
    // A client tells what is missing without reading the message.
    assert_eq!(reason(&missing), "SKILL_NOT_FOUND");
    let details = missing.get_error_details();
    let info = details.error_info().expect("ErrorInfo");
    assert_eq!(
        (
            info.metadata["resource"].as_str(),
            info.metadata["id"].as_str()
        ),
        ("skill", id.as_str())
    );
    let resource = details.resource_info().expect("ResourceInfo");
    assert_eq!(
        (
            resource.resource_type.as_str(),
            resource.resource_name.as_str()
        ),
        ("atelier.registry.v1.Skill", id.as_str())
    );
    let missing_slug = get_by(&app, Selector::Slug("no-such-skill".to_owned()))
        .await
        .expect_err("missing");
    assert_eq!(missing_slug.code(), Code::NotFound);
    assert_eq!(
        missing_slug
            .get_error_details()
            .resource_info()
            .map(|r| r.resource_name.clone()),
        Some("no-such-skill".to_owned())
    );
    let malformed = get_by(&app, Selector::Id("42".to_owned()))
        .await
        .expect_err("malformed");
    assert_eq!(malformed.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&malformed), ["id"]);
    let none = app
        .registry()
        .get_skill(as_user("reader", GetSkillRequest { selector: None }))
        .await
        .expect_err("no selector");
    assert_eq!(none.code(), Code::InvalidArgument);
}

#[tokio::test(flavor = "multi_thread")]
async fn update_changes_only_the_masked_fields_and_moves_the_etag() {
    let app = TestApp::start().await;
    let skill = create(&app, "ada", "code-review").await;
    let changed = Skill {
        name: "Careful code review".to_owned(),
        description: "ignored: not in the mask".to_owned(),
        hours_saved: 3,
        ..skill.clone()
    };
    let updated = app
        .registry()
        .update_skill(as_user(
            "ada",
            UpdateSkillRequest {
                skill: Some(changed),
                update_mask: mask(&["name", "hours_saved"]),
            },
        ))
        .await
        .expect("update")
        .into_inner()
        .skill
        .expect("skill");
    assert_eq!(updated.name, "Careful code review");
    assert_eq!(updated.hours_saved, 3);
    assert_eq!(updated.description, skill.description);
    assert_ne!(updated.etag, skill.etag);
    assert_eq!(
        get_by(&app, Selector::Id(skill.id.clone()))
            .await
            .expect("get"),
        updated
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_star_mask_replaces_every_updatable_field_and_repeated_paths_count_once() {
    let app = TestApp::start().await;
    let skill = create(&app, "ada", "star-mask").await;
    let replacement = Skill {
        name: "Replaced".to_owned(),
        description: "Every field at once".to_owned(),
        category: SkillCategory::Agent.into(),
        hours_saved: 7,
        ..skill.clone()
    };
    let update = |paths: &[&str], skill: Skill| UpdateSkillRequest {
        skill: Some(skill),
        update_mask: mask(paths),
    };
    let replaced = app
        .registry()
        .update_skill(as_user("ada", update(&["*"], replacement.clone())))
        .await
        .expect("`*`")
        .into_inner()
        .skill
        .expect("skill");
    assert_eq!(
        (
            replaced.name.as_str(),
            replaced.description.as_str(),
            replaced.category,
            replaced.hours_saved
        ),
        (
            "Replaced",
            "Every field at once",
            SkillCategory::Agent as i32,
            7
        )
    );
    let twice = app
        .registry()
        .update_skill(as_user(
            "ada",
            update(
                &["name", "name"],
                Skill {
                    name: "Named twice".to_owned(),
                    ..replaced.clone()
                },
            ),
        ))
        .await
        .expect("a repeated path counts once");
    assert_eq!(twice.into_inner().skill.expect("skill").name, "Named twice");
    for bad in [&["*", "name"][..], &[][..]] {
        let error = app
            .registry()
            .update_skill(as_user("ada", update(bad, replaced.clone())))
            .await
            .expect_err("refused");
        assert_eq!(violated_fields(&error), ["update_mask"], "{bad:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stale_etag_is_failed_precondition() {
    let app = TestApp::start().await;
    let skill = create(&app, "ada", "code-review").await;
    let rename = |name: &str, etag: &str| UpdateSkillRequest {
        skill: Some(Skill {
            name: name.to_owned(),
            etag: etag.to_owned(),
            ..skill.clone()
        }),
        update_mask: mask(&["name"]),
    };
    app.registry()
        .update_skill(as_user("ada", rename("First", &skill.etag)))
        .await
        .expect("fresh etag");
    let stale = app
        .registry()
        .update_skill(as_user("ada", rename("Second", &skill.etag)))
        .await
        .expect_err("stale etag");
    assert_eq!(stale.code(), Code::FailedPrecondition);
    assert_eq!(reason(&stale), "ETAG_MISMATCH");
    let current = get_by(&app, Selector::Id(skill.id.clone()))
        .await
        .expect("get");
    assert_eq!(current.name, "First");
}

#[tokio::test(flavor = "multi_thread")]
async fn only_the_author_may_update_or_delete() {
    let app = TestApp::start().await;
    let skill = create(&app, "ada", "code-review").await;
    let update = app
        .registry()
        .update_skill(as_user(
            "mallory",
            UpdateSkillRequest {
                skill: Some(Skill {
                    name: "Mine now".to_owned(),
                    ..skill.clone()
                }),
                update_mask: mask(&["name"]),
            },
        ))
        .await
        .expect_err("not the author");
    assert_eq!(update.code(), Code::PermissionDenied);
    assert_eq!(reason(&update), "NOT_AUTHOR");
    let delete = app
        .registry()
        .delete_skill(as_user(
            "mallory",
            DeleteSkillRequest {
                id: skill.id.clone(),
                etag: String::new(),
            },
        ))
        .await
        .expect_err("not the author");
    assert_eq!(delete.code(), Code::PermissionDenied);
    assert_eq!(
        get_by(&app, Selector::Id(skill.id))
            .await
            .expect("still there")
            .name,
        "Code review"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn update_refuses_unknown_immutable_and_empty_masks() {
    let app = TestApp::start().await;
    let skill = create(&app, "ada", "code-review").await;
    for paths in [&["nickname"][..], &["slug"], &["total_uses"], &[]] {
        let status = app
            .registry()
            .update_skill(as_user(
                "ada",
                UpdateSkillRequest {
                    skill: Some(skill.clone()),
                    update_mask: mask(paths),
                },
            ))
            .await
            .expect_err("bad mask");
        assert_eq!(status.code(), Code::InvalidArgument, "{paths:?}");
        assert_eq!(violated_fields(&status), ["update_mask"], "{paths:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_skill_removes_its_rows_and_enqueues_its_content_for_deletion() {
    let app = TestApp::start().await;
    let skill = create(&app, "ada", "code-review").await;
    let mut db = app.db().await;
    // Versions, a rating and a use, written directly: this test is about
    // what deletion does to them.
    for (version, key) in [(1, "content/a"), (2, "content/b"), (3, "content/a")] {
        diesel::sql_query(
            "INSERT INTO skill_versions (id, skill_id, version, object_key, sha256, content_type, \
             size_bytes, name, description, created_by) \
             VALUES (gen_random_uuid(), $1::uuid, $2, $3, repeat('a', 64), 'text/markdown', 1, 'n', 'd', 'ada')",
        )
        .bind::<Text, _>(&skill.id)
        .bind::<diesel::sql_types::Integer, _>(version)
        .bind::<Text, _>(key)
        .execute(&mut db)
        .await
        .expect("version");
    }
    diesel::sql_query(
        "INSERT INTO ratings (skill_id, user_id, stars) VALUES ($1::uuid, 'grace', 5)",
    )
    .bind::<Text, _>(&skill.id)
    .execute(&mut db)
    .await
    .expect("rating");
    diesel::sql_query("INSERT INTO usage_events (id, skill_id, user_id) VALUES (gen_random_uuid(), $1::uuid, 'grace')")
        .bind::<Text, _>(&skill.id)
        .execute(&mut db)
        .await
        .expect("usage");

    app.registry()
        .delete_skill(as_user(
            "ada",
            DeleteSkillRequest {
                id: skill.id.clone(),
                etag: skill.etag.clone(),
            },
        ))
        .await
        .expect("delete");

    let gone = get_by(&app, Selector::Id(skill.id.clone()))
        .await
        .expect_err("gone");
    assert_eq!(gone.code(), Code::NotFound);
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        count: i64,
    }
    for table in ["skill_versions", "ratings", "usage_events"] {
        let rows: Count = diesel::sql_query(format!("SELECT count(*) AS count FROM {table}"))
            .load(&mut db)
            .await
            .single()
            .expect("count");
        assert_eq!(rows.count, 0, "{table}");
    }
    #[derive(diesel::QueryableByName)]
    struct Key {
        #[diesel(sql_type = Text)]
        key: String,
    }
    let mut keys: Vec<String> = diesel::sql_query(
        "SELECT payload->>'object_key' AS key FROM outbox WHERE kind = 'content.unreferenced' AND aggregate_id = $1::uuid",
    )
    .bind::<Text, _>(&skill.id)
    .load::<Key>(&mut db)
    .await
    .expect("events")
    .into_iter()
    .map(|k| k.key)
    .collect();
    keys.sort();
    assert_eq!(
        keys,
        ["content/a", "content/b"],
        "one event per distinct object"
    );
}
