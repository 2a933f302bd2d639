//! An OK means committed: every write RPC is made to fail at COMMIT (a
//! deferred constraint trigger the test installs on every table) and must
//! then answer with an error — never OK for a row that does not exist —
//! and leave the database and the object store exactly as they were.
//!
//! Before the fix, RecordUsage's one-statement fast path and CreateSkill's
//! `INSERT … RETURNING` answered OK here: diesel-async's `get_result`
//! returned at the first row, before the autocommit's COMMIT failed.

use atelier::proto::registry::{
    BatchRecordUsageRequest, CreateSkillRequest, CreateSkillVersionRequest, DeleteSkillRequest,
    PublishSkillVersionRequest, RateSkillRequest, Skill, SkillCategory, UpdateSkillRequest,
    UploadSkillVersionHeader, UploadSkillVersionRequest, upload_skill_version_request::Payload,
};
use atelier::proto::workshop::{
    AddMemberRequest, BuildPackFormat, CreateBuildPackRequest, CreateWorkshopRequest,
    DeleteWorkshopRequest, EndSessionRequest, RemoveMemberRequest, ShareWorkshopRequest,
    StepStatus, UpdateMemberRequest, UpdateWorkshopRequest, UpdateWorkshopStepRequest,
    WorkshopInfo,
};
use diesel::sql_types::Text;
use diesel_async::RunQueryDsl;

use crate::common::{TestApp, as_user, create_skill, use_of};

const OWNER: &str = "ada";

/// Every table of the test's schema, with a digest of its whole content.
async fn database_digest(app: &TestApp) -> Vec<(String, String)> {
    #[derive(diesel::QueryableByName)]
    struct Digest {
        #[diesel(sql_type = Text)]
        name: String,
        #[diesel(sql_type = Text)]
        digest: String,
    }
    let mut conn = app.db().await;
    // One query per table, built in SQL from the catalog (table names are
    // PostgreSQL's own, quoted with format's %I).
    diesel::sql_query(
        "CREATE OR REPLACE FUNCTION pg_temp.digest_all() RETURNS TABLE (name text, digest text) \
         LANGUAGE plpgsql AS $$ DECLARE t text; d text; BEGIN \
           FOR t IN SELECT table_name FROM information_schema.tables \
                    WHERE table_schema = current_schema() ORDER BY table_name LOOP \
             EXECUTE format('SELECT count(*) || '':'' || coalesce(md5(string_agg(x::text, '','' ORDER BY x::text)), '''') FROM %I x', t) INTO d; \
             name := t; digest := d; RETURN NEXT; \
           END LOOP; END $$",
    )
    .execute(&mut conn)
    .await
    .expect("digest function");
    let rows: Vec<Digest> = diesel::sql_query("SELECT name, digest FROM pg_temp.digest_all()")
        .load(&mut conn)
        .await
        .expect("digest");
    rows.into_iter().map(|r| (r.name, r.digest)).collect()
}

/// Makes every later COMMIT that changed a row of any table fail.
async fn refuse_every_commit(app: &TestApp) {
    let mut conn = app.db().await;
    diesel::sql_query(
        "CREATE FUNCTION refuse_commit() RETURNS trigger LANGUAGE plpgsql AS \
         $$ BEGIN RAISE EXCEPTION 'the test refuses this commit'; END $$",
    )
    .execute(&mut conn)
    .await
    .expect("trigger function");
    diesel::sql_query(
        "DO $$ DECLARE t text; BEGIN \
           FOR t IN SELECT table_name FROM information_schema.tables \
                    WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' LOOP \
             EXECUTE format('CREATE CONSTRAINT TRIGGER refuse_commit AFTER INSERT OR UPDATE OR DELETE ON %I \
                             DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_commit()', t); \
           END LOOP; END $$",
    )
    .execute(&mut conn)
    .await
    .expect("constraint triggers");
}

fn upload_request(skill: &Skill, content: &[u8]) -> Vec<UploadSkillVersionRequest> {
    vec![
        UploadSkillVersionRequest {
            payload: Some(Payload::Header(UploadSkillVersionHeader {
                request_id: String::new(),
                skill_id: skill.id.clone(),
                content_type: "text/plain".to_owned(),
                name: String::new(),
                description: String::new(),
                expected_sha256: String::new(),
                publish: false,
            })),
        },
        UploadSkillVersionRequest {
            payload: Some(Payload::Chunk(content.to_vec())),
        },
    ]
}

async fn workshop_with_a_member(app: &TestApp) -> WorkshopInfo {
    let workshop = app
        .workshop()
        .create_workshop(as_user(
            OWNER,
            CreateWorkshopRequest {
                request_id: String::new(),
                title: "Durable".to_owned(),
                original_idea: "Nothing lost".to_owned(),
                org_id: String::new(),
                template_id: String::new(),
            },
        ))
        .await
        .expect("create workshop")
        .into_inner()
        .workshop
        .expect("workshop");
    app.workshop()
        .add_member(as_user(
            OWNER,
            AddMemberRequest {
                request_id: String::new(),
                workshop_id: workshop.id.clone(),
                user_id: "bob".to_owned(),
                role: "editor".to_owned(),
            },
        ))
        .await
        .expect("add member");
    workshop
}

#[tokio::test(flavor = "multi_thread")]
async fn no_write_rpc_answers_ok_when_its_commit_fails() {
    let app = TestApp::start().await;
    let skill = create_skill(&app, OWNER, "durable-skill").await;
    let version = app
        .registry()
        .create_skill_version(as_user(
            OWNER,
            CreateSkillVersionRequest {
                request_id: String::new(),
                skill_id: skill.id.clone(),
                content: b"# v1\n".to_vec(),
                content_type: "text/markdown".to_owned(),
                name: String::new(),
                description: String::new(),
                expected_sha256: String::new(),
                publish: false,
            },
        ))
        .await
        .expect("version 1")
        .into_inner();
    let skill = version.skill.expect("skill");
    app.drain_outbox(1).await; // verified, so it could be published
    let workshop = workshop_with_a_member(&app).await;
    let session = app
        .workshop()
        .update_workshop_step(as_user(
            OWNER,
            UpdateWorkshopStepRequest {
                etag: String::new(),
                workshop_id: workshop.id.clone(),
                step_id: "empathize".to_owned(),
                status: StepStatus::InProgress.into(),
                output: None,
                skip: false,
                confirm_skip: false,
            },
        ))
        .await
        .expect("step change")
        .into_inner()
        .session
        .expect("session");

    let objects_before = app.stored_objects();
    let digest_before = database_digest(&app).await;
    refuse_every_commit(&app).await;

    let registry = app.registry();
    let workshop_client = app.workshop();
    let mut answers: Vec<(&str, Result<(), tonic::Status>)> = Vec::new();
    macro_rules! call {
        ($name:expr, $call:expr) => {
            answers.push(($name, $call.await.map(|_| ())));
        };
    }
    call!(
        "CreateSkill",
        registry.clone().create_skill(as_user(
            OWNER,
            CreateSkillRequest {
                slug: "never-committed".to_owned(),
                name: "Never".to_owned(),
                description: "Committed".to_owned(),
                category: SkillCategory::Prompt.into(),
                hours_saved: None,
                request_id: String::new(),
            },
        ))
    );
    call!(
        "CreateSkill with a request id",
        registry.clone().create_skill(as_user(
            OWNER,
            CreateSkillRequest {
                slug: "never-committed-2".to_owned(),
                name: "Never".to_owned(),
                description: "Committed".to_owned(),
                category: SkillCategory::Prompt.into(),
                hours_saved: None,
                request_id: "req-1".to_owned(),
            },
        ))
    );
    let mut renamed = skill.clone();
    renamed.name = "Renamed".to_owned();
    call!(
        "UpdateSkill",
        registry.clone().update_skill(as_user(
            OWNER,
            UpdateSkillRequest {
                skill: Some(renamed),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["name".to_owned()],
                }),
            },
        ))
    );
    call!(
        "CreateSkillVersion",
        registry.clone().create_skill_version(as_user(
            OWNER,
            CreateSkillVersionRequest {
                request_id: String::new(),
                skill_id: skill.id.clone(),
                content: b"# v2, never committed\n".to_vec(),
                content_type: "text/markdown".to_owned(),
                name: String::new(),
                description: String::new(),
                expected_sha256: String::new(),
                publish: false,
            },
        ))
    );
    call!(
        "UploadSkillVersion",
        registry.clone().upload_skill_version(as_user(
            OWNER,
            tokio_stream::iter(upload_request(&skill, b"uploaded, never committed"))
        ))
    );
    call!(
        "PublishSkillVersion",
        registry.clone().publish_skill_version(as_user(
            OWNER,
            PublishSkillVersionRequest {
                skill_id: skill.id.clone(),
                version: 1,
                etag: String::new(),
            },
        ))
    );
    call!(
        "RateSkill",
        registry.clone().rate_skill(as_user(
            "rater",
            RateSkillRequest {
                request_id: String::new(),
                skill_id: skill.id.clone(),
                stars: 5,
                comment: String::new(),
                hours_saved_estimate: None,
            },
        ))
    );
    call!(
        "RecordUsage",
        registry
            .clone()
            .record_usage(as_user("user", use_of(&skill.id)))
    );
    let mut with_key = use_of(&skill.id);
    with_key.request_id = "usage-1".to_owned();
    call!(
        "RecordUsage with a request id",
        registry.clone().record_usage(as_user("user", with_key))
    );
    call!(
        "BatchRecordUsage",
        registry.clone().batch_record_usage(as_user(
            "user",
            BatchRecordUsageRequest {
                usages: vec![use_of(&skill.id), use_of(&skill.id)],
            },
        ))
    );
    call!(
        "DeleteSkill",
        registry.clone().delete_skill(as_user(
            OWNER,
            DeleteSkillRequest {
                id: skill.id.clone(),
                etag: String::new(),
            },
        ))
    );
    call!(
        "CreateWorkshop",
        workshop_client.clone().create_workshop(as_user(
            OWNER,
            CreateWorkshopRequest {
                request_id: String::new(),
                title: "Never".to_owned(),
                original_idea: String::new(),
                org_id: String::new(),
                template_id: String::new(),
            },
        ))
    );
    let mut retitled = workshop.clone();
    retitled.title = "Retitled".to_owned();
    call!(
        "UpdateWorkshop",
        workshop_client.clone().update_workshop(as_user(
            OWNER,
            UpdateWorkshopRequest {
                workshop: Some(retitled),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["title".to_owned()],
                }),
            },
        ))
    );
    call!(
        "ShareWorkshop",
        workshop_client.clone().share_workshop(as_user(
            OWNER,
            ShareWorkshopRequest {
                id: workshop.id.clone(),
                shared: true,
            },
        ))
    );
    call!(
        "AddMember",
        workshop_client.clone().add_member(as_user(
            OWNER,
            AddMemberRequest {
                request_id: String::new(),
                workshop_id: workshop.id.clone(),
                user_id: "carol".to_owned(),
                role: "viewer".to_owned(),
            },
        ))
    );
    call!(
        "UpdateMember",
        workshop_client.clone().update_member(as_user(
            OWNER,
            UpdateMemberRequest {
                etag: String::new(),
                workshop_id: workshop.id.clone(),
                user_id: "bob".to_owned(),
                role: "viewer".to_owned(),
            },
        ))
    );
    call!(
        "RemoveMember",
        workshop_client.clone().remove_member(as_user(
            OWNER,
            RemoveMemberRequest {
                etag: String::new(),
                workshop_id: workshop.id.clone(),
                user_id: "bob".to_owned(),
            },
        ))
    );
    call!(
        "UpdateWorkshopStep",
        workshop_client.clone().update_workshop_step(as_user(
            OWNER,
            UpdateWorkshopStepRequest {
                etag: String::new(),
                workshop_id: workshop.id.clone(),
                step_id: "define".to_owned(),
                status: StepStatus::Complete.into(),
                output: None,
                skip: false,
                confirm_skip: false,
            },
        ))
    );
    call!(
        "EndSession",
        workshop_client.clone().end_session(as_user(
            OWNER,
            EndSessionRequest {
                workshop_id: workshop.id.clone(),
                session_id: session.id.clone(),
            },
        ))
    );
    call!(
        "CreateBuildPack",
        workshop_client.clone().create_build_pack(as_user(
            OWNER,
            CreateBuildPackRequest {
                request_id: String::new(),
                workshop_id: workshop.id.clone(),
                format: BuildPackFormat::Markdown.into(),
            },
        ))
    );
    call!(
        "DeleteWorkshop",
        workshop_client.clone().delete_workshop(as_user(
            OWNER,
            DeleteWorkshopRequest {
                id: workshop.id.clone(),
                etag: String::new(),
            },
        ))
    );

    let acknowledged: Vec<&str> = answers
        .iter()
        .filter(|(_, answer)| answer.is_ok())
        .map(|(name, _)| *name)
        .collect();
    assert!(
        acknowledged.is_empty(),
        "answered OK although their commit failed: {acknowledged:?}"
    );
    assert_eq!(answers.len(), 21, "every write RPC was tried");
    assert_eq!(
        database_digest(&app).await,
        digest_before,
        "a failed commit changed the database"
    );
    assert_eq!(
        app.stored_objects(),
        objects_before,
        "a failed commit left an object behind"
    );
}
