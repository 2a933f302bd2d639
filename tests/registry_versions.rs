//! SkillRegistry: versions — numbering, content addressing, hashing on the
//! way in and out, front matter, limits, publishing.

use atelier::config::ContentLimits;
use atelier::proto::registry::upload_skill_version_request::Payload;
use atelier::proto::registry::{
    CreateSkillRequest, CreateSkillVersionRequest, GetSkillVersionRequest,
    ListSkillVersionsRequest, PublishSkillVersionRequest, ReadSkillVersionContentRequest, Skill,
    SkillCategory, SkillVersion, UploadSkillVersionHeader, UploadSkillVersionRequest,
    VerificationState,
};
use diesel::sql_types::Text;
use diesel_async::RunQueryDsl;
use sha2::{Digest, Sha256};
use tokio_stream::StreamExt as _;
use tonic::Code;

use crate::common::{
    TestApp, TestAppOptions, as_user, count, read_content, reason, violated_fields,
};

const AUTHOR: &str = "ada";

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn create_skill(app: &TestApp, slug: &str) -> Skill {
    app.registry()
        .create_skill(as_user(
            AUTHOR,
            CreateSkillRequest {
                slug: slug.to_owned(),
                name: "Skill name".to_owned(),
                description: "Skill description".to_owned(),
                category: SkillCategory::Prompt.into(),
                hours_saved: None,
                request_id: String::new(),
            },
        ))
        .await
        .expect("create skill")
        .into_inner()
        .skill
        .expect("skill")
}

fn inline(skill: &Skill, content: &[u8]) -> CreateSkillVersionRequest {
    CreateSkillVersionRequest {
        request_id: String::new(),
        skill_id: skill.id.clone(),
        content: content.to_vec(),
        content_type: "text/markdown".to_owned(),
        name: String::new(),
        description: String::new(),
        expected_sha256: String::new(),
        publish: false,
    }
}

async fn add_version(
    app: &TestApp,
    request: CreateSkillVersionRequest,
) -> Result<(SkillVersion, Skill), tonic::Status> {
    app.registry()
        .create_skill_version(as_user(AUTHOR, request))
        .await
        .map(|r| r.into_inner())
        .map(|r| (r.version.expect("version"), r.skill.expect("skill")))
}

async fn upload(
    app: &TestApp,
    skill: &Skill,
    content: &[u8],
    chunk: usize,
) -> Result<SkillVersion, tonic::Status> {
    let mut messages = vec![UploadSkillVersionRequest {
        payload: Some(Payload::Header(UploadSkillVersionHeader {
            request_id: String::new(),
            skill_id: skill.id.clone(),
            content_type: "application/octet-stream".to_owned(),
            name: String::new(),
            description: String::new(),
            expected_sha256: sha256_hex(content),
            publish: false,
        })),
    }];
    messages.extend(
        content
            .chunks(chunk)
            .map(|piece| UploadSkillVersionRequest {
                payload: Some(Payload::Chunk(piece.to_vec())),
            }),
    );
    app.registry()
        .upload_skill_version(as_user(AUTHOR, tokio_stream::iter(messages)))
        .await
        .map(|r| r.into_inner().version.expect("version"))
}

fn skill_objects(app: &TestApp) -> Vec<String> {
    app.stored_objects()
        .into_iter()
        .filter(|k| k.starts_with("skills/"))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_version_is_numbered_hashed_stored_and_becomes_the_draft() {
    let app = TestApp::start().await;
    let skill = create_skill(&app, "versioned").await;
    let content = b"# Review\nLook for bugs.\n";
    let (version, updated) = add_version(&app, inline(&skill, content))
        .await
        .expect("v1");
    assert_eq!(version.version, 1);
    assert_eq!(version.sha256, sha256_hex(content));
    assert_eq!(version.size_bytes, content.len() as i64);
    assert_eq!(
        (version.name.as_str(), version.created_by.as_str()),
        ("Skill name", AUTHOR)
    );
    assert_eq!(version.verification_state(), VerificationState::Pending);
    assert_eq!(
        (updated.draft_version, updated.published_version),
        (Some(1), None)
    );
    assert_ne!(updated.etag, skill.etag);

    let (second, updated) = add_version(
        &app,
        CreateSkillVersionRequest {
            publish: true,
            ..inline(&skill, b"# Review v2\n")
        },
    )
    .await
    .expect("v2");
    assert_eq!(second.version, 2);
    assert_eq!(
        (updated.draft_version, updated.published_version),
        (None, Some(2))
    );
    assert_eq!(read_content(&app, &skill, 1).await.expect("read"), content);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS count FROM outbox WHERE kind = 'content.verify'"
        )
        .await,
        2,
        "every new version asks for verification"
    );
    let got = app
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
    assert_eq!(got, version);
}

#[tokio::test(flavor = "multi_thread")]
async fn identical_content_is_stored_once() {
    let app = TestApp::start().await;
    let one = create_skill(&app, "one").await;
    let two = create_skill(&app, "two").await;
    add_version(&app, inline(&one, b"same bytes"))
        .await
        .expect("v1");
    add_version(&app, inline(&one, b"same bytes"))
        .await
        .expect("v2");
    add_version(&app, inline(&two, b"same bytes"))
        .await
        .expect("other skill");
    assert_eq!(skill_objects(&app).len(), 1, "{:?}", app.stored_objects());
}

#[tokio::test(flavor = "multi_thread")]
async fn twenty_concurrent_creates_give_versions_one_to_twenty() {
    let app = TestApp::start().await;
    let skill = create_skill(&app, "busy").await;
    let creates = (0..20).map(|n| {
        let mut client = app.registry();
        let request = inline(&skill, format!("content {n}").as_bytes());
        tokio::spawn(async move { client.create_skill_version(as_user(AUTHOR, request)).await })
    });
    let mut numbers = Vec::new();
    for create in creates.collect::<Vec<_>>() {
        let response = create.await.expect("task").expect("create");
        numbers.push(response.into_inner().version.expect("version").version);
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=20).collect::<Vec<u32>>());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_twenty_mib_upload_round_trips_with_the_same_sha256() {
    let app = TestApp::start().await;
    let skill = create_skill(&app, "large").await;
    let content: Vec<u8> = (0..20 * 1024 * 1024_u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let version = upload(&app, &skill, &content, 1024 * 1024)
        .await
        .expect("upload");
    assert_eq!(version.sha256, sha256_hex(&content));
    assert_eq!(version.size_bytes, content.len() as i64);
    let read = read_content(&app, &skill, version.version)
        .await
        .expect("read");
    assert_eq!(sha256_hex(&read), version.sha256);
    assert!(
        app.stored_objects()
            .iter()
            .all(|key| !key.starts_with("uploads/")),
        "the staging upload is gone: {:?}",
        app.stored_objects()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flipped_byte_in_the_stored_object_ends_the_read_with_data_loss() {
    let app = TestApp::start().await;
    let skill = create_skill(&app, "corrupted").await;
    let content = vec![b'x'; 200 * 1024];
    add_version(&app, inline(&skill, &content))
        .await
        .expect("v1");
    let [key] = skill_objects(&app).try_into().expect("one object");
    let file = app.object_file(&key);
    let mut bytes = std::fs::read(&file).expect("read object");
    bytes[150_000] ^= 0x01;
    std::fs::write(&file, bytes).expect("corrupt object");

    let status = read_content(&app, &skill, 1).await.expect_err("corrupted");
    assert_eq!(status.code(), Code::DataLoss);
    assert_eq!(reason(&status), "CONTENT_CORRUPTED");

    std::fs::remove_file(&file).expect("delete object");
    let missing = read_content(&app, &skill, 1).await.expect_err("missing");
    assert_eq!(missing.code(), Code::DataLoss);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_expected_sha256_refuses_the_version_and_leaves_nothing() {
    let app = TestApp::start().await;
    let skill = create_skill(&app, "checked").await;
    let inline_status = add_version(
        &app,
        CreateSkillVersionRequest {
            expected_sha256: sha256_hex(b"something else"),
            ..inline(&skill, b"the content")
        },
    )
    .await
    .expect_err("mismatch");
    assert_eq!(inline_status.code(), Code::InvalidArgument);
    assert_eq!(reason(&inline_status), "SHA256_MISMATCH");
    assert_eq!(violated_fields(&inline_status), ["expected_sha256"]);

    let mut messages = vec![UploadSkillVersionRequest {
        payload: Some(Payload::Header(UploadSkillVersionHeader {
            skill_id: skill.id.clone(),
            content_type: "text/plain".to_owned(),
            expected_sha256: sha256_hex(b"something else"),
            ..UploadSkillVersionHeader::default()
        })),
    }];
    messages.push(UploadSkillVersionRequest {
        payload: Some(Payload::Chunk(b"the content".to_vec())),
    });
    let streamed = app
        .registry()
        .upload_skill_version(as_user(AUTHOR, tokio_stream::iter(messages)))
        .await
        .expect_err("mismatch");
    assert_eq!(reason(&streamed), "SHA256_MISMATCH");
    assert!(
        app.stored_objects().is_empty(),
        "{:?}",
        app.stored_objects()
    );
    assert_eq!(
        count(&app, "SELECT count(*) AS count FROM skill_versions").await,
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_transaction_that_fails_after_the_upload_leaves_no_object_behind() {
    let app = TestApp::start().await;
    let skill = create_skill(&app, "doomed").await;
    // Make the version insert fail after the content was placed.
    let mut db = app.db().await;
    for statement in [
        "CREATE FUNCTION refuse_versions() RETURNS trigger LANGUAGE plpgsql AS \
         $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$",
        "CREATE TRIGGER refuse_versions BEFORE INSERT ON skill_versions \
         FOR EACH ROW EXECUTE FUNCTION refuse_versions()",
    ] {
        diesel::sql_query(statement)
            .execute(&mut db)
            .await
            .expect("install failing trigger");
    }

    add_version(&app, inline(&skill, b"inline content"))
        .await
        .expect_err("insert fails");
    upload(&app, &skill, &[7_u8; 300_000], 64 * 1024)
        .await
        .expect_err("insert fails");
    assert!(
        app.stored_objects().is_empty(),
        "{:?}",
        app.stored_objects()
    );
    assert_eq!(count(&app, "SELECT count(*) AS count FROM outbox").await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn content_over_the_limits_is_resource_exhausted() {
    let app = TestApp::start_with(TestAppOptions {
        limits: ContentLimits {
            inline_max: 1000,
            upload_max: 100_000,
        },
        ..TestAppOptions::default()
    })
    .await;
    let skill = create_skill(&app, "limited").await;
    let inline_status = add_version(&app, inline(&skill, &[1; 1001]))
        .await
        .expect_err("too big");
    assert_eq!(inline_status.code(), Code::ResourceExhausted);
    assert_eq!(reason(&inline_status), "CONTENT_TOO_LARGE");
    let streamed = upload(&app, &skill, &[1; 300_000], 10_000)
        .await
        .expect_err("too big");
    assert_eq!(streamed.code(), Code::ResourceExhausted);
    assert!(
        app.stored_objects().is_empty(),
        "{:?}",
        app.stored_objects()
    );
    upload(&app, &skill, &[1; 100_000], 10_000)
        .await
        .expect("at the limit");
}

#[tokio::test(flavor = "multi_thread")]
async fn skill_md_front_matter_fills_name_and_description_and_becomes_metadata() {
    let app = TestApp::start().await;
    let skill = create_skill(&app, "pdf-tools").await;
    let content = b"---\nname: PDF tools\ndescription: Fill and merge PDF forms\nlicense: Apache-2.0\nallowed-tools: [bash, python]\n---\n# PDF tools\n";
    let (version, _) = add_version(&app, inline(&skill, content))
        .await
        .expect("v1");
    assert_eq!(version.name, "PDF tools");
    assert_eq!(version.description, "Fill and merge PDF forms");
    let metadata = version.metadata.expect("metadata");
    let mut keys: Vec<&String> = metadata.fields.keys().collect();
    keys.sort();
    assert_eq!(keys, ["allowed-tools", "license"]);

    // The request's own name wins over the front matter's.
    let (named, _) = add_version(
        &app,
        CreateSkillVersionRequest {
            name: "Explicit".to_owned(),
            ..inline(&skill, content)
        },
    )
    .await
    .expect("v2");
    assert_eq!(
        (named.name.as_str(), named.description.as_str()),
        ("Explicit", "Fill and merge PDF forms")
    );

    let malformed = add_version(&app, inline(&skill, b"---\nname: [broken\n---\nbody"))
        .await
        .expect_err("bad");
    assert_eq!(malformed.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&malformed), ["content"]);
    assert!(
        malformed.message().contains("line"),
        "{}",
        malformed.message()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn publishing_rolls_back_clears_the_draft_and_checks_author_etag_and_verification() {
    let app = TestApp::start().await;
    let skill = create_skill(&app, "published").await;
    add_version(&app, inline(&skill, b"one")).await.expect("v1");
    let (_, skill) = add_version(&app, inline(&skill, b"two")).await.expect("v2");
    let publish = |version: u32, etag: &str| PublishSkillVersionRequest {
        skill_id: skill.id.clone(),
        version,
        etag: etag.to_owned(),
    };
    let published = app
        .registry()
        .publish_skill_version(as_user(AUTHOR, publish(2, &skill.etag)))
        .await
        .expect("publish the draft")
        .into_inner()
        .skill
        .expect("skill");
    assert_eq!(
        (published.published_version, published.draft_version),
        (Some(2), None)
    );
    let rolled_back = app
        .registry()
        .publish_skill_version(as_user(AUTHOR, publish(1, "")))
        .await
        .expect("rollback")
        .into_inner()
        .skill
        .expect("skill");
    assert_eq!(rolled_back.published_version, Some(1));

    let stale = app
        .registry()
        .publish_skill_version(as_user(AUTHOR, publish(2, &skill.etag)))
        .await
        .expect_err("stale");
    assert_eq!(reason(&stale), "ETAG_MISMATCH");
    let stranger = app
        .registry()
        .publish_skill_version(as_user("mallory", publish(2, "")))
        .await
        .expect_err("not the author");
    assert_eq!(stranger.code(), Code::PermissionDenied);
    let missing = app
        .registry()
        .publish_skill_version(as_user(AUTHOR, publish(9, "")))
        .await
        .expect_err("no such version");
    assert_eq!(missing.code(), Code::NotFound);

    diesel::sql_query(
        "INSERT INTO skill_version_verifications (version_id, state, found_sha256) \
         SELECT id, 'mismatch', repeat('b', 64) FROM skill_versions WHERE skill_id = $1::uuid AND version = 2",
    )
    .bind::<Text, _>(&skill.id)
    .execute(&mut app.db().await)
    .await
    .expect("record a failed verification");
    let refused = app
        .registry()
        .publish_skill_version(as_user(AUTHOR, publish(2, "")))
        .await
        .expect_err("failed verification");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(reason(&refused), "CONTENT_UNVERIFIED");
    let version = app
        .registry()
        .get_skill_version(as_user(
            "reader",
            GetSkillVersionRequest {
                skill_id: skill.id.clone(),
                version: 2,
            },
        ))
        .await
        .expect("get")
        .into_inner()
        .version
        .expect("version");
    assert_eq!(version.verification_state(), VerificationState::Mismatch);
    assert_eq!(version.found_sha256, "b".repeat(64));
}

#[tokio::test(flavor = "multi_thread")]
async fn versions_list_newest_first_in_pages() {
    let app = TestApp::start().await;
    let skill = create_skill(&app, "many").await;
    for n in 0..5 {
        add_version(&app, inline(&skill, format!("v{n}").as_bytes()))
            .await
            .expect("version");
    }
    let mut numbers = Vec::new();
    let mut token = String::new();
    loop {
        let page = app
            .registry()
            .list_skill_versions(as_user(
                "reader",
                ListSkillVersionsRequest {
                    skill_id: skill.id.clone(),
                    page_size: 2,
                    page_token: token.clone(),
                },
            ))
            .await
            .expect("page")
            .into_inner();
        numbers.extend(page.versions.iter().map(|v| v.version));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(numbers, [5, 4, 3, 2, 1]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upload_must_start_with_its_header_and_only_the_author_may_add_versions() {
    let app = TestApp::start().await;
    let skill = create_skill(&app, "guarded").await;
    let chunk_first = vec![UploadSkillVersionRequest {
        payload: Some(Payload::Chunk(b"data".to_vec())),
    }];
    let status = app
        .registry()
        .upload_skill_version(as_user(AUTHOR, tokio_stream::iter(chunk_first)))
        .await
        .expect_err("no header");
    assert_eq!(violated_fields(&status), ["header"]);

    let header = UploadSkillVersionRequest {
        payload: Some(Payload::Header(UploadSkillVersionHeader {
            skill_id: skill.id.clone(),
            content_type: "text/plain".to_owned(),
            ..UploadSkillVersionHeader::default()
        })),
    };
    let two_headers = vec![
        header.clone(),
        UploadSkillVersionRequest {
            payload: Some(Payload::Chunk(vec![1; 10_000])),
        },
        header,
    ];
    let status = app
        .registry()
        .upload_skill_version(as_user(AUTHOR, tokio_stream::iter(two_headers)))
        .await
        .expect_err("a second header");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&status), ["header"]);

    let stranger = app
        .registry()
        .create_skill_version(as_user("mallory", inline(&skill, b"mine")))
        .await
        .expect_err("not the author");
    assert_eq!(stranger.code(), Code::PermissionDenied);
    let no_type = add_version(
        &app,
        CreateSkillVersionRequest {
            content_type: "not a type".to_owned(),
            ..inline(&skill, b"x")
        },
    )
    .await
    .expect_err("bad type");
    assert_eq!(violated_fields(&no_type), ["content_type"]);
    assert!(app.stored_objects().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_in_flight_finishes_after_shutdown_begins() {
    let app = TestApp::start().await;
    let skill = create_skill(&app, "long-read").await;
    let content: Vec<u8> = (0..8 * 1024 * 1024_u32).map(|i| (i % 251) as u8).collect();
    upload(&app, &skill, &content, 1024 * 1024)
        .await
        .expect("upload");

    let mut stream = app
        .registry()
        .read_skill_version_content(as_user(
            "reader",
            ReadSkillVersionContentRequest {
                skill_id: skill.id.clone(),
                version: 1,
            },
        ))
        .await
        .expect("read starts")
        .into_inner();
    let mut read = stream.next().await.expect("first chunk").expect("ok").chunk;
    app.begin_shutdown();
    while let Some(message) = stream.next().await {
        read.extend_from_slice(&message.expect("the stream completes").chunk);
    }
    assert_eq!(sha256_hex(&read), sha256_hex(&content));
    app.stop().await.expect("the server stops cleanly");
}
