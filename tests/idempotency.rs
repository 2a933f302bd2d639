//! A retried create creates once (AIP-155): CreateWorkshop,
//! CreateBuildPack, AddMember, AddWorkspaceMember, RateSkill,
//! CreateSkillVersion and UploadSkillVersion answer a retry carrying the
//! same `request_id` with what the first call created, concurrent retries
//! included; the same key with a different request is refused and changes
//! nothing; keys are the caller's own.

use atelier::proto::registry::upload_skill_version_request::Payload;
use atelier::proto::registry::{
    CreateSkillVersionRequest, RateSkillRequest, UploadSkillVersionHeader,
    UploadSkillVersionRequest,
};
use atelier::proto::signals::{AddWorkspaceMemberRequest, CreateWorkspaceRequest};
use atelier::proto::workshop::{
    AddMemberRequest, BuildPackFormat, CreateBuildPackRequest, CreateWorkshopRequest,
};
use tonic::Code;

use crate::common::{TestApp, as_user, count, create_skill, reason, violated_fields};

fn workshop_request(title: &str, request_id: &str) -> CreateWorkshopRequest {
    CreateWorkshopRequest {
        title: title.to_owned(),
        original_idea: "Retries must not duplicate".to_owned(),
        request_id: request_id.to_owned(),
        ..Default::default()
    }
}

fn version_request(skill_id: &str, content: &[u8], request_id: &str) -> CreateSkillVersionRequest {
    CreateSkillVersionRequest {
        skill_id: skill_id.to_owned(),
        content: content.to_vec(),
        content_type: "text/plain".to_owned(),
        request_id: request_id.to_owned(),
        ..Default::default()
    }
}

fn upload(skill_id: &str, content: &[u8], request_id: &str) -> Vec<UploadSkillVersionRequest> {
    vec![
        UploadSkillVersionRequest {
            payload: Some(Payload::Header(UploadSkillVersionHeader {
                skill_id: skill_id.to_owned(),
                content_type: "text/plain".to_owned(),
                request_id: request_id.to_owned(),
                ..Default::default()
            })),
        },
        UploadSkillVersionRequest {
            payload: Some(Payload::Chunk(content.to_vec())),
        },
    ]
}

fn refused_as_reused(status: &tonic::Status, field: &str) {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert_eq!(reason(status), "REQUEST_ID_REUSED", "{status:?}");
    assert_eq!(violated_fields(status), [field], "{status:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retried_workshop_build_pack_or_member_add_answers_with_the_first_result() {
    let app = TestApp::start().await;
    let mut workshop = app.workshop();
    let first = workshop
        .create_workshop(as_user("ada", workshop_request("Once", "w-1")))
        .await
        .expect("create")
        .into_inner()
        .workshop
        .expect("workshop");
    let again = workshop
        .create_workshop(as_user("ada", workshop_request("Once", "w-1")))
        .await
        .expect("retry")
        .into_inner()
        .workshop
        .expect("workshop");
    assert_eq!(again.id, first.id);
    // Keys are the caller's own: bob's w-1 is a workshop of his.
    let bobs = workshop
        .create_workshop(as_user("bob", workshop_request("Once", "w-1")))
        .await
        .expect("bob's create")
        .into_inner()
        .workshop
        .expect("workshop");
    assert_ne!(bobs.id, first.id);
    // Retries racing each other (nothing else serializes two creates of one
    // user): one workshop, the same answer to all.
    let racing = (0..8).map(|_| {
        let mut client = app.workshop();
        async move {
            client
                .create_workshop(as_user("ada", workshop_request("Raced", "w-2")))
                .await
        }
    });
    let ids: std::collections::BTreeSet<String> = futures_util::future::join_all(racing)
        .await
        .into_iter()
        .map(|answer| {
            answer
                .expect("racing create")
                .into_inner()
                .workshop
                .expect("w")
                .id
        })
        .collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(count(&app, "SELECT count(*) FROM workshops").await, 3);

    let add = |request_id: &str, role: &str| AddMemberRequest {
        workshop_id: first.id.clone(),
        user_id: "cy".to_owned(),
        role: role.to_owned(),
        request_id: request_id.to_owned(),
    };
    let member = workshop
        .add_member(as_user("ada", add("m-1", "editor")))
        .await
        .expect("add")
        .into_inner();
    // Without the key a second add is ALREADY_EXISTS; with it, the member.
    let retried = workshop
        .add_member(as_user("ada", add("m-1", "editor")))
        .await
        .expect("retried add")
        .into_inner();
    assert_eq!(retried, member);
    let status = workshop
        .add_member(as_user("ada", add("", "editor")))
        .await
        .expect_err("a second add without a key");
    assert_eq!(status.code(), Code::AlreadyExists);
    let status = workshop
        .add_member(as_user("ada", add("m-1", "viewer")))
        .await
        .expect_err("the key with another role");
    refused_as_reused(&status, "request_id");

    let pack = |request_id: &str, format: BuildPackFormat| CreateBuildPackRequest {
        workshop_id: first.id.clone(),
        format: format.into(),
        request_id: request_id.to_owned(),
    };
    let made = workshop
        .create_build_pack(as_user("ada", pack("p-1", BuildPackFormat::Markdown)))
        .await
        .expect("pack")
        .into_inner()
        .build_pack
        .expect("pack");
    let remade = workshop
        .create_build_pack(as_user("ada", pack("p-1", BuildPackFormat::Markdown)))
        .await
        .expect("retried pack")
        .into_inner()
        .build_pack
        .expect("pack");
    assert_eq!(remade.id, made.id);
    let status = workshop
        .create_build_pack(as_user("ada", pack("p-1", BuildPackFormat::Json)))
        .await
        .expect_err("the key with another format");
    refused_as_reused(&status, "request_id");
    assert_eq!(count(&app, "SELECT count(*) FROM build_packs").await, 1);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM outbox WHERE kind = 'build_pack.render'"
        )
        .await,
        1,
        "a retry enqueues no second rendering"
    );

    let workspace = app
        .signals()
        .create_workspace(as_user(
            "ada",
            CreateWorkspaceRequest {
                name: "Feedback".to_owned(),
            },
        ))
        .await
        .expect("workspace")
        .into_inner()
        .workspace
        .expect("workspace");
    let add_to_workspace = || AddWorkspaceMemberRequest {
        workspace_id: workspace.id.clone(),
        user_id: "cy".to_owned(),
        role: "editor".to_owned(),
        request_id: "wm-1".to_owned(),
    };
    let added = app
        .signals()
        .add_workspace_member(as_user("ada", add_to_workspace()))
        .await
        .expect("add")
        .into_inner();
    let readded = app
        .signals()
        .add_workspace_member(as_user("ada", add_to_workspace()))
        .await
        .expect("retried add")
        .into_inner();
    assert_eq!(readded, added);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retried_version_create_or_upload_adds_one_version_even_when_the_retries_race() {
    let app = TestApp::start().await;
    let skill = create_skill(&app, "ada", "retried-versions").await;

    // Eight copies of one request at once: one version, eight equal answers.
    let calls = (0..8).map(|_| {
        let mut registry = app.registry();
        let request = version_request(&skill.id, b"first content", "v-1");
        async move { registry.create_skill_version(as_user("ada", request)).await }
    });
    let answers = futures_util::future::join_all(calls).await;
    let numbers: Vec<u32> = answers
        .into_iter()
        .map(|answer| {
            answer
                .expect("create")
                .into_inner()
                .version
                .expect("v")
                .version
        })
        .collect();
    assert_eq!(numbers, [1; 8]);

    let status = app
        .registry()
        .create_skill_version(as_user(
            "ada",
            version_request(&skill.id, b"other content", "v-1"),
        ))
        .await
        .expect_err("the key with other content");
    refused_as_reused(&status, "request_id");

    let uploaded = app
        .registry()
        .upload_skill_version(as_user(
            "ada",
            tokio_stream::iter(upload(&skill.id, b"second content", "u-1")),
        ))
        .await
        .expect("upload")
        .into_inner()
        .version
        .expect("version");
    assert_eq!(uploaded.version, 2);
    let reuploaded = app
        .registry()
        .upload_skill_version(as_user(
            "ada",
            tokio_stream::iter(upload(&skill.id, b"second content", "u-1")),
        ))
        .await
        .expect("retried upload")
        .into_inner()
        .version
        .expect("version");
    assert_eq!(reuploaded, uploaded);
    let status = app
        .registry()
        .upload_skill_version(as_user(
            "ada",
            tokio_stream::iter(upload(&skill.id, b"changed content", "u-1")),
        ))
        .await
        .expect_err("the key with other content");
    refused_as_reused(&status, "header.request_id");

    let versions = format!(
        "SELECT count(*) FROM skill_versions WHERE skill_id = '{}'",
        skill.id
    );
    assert_eq!(count(&app, &versions).await, 2);
    // What a refused request staged or placed is gone: two objects, the two
    // versions' content.
    assert_eq!(
        app.stored_objects()
            .iter()
            .filter(|key| key.starts_with("skills/"))
            .count(),
        2,
        "{:?}",
        app.stored_objects()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retried_rating_changes_nothing_after_a_newer_one() {
    let app = TestApp::start().await;
    let skill = create_skill(&app, "ada", "retried-rating").await;
    let rate = |stars: i32, request_id: &str| RateSkillRequest {
        skill_id: skill.id.clone(),
        stars,
        request_id: request_id.to_owned(),
        ..Default::default()
    };
    let mut registry = app.registry();
    registry
        .rate_skill(as_user("bob", rate(2, "r-1")))
        .await
        .expect("rate");
    registry
        .rate_skill(as_user("bob", rate(5, "r-2")))
        .await
        .expect("rate again");
    // A late retry of the first rating must not undo the second.
    let retried = registry
        .rate_skill(as_user("bob", rate(2, "r-1")))
        .await
        .expect("retry")
        .into_inner()
        .rating
        .expect("rating");
    assert_eq!(retried.stars, 5);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM outbox WHERE kind = 'rating.changed'"
        )
        .await,
        2,
        "a retry enqueues no recount"
    );
    let status = registry
        .rate_skill(as_user("bob", rate(4, "r-1")))
        .await
        .expect_err("the key with other stars");
    refused_as_reused(&status, "request_id");
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_older_than_a_day_are_pruned_and_newer_ones_kept() {
    use diesel_async::RunQueryDsl as _;
    let app = TestApp::start().await;
    let mut workshop = app.workshop();
    for key in ["old", "new"] {
        workshop
            .create_workshop(as_user("ada", workshop_request(key, key)))
            .await
            .expect("create");
    }
    let mut conn = app.db().await;
    diesel::sql_query(
        "UPDATE request_ids SET created_at = now() - interval '25 hours' WHERE request_id = 'old'",
    )
    .execute(&mut conn)
    .await
    .expect("age a key");
    let pruned = atelier::idempotency::prune(&mut conn).await.expect("prune");
    assert_eq!(pruned, 1);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM request_ids WHERE request_id = 'new'"
        )
        .await,
        1
    );
    // The pruned key is free again: the same call creates a second workshop.
    workshop
        .create_workshop(as_user("ada", workshop_request("old", "old")))
        .await
        .expect("create again");
    assert_eq!(count(&app, "SELECT count(*) FROM workshops").await, 3);
}
