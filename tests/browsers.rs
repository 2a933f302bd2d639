//! Browsers call the server with gRPC-Web over HTTP/1.1, across origins:
//! a gRPC-Web call answers with its status in the body's trailer frame; a
//! CORS preflight from an allowed origin is answered with what the browser
//! may send and read, one from another origin is not; and `buf curl
//! --protocol grpcweb` (a real gRPC-Web client) reads a skill and an error.

use std::path::PathBuf;

use atelier::config::{CorsOrigins, Transport};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::common::{TestApp, TestAppOptions, create_skill};

const ALLOWED: &str = "https://app.example.com";
const REFUSED: &str = "https://evil.example.com";

async fn browser_app() -> TestApp {
    TestApp::start_with(TestAppOptions {
        transport: Transport {
            cors: CorsOrigins::Listed(vec![http::HeaderValue::from_static(ALLOWED)]),
            ..Transport::default()
        },
        ..TestAppOptions::default()
    })
    .await
}

/// One HTTP/1.1 exchange on a fresh connection: the response's head
/// (status line and headers, lowercased names) and body bytes.
async fn http1(app: &TestApp, head: &str, body: &[u8]) -> (String, Vec<u8>) {
    let mut stream = tokio::net::TcpStream::connect(app.addr)
        .await
        .expect("connect");
    let request = format!(
        "{head}\r\nHost: localhost\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("send");
    stream.write_all(body).await.expect("send body");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("read");
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP response");
    let head = String::from_utf8_lossy(&response[..split]).to_lowercase();
    (head, response[split + 4..].to_vec())
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(key, _)| key.trim() == name)
        .map(|(_, value)| value.trim())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_grpc_web_call_over_http1_answers_with_its_status_in_the_trailer_frame() {
    let app = browser_app().await;
    // grpc.health.v1.Health/Check with an empty request: one uncompressed
    // frame of length 0.
    let (head, body) = http1(
        &app,
        &format!(
            "POST /grpc.health.v1.Health/Check HTTP/1.1\r\nOrigin: {ALLOWED}\r\n\
             Content-Type: application/grpc-web+proto\r\nX-Grpc-Web: 1"
        ),
        &[0, 0, 0, 0, 0],
    )
    .await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert_eq!(
        header(&head, "content-type"),
        Some("application/grpc-web+proto")
    );
    assert_eq!(header(&head, "access-control-allow-origin"), Some(ALLOWED));
    assert!(
        header(&head, "access-control-expose-headers").is_some_and(|h| h.contains("grpc-status")),
        "{head}"
    );
    let body = if header(&head, "transfer-encoding") == Some("chunked") {
        dechunk(&body)
    } else {
        body
    };
    // A message frame (SERVING = field 1, value 1), then the trailers frame.
    assert_eq!(&body[..7], &[0, 0, 0, 0, 2, 0x08, 0x01], "{body:?}");
    assert_eq!(body[7], 0x80, "no trailer frame: {body:?}");
    let trailers = String::from_utf8_lossy(&body[12..]).to_lowercase();
    assert!(trailers.contains("grpc-status:0"), "{trailers}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_preflight_is_answered_for_an_allowed_origin_and_not_for_another() {
    let app = browser_app().await;
    let preflight = |origin: &str| {
        format!(
            "OPTIONS /atelier.registry.v1.SkillRegistry/GetSkill HTTP/1.1\r\nOrigin: {origin}\r\n\
             Access-Control-Request-Method: POST\r\n\
             Access-Control-Request-Headers: content-type,x-grpc-web,x-user-id,authorization,traceparent"
        )
    };
    let (head, _) = http1(&app, &preflight(ALLOWED), b"").await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert_eq!(header(&head, "access-control-allow-origin"), Some(ALLOWED));
    assert!(
        header(&head, "access-control-allow-methods").is_some_and(|m| m.contains("post")),
        "{head}"
    );
    let allowed_headers = header(&head, "access-control-allow-headers").unwrap_or_default();
    for name in [
        "content-type",
        "x-grpc-web",
        "x-user-id",
        "authorization",
        "traceparent",
    ] {
        assert!(allowed_headers.contains(name), "{name} not allowed: {head}");
    }

    let (head, _) = http1(&app, &preflight(REFUSED), b"").await;
    assert_eq!(
        header(&head, "access-control-allow-origin"),
        None,
        "a refused origin was allowed: {head}"
    );

    // With no origins configured, no origin is allowed.
    let closed = TestApp::start().await;
    let (head, _) = http1(&closed, &preflight(ALLOWED), b"").await;
    assert_eq!(header(&head, "access-control-allow-origin"), None, "{head}");
}

/// `buf` (for `buf curl`): `ATELIER_BUF`, PATH, or where `.ci/run` installs
/// it. Missing, the test is skipped unless `ATELIER_REQUIRE_BUF` is set.
fn buf() -> Option<PathBuf> {
    let candidates = std::env::var_os("ATELIER_BUF")
        .map(PathBuf::from)
        .into_iter()
        .chain(std::env::var_os("PATH").into_iter().flat_map(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join("buf"))
                .collect::<Vec<_>>()
        }))
        .chain(
            std::env::var_os("HOME")
                .map(|home| PathBuf::from(home).join(".cache/atelier-ci/node_modules/.bin/buf")),
        );
    let found = candidates.into_iter().find(|path| path.is_file());
    if found.is_none() {
        assert!(
            std::env::var_os("ATELIER_REQUIRE_BUF").is_none(),
            "ATELIER_REQUIRE_BUF is set but buf was not found"
        );
    }
    found
}

#[tokio::test(flavor = "multi_thread")]
async fn buf_curl_reads_a_skill_and_an_error_over_grpc_web() {
    let Some(buf) = buf() else {
        eprintln!("skipped: buf not found (set ATELIER_BUF)");
        return;
    };
    let app = browser_app().await;
    create_skill(&app, "ada", "web-read").await;
    let curl = |slug: &str| {
        let mut command = std::process::Command::new(&buf);
        command
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["curl", "--schema", ".", "--protocol", "grpcweb"])
            .args(["-H", "x-user-id: ada", "-d"])
            .arg(format!(r#"{{"slug": "{slug}"}}"#))
            .arg(format!(
                "http://{}/atelier.registry.v1.SkillRegistry/GetSkill",
                app.addr
            ));
        command
    };
    let found = tokio::task::spawn_blocking({
        let mut command = curl("web-read");
        move || command.output()
    })
    .await
    .expect("join")
    .expect("run buf curl");
    let stdout = String::from_utf8_lossy(&found.stdout);
    assert!(
        found.status.success(),
        "buf curl failed: {stdout}{}",
        String::from_utf8_lossy(&found.stderr)
    );
    let answer: serde_json::Value = serde_json::from_str(&stdout).expect("JSON answer");
    assert_eq!(answer["skill"]["slug"], "web-read", "{answer}");

    let missing = tokio::task::spawn_blocking({
        let mut command = curl("no-such-skill");
        move || command.output()
    })
    .await
    .expect("join")
    .expect("run buf curl");
    assert!(!missing.status.success());
    let error: serde_json::Value =
        serde_json::from_slice(&missing.stderr).expect("buf curl prints the error as JSON");
    assert_eq!(error["code"], "not_found", "{error}");
    // The details ride in the trailer frame too: the ErrorInfo's reason.
    let info = error["details"]
        .as_array()
        .and_then(|details| details.iter().find(|d| d["type"] == "google.rpc.ErrorInfo"))
        .and_then(|d| d["value"].as_str())
        .unwrap_or_else(|| panic!("no ErrorInfo reached the gRPC-Web client: {error}"));
    use base64::Engine as _;
    let info = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(info.trim_end_matches('='))
        .expect("base64");
    let info =
        <tonic_types::pb::ErrorInfo as prost::Message>::decode(info.as_slice()).expect("ErrorInfo");
    assert_eq!(info.reason, "SKILL_NOT_FOUND");
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = body.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&body[..end]).trim(), 16)
            .expect("chunk size");
        if size == 0 {
            break;
        }
        let start = end + 2;
        out.extend_from_slice(&body[start..start + size]);
        body = &body[start + size + 2..];
    }
    out
}
