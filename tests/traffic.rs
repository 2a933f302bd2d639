//! How the server takes traffic, through the real transport: a message over
//! `--max-message-bytes` is RESOURCE_EXHAUSTED, a call beyond
//! `--max-concurrent-rpcs` is shed at once with UNAVAILABLE and a RetryInfo
//! (health still answers), and on shutdown health turns NOT_SERVING while
//! calls are still served for the drain delay.

use std::time::Duration;

use atelier::proto::registry::upload_skill_version_request::Payload;
use atelier::proto::registry::{
    CreateSkillVersionRequest, GetSkillRequest, UploadSkillVersionHeader,
    UploadSkillVersionRequest, get_skill_request::Selector,
};
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_types::StatusExt as _;

use crate::common::{TestApp, TestAppOptions, as_user, create_skill, eventually, reason};

fn options(traffic: atelier::config::Traffic) -> TestAppOptions {
    TestAppOptions {
        traffic,
        ..TestAppOptions::default()
    }
}

fn missing_skill() -> GetSkillRequest {
    GetSkillRequest {
        selector: Some(Selector::Slug("no-such-skill".to_owned())),
    }
}

async fn health_status(app: &TestApp) -> Option<ServingStatus> {
    app.health()
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .ok()
        .and_then(|r| ServingStatus::try_from(r.into_inner().status).ok())
}

/// An upload of `skill` whose stream stays open (its header sent) until
/// the returned sender is used or dropped: a call that runs as long as
/// the test likes.
async fn open_upload(
    skill: &atelier::proto::registry::Skill,
) -> (
    tokio::sync::mpsc::Sender<UploadSkillVersionRequest>,
    tonic::Request<tokio_stream::wrappers::ReceiverStream<UploadSkillVersionRequest>>,
) {
    let (sender, receiver) = tokio::sync::mpsc::channel(4);
    sender
        .send(UploadSkillVersionRequest {
            payload: Some(Payload::Header(UploadSkillVersionHeader {
                skill_id: skill.id.clone(),
                content_type: "text/plain".to_owned(),
                ..Default::default()
            })),
        })
        .await
        .expect("header");
    let request = as_user("ada", tokio_stream::wrappers::ReceiverStream::new(receiver));
    (sender, request)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_over_the_configured_limit_is_resource_exhausted() {
    let app = TestApp::start_with(options(atelier::config::Traffic {
        max_message_bytes: 64 * 1024,
        drain_delay: Duration::ZERO,
        ..Default::default()
    }))
    .await;
    let skill = create_skill(&app, "ada", "small-messages").await;
    let version = |size: usize| CreateSkillVersionRequest {
        skill_id: skill.id.clone(),
        content: vec![b'x'; size],
        content_type: "text/plain".to_owned(),
        ..Default::default()
    };
    app.registry()
        .create_skill_version(as_user("ada", version(32 * 1024)))
        .await
        .expect("under the limit");
    let status = app
        .registry()
        .create_skill_version(as_user("ada", version(100 * 1024)))
        .await
        .expect_err("over the limit");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert_eq!(reason(&status), "MESSAGE_TOO_LARGE");
    assert!(status.message().contains("65536"), "{}", status.message());
}

#[tokio::test(flavor = "multi_thread")]
async fn calls_beyond_the_concurrency_limit_are_shed_at_once_with_retry_info() {
    let app = TestApp::start_with(options(atelier::config::Traffic {
        max_concurrent_rpcs: 2,
        drain_delay: Duration::ZERO,
        ..Default::default()
    }))
    .await;
    let skill = create_skill(&app, "ada", "busy-server").await;
    // Two uploads whose streams stay open hold both slots.
    let mut holders = Vec::new();
    let mut senders = Vec::new();
    for _ in 0..2 {
        let (sender, request) = open_upload(&skill).await;
        let mut registry = app.registry();
        holders.push(tokio::spawn(async move {
            registry.upload_skill_version(request).await
        }));
        senders.push(sender);
    }
    // Let both uploads reach the server before the third call (which is
    // made only then, so it cannot take an upload's slot itself).
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        holders.iter().all(|holder| !holder.is_finished()),
        "both uploads are still running"
    );
    let status = app
        .registry()
        .get_skill(missing_skill())
        .await
        .expect_err("full: a third call is shed");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert_eq!(reason(&status), "OVERLOADED", "{status:?}");
    assert!(
        status.get_error_details().retry_info().is_some(),
        "a shed call says when to retry"
    );
    assert_eq!(
        health_status(&app).await,
        Some(ServingStatus::Serving),
        "health is never shed"
    );

    // The uploads finish; their slots free up.
    for sender in &senders {
        sender
            .send(UploadSkillVersionRequest {
                payload: Some(Payload::Chunk(b"content".to_vec())),
            })
            .await
            .expect("chunk");
    }
    drop(senders);
    for holder in holders {
        holder.await.expect("task").expect("upload");
    }
    let status = app
        .registry()
        .get_skill(missing_skill())
        .await
        .expect_err("no such skill");
    assert_eq!(status.code(), Code::NotFound, "served again: {status:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn on_shutdown_health_turns_not_serving_while_calls_are_still_served() {
    let app = TestApp::start_with(options(atelier::config::Traffic {
        drain_delay: Duration::from_secs(2),
        ..Default::default()
    }))
    .await;
    assert_eq!(health_status(&app).await, Some(ServingStatus::Serving));
    app.begin_shutdown();
    let not_serving = eventually(Duration::from_secs(1), || async {
        health_status(&app).await == Some(ServingStatus::NotServing)
    })
    .await;
    assert!(not_serving, "health says NOT_SERVING first");
    // Within the drain delay a call is still answered by the service.
    let status = app
        .registry()
        .get_skill(as_user("ada", missing_skill()))
        .await
        .expect_err("no such skill");
    assert_eq!(
        status.code(),
        Code::NotFound,
        "served while draining: {status:?}"
    );
    app.stop().await.expect("stops after the drain");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_past_its_deadline_is_deadline_exceeded_with_error_info() {
    let app = TestApp::start().await;
    let skill = create_skill(&app, "ada", "slow-upload").await;
    // An upload whose stream never ends runs until its deadline.
    let (sender, mut request) = open_upload(&skill).await;
    request.set_timeout(Duration::from_millis(300));
    let status = app
        .registry()
        .upload_skill_version(request)
        .await
        .expect_err("past its deadline");
    drop(sender);
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert_eq!(reason(&status), "DEADLINE_EXCEEDED");
    let versions = format!(
        "SELECT count(*) FROM skill_versions WHERE skill_id = '{}'",
        skill.id
    );
    assert_eq!(crate::common::count(&app, &versions).await, 0);
}
