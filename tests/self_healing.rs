//! Stored content heals or tells: damage a read finds is recorded at once
//! and re-verified by the worker; the scrub finds damage nobody read and
//! sweeps away staged uploads and content no version references; a damaged
//! version cannot be published until its content is whole again.

use atelier::proto::admin::GetOutboxStatsRequest;
use atelier::proto::admin::outbox_client::OutboxClient;
use atelier::proto::registry::{
    CreateSkillVersionRequest, GetSkillVersionRequest, PublishSkillVersionRequest, Skill,
    SkillVersion, VerificationState,
};
use tonic::Code;

use crate::common::{TestApp, as_user, count, create_skill, read_content, reason};

const AUTHOR: &str = "ada";

async fn add_version(app: &TestApp, skill: &Skill, content: &[u8]) -> SkillVersion {
    app.registry()
        .create_skill_version(as_user(
            AUTHOR,
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
        .expect("create version")
        .into_inner()
        .version
        .expect("version")
}

async fn verification(app: &TestApp, skill: &Skill, version: u32) -> VerificationState {
    app.registry()
        .get_skill_version(as_user(
            "reader",
            GetSkillVersionRequest {
                skill_id: skill.id.clone(),
                version,
            },
        ))
        .await
        .expect("get version")
        .into_inner()
        .version
        .expect("version")
        .verification_state()
}

async fn publish(app: &TestApp, skill: &Skill, version: u32) -> Result<(), tonic::Status> {
    app.registry()
        .publish_skill_version(as_user(
            AUTHOR,
            PublishSkillVersionRequest {
                skill_id: skill.id.clone(),
                version,
                etag: String::new(),
            },
        ))
        .await
        .map(drop)
}

fn file_of(app: &TestApp, version: &SkillVersion) -> std::path::PathBuf {
    app.object_file(atelier::storage::skill_content_key(&version.sha256).as_ref())
}

const PENDING_VERIFICATIONS: &str =
    "SELECT count(*) AS count FROM outbox WHERE kind = 'content.verify'";

#[tokio::test(flavor = "multi_thread")]
async fn damage_found_by_a_read_is_recorded_at_once_and_blocks_publishing_until_healed() {
    let app = TestApp::start().await;
    let skill = create_skill(&app, AUTHOR, "read-damage").await;
    let content = b"line one\nline two\n".repeat(1000);
    let version = add_version(&app, &skill, &content).await;
    app.drain_outbox(1).await;
    assert_eq!(
        verification(&app, &skill, 1).await,
        VerificationState::Verified
    );

    let file = file_of(&app, &version);
    let mut damaged = content.clone();
    damaged[5] ^= 0x20;
    std::fs::write(&file, &damaged).expect("damage the object");

    let status = read_content(&app, &skill, 1).await.expect_err("damaged");
    assert_eq!(status.code(), Code::DataLoss);
    // Recorded before the reader heard of it, and a re-check is queued.
    assert_eq!(
        verification(&app, &skill, 1).await,
        VerificationState::Mismatch
    );
    assert_eq!(count(&app, PENDING_VERIFICATIONS).await, 1);
    // More readers of the same damage queue no more checks.
    for _ in 0..3 {
        assert!(read_content(&app, &skill, 1).await.is_err());
    }
    assert_eq!(count(&app, PENDING_VERIFICATIONS).await, 1);

    let refused = publish(&app, &skill, 1).await.expect_err("damaged");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(reason(&refused), "CONTENT_UNVERIFIED");

    // The worker's re-check confirms the damage.
    app.drain_outbox(1).await;
    assert_eq!(count(&app, PENDING_VERIFICATIONS).await, 0);
    assert_eq!(
        verification(&app, &skill, 1).await,
        VerificationState::Mismatch
    );

    // Restored (say, from a backup): the scrub sees it whole again.
    std::fs::write(&file, &content).expect("restore the object");
    app.scrub_pass(3600).await;
    assert_eq!(
        verification(&app, &skill, 1).await,
        VerificationState::Verified
    );
    publish(&app, &skill, 1)
        .await
        .expect("healed content publishes");

    // A vanished object is recorded as missing by the read that finds it.
    std::fs::remove_file(&file).expect("lose the object");
    assert_eq!(
        read_content(&app, &skill, 1)
            .await
            .expect_err("missing")
            .code(),
        Code::DataLoss
    );
    assert_eq!(
        verification(&app, &skill, 1).await,
        VerificationState::Missing
    );
    app.drain_outbox(1).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_scrub_finds_damage_nobody_read_and_sweeps_orphaned_objects() {
    let app = TestApp::start().await;
    let skill = create_skill(&app, AUTHOR, "scrubbed").await;
    let intact = add_version(&app, &skill, b"intact content").await;
    let flipped = add_version(&app, &skill, b"content that will rot").await;
    let lost = add_version(&app, &skill, b"content that will vanish").await;
    app.drain_outbox(1).await;

    std::fs::write(file_of(&app, &flipped), b"content that will rOt").expect("damage");
    std::fs::remove_file(file_of(&app, &lost)).expect("lose");
    // What a crash leaves: content placed for a version whose row never
    // committed, and a staged upload nobody finished.
    let orphan_sha = "ab".repeat(32);
    let orphan = app.object_file(atelier::storage::skill_content_key(&orphan_sha).as_ref());
    std::fs::create_dir_all(orphan.parent().expect("parent")).expect("dir");
    std::fs::write(&orphan, b"orphan").expect("orphan");
    let staged = app.object_file("uploads/0192a0a0-0000-7000-8000-000000000000");
    std::fs::create_dir_all(staged.parent().expect("parent")).expect("dir");
    std::fs::write(&staged, b"half an upload").expect("staged");

    // Younger than the staging TTL: checked but not swept.
    let first = app.scrub_pass(3600).await;
    assert_eq!(first.last_pass_versions, 3);
    assert_eq!(first.last_pass_damaged, 2);
    assert!(orphan.exists() && staged.exists());
    assert_eq!(
        verification(&app, &skill, intact.version).await,
        VerificationState::Verified
    );
    assert_eq!(
        verification(&app, &skill, flipped.version).await,
        VerificationState::Mismatch
    );
    assert_eq!(
        verification(&app, &skill, lost.version).await,
        VerificationState::Missing
    );
    for damaged in [flipped.version, lost.version] {
        let refused = publish(&app, &skill, damaged).await.expect_err("damaged");
        assert_eq!(reason(&refused), "CONTENT_UNVERIFIED");
    }
    publish(&app, &skill, intact.version)
        .await
        .expect("intact publishes");

    // Past the TTL: swept, and only what nothing references.
    let second = app.scrub_pass(0).await;
    assert_eq!(second.swept_objects, 2);
    assert!(!orphan.exists(), "unreferenced content was swept");
    assert!(!staged.exists(), "the staged upload was swept");
    assert!(file_of(&app, &intact).exists(), "referenced content stays");
    assert!(
        file_of(&app, &flipped).exists(),
        "damaged content stays, as evidence"
    );

    let stats = OutboxClient::new(app.channel.clone())
        .get_outbox_stats(GetOutboxStatsRequest {})
        .await
        .expect("stats")
        .into_inner()
        .scrub
        .expect("scrub progress");
    assert!(stats.last_full_pass_time.is_some());
    assert!(stats.pass_start_time.is_none(), "no pass under way");
    assert_eq!(stats.last_full_pass_versions, 3);
    assert_eq!(stats.last_full_pass_damaged_count, 2);
    assert_eq!(stats.damaged_versions, 2);
    assert_eq!(stats.swept_objects, 2);
}
