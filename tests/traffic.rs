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
    // An upload whose stream never ends runs until its deadline. The
    // server answers 5 ms before it; tonic's client also enforces the
    // deadline itself, and on a loaded machine its own timer can fire
    // first (CANCELLED "Timeout expired", which says nothing about the
    // server). Such an attempt is made again, a few times at most.
    let mut status = None;
    for _ in 0..5 {
        let (sender, mut request) = open_upload(&skill).await;
        request.set_timeout(Duration::from_millis(300));
        let answer = app
            .registry()
            .upload_skill_version(request)
            .await
            .expect_err("past its deadline");
        drop(sender);
        let client_timer =
            answer.code() == Code::Cancelled && answer.message() == "Timeout expired";
        if !client_timer {
            status = Some(answer);
            break;
        }
    }
    let status = status.expect("the client's own timer fired first five times");
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert_eq!(reason(&status), "DEADLINE_EXCEEDED");
    let versions = format!(
        "SELECT count(*) FROM skill_versions WHERE skill_id = '{}'",
        skill.id
    );
    assert_eq!(crate::common::count(&app, &versions).await, 0);
}

/// A raw HTTP/2 client connection: the preface and SETTINGS sent, frames
/// read one at a time, nothing answered unless the test says so.
struct RawHttp2 {
    stream: tokio::net::TcpStream,
}

/// HTTP/2 frame types the tests look for.
const SETTINGS: u8 = 0x4;
const PING: u8 = 0x6;
const GOAWAY: u8 = 0x7;

impl RawHttp2 {
    async fn connect(app: &TestApp) -> Self {
        use tokio::io::AsyncWriteExt as _;
        let mut stream = tokio::net::TcpStream::connect(app.addr)
            .await
            .expect("connect");
        stream
            .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
            .await
            .expect("preface");
        // An empty SETTINGS frame: length 0, type 4, no flags, stream 0.
        stream
            .write_all(&[0, 0, 0, SETTINGS, 0, 0, 0, 0, 0])
            .await
            .expect("settings");
        Self { stream }
    }

    /// The next frame's type and flags; `None` when the server closed.
    async fn frame(&mut self) -> Option<(u8, u8)> {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let mut header = [0_u8; 9];
        self.stream.read_exact(&mut header).await.ok()?;
        let length =
            usize::from(header[0]) << 16 | usize::from(header[1]) << 8 | usize::from(header[2]);
        let mut payload = vec![0_u8; length];
        self.stream.read_exact(&mut payload).await.ok()?;
        let (kind, flags) = (header[3], header[4]);
        if kind == SETTINGS && flags & 1 == 0 {
            // Acknowledge the server's settings, as a client must.
            self.stream
                .write_all(&[0, 0, 0, SETTINGS, 1, 0, 0, 0, 0])
                .await
                .ok()?;
        }
        Some((kind, flags))
    }

    /// Reads frames until one of `kind` (its flags) or the end (`None`).
    async fn until(&mut self, kind: u8) -> Option<u8> {
        loop {
            let (found, flags) = self.frame().await?;
            if found == kind {
                return Some(flags);
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_server_pings_idle_connections_and_drops_a_peer_that_never_answers() {
    let app = TestApp::start_with(options(atelier::config::Traffic {
        keepalive_interval: Duration::from_secs(1),
        keepalive_timeout: Duration::from_secs(1),
        drain_delay: Duration::ZERO,
        ..Default::default()
    }))
    .await;
    let mut peer = RawHttp2::connect(&app).await;
    let ping = tokio::time::timeout(Duration::from_secs(5), peer.until(PING))
        .await
        .expect("no keepalive PING within 5 s of a 1 s interval");
    assert_eq!(ping, Some(0), "a PING that is not a request");
    // Never answered: the connection ends within the ping timeout.
    let started = std::time::Instant::now();
    let end = tokio::time::timeout(Duration::from_secs(10), async {
        while peer.frame().await.is_some() {}
    })
    .await;
    assert!(end.is_ok(), "a silent peer kept its connection");
    assert!(started.elapsed() < Duration::from_secs(5));
    // Clients that answer pings (tonic's channel does) are unaffected.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(health_status(&app).await, Some(ServingStatus::Serving));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_connection_past_its_maximum_age_is_asked_to_reconnect() {
    let app = TestApp::start_with(options(atelier::config::Traffic {
        max_connection_age: Some(Duration::from_secs(1)),
        drain_delay: Duration::ZERO,
        ..Default::default()
    }))
    .await;
    // An upload that is still streaming when its connection ages out.
    let skill = create_skill(&app, "ada", "long-upload").await;
    let (sender, request) = open_upload(&skill).await;
    let mut registry = app.registry();
    let upload = tokio::spawn(async move { registry.upload_skill_version(request).await });

    let started = std::time::Instant::now();
    let mut peer = RawHttp2::connect(&app).await;
    let goaway = tokio::time::timeout(Duration::from_secs(10), peer.until(GOAWAY))
        .await
        .expect("no GOAWAY within 10 s of a 1 s maximum age");
    assert!(goaway.is_some(), "closed without a GOAWAY");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "GOAWAY before the age: {:?}",
        started.elapsed()
    );
    // The aged connection's call finishes rather than being cut.
    sender
        .send(UploadSkillVersionRequest {
            payload: Some(Payload::Chunk(b"finished after the age".to_vec())),
        })
        .await
        .expect("chunk");
    drop(sender);
    let version = upload
        .await
        .expect("join")
        .expect("the upload survives the age");
    assert_eq!(version.into_inner().version.map(|v| v.version), Some(1));
    // A real client reconnects on its own: calls keep working across ages.
    for _ in 0..3 {
        assert_eq!(health_status(&app).await, Some(ServingStatus::Serving));
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
}
