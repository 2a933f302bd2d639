//! What an operator sees of a running `atelier` binary: its JSON log, its
//! Prometheus endpoint and the spans it exports over OTLP, through the real
//! transports. A caller's `traceparent` must reach the RPC's log line (with
//! the token name and user id), the outbox worker's line for the work that
//! RPC enqueued, and the collector, where the worker's span links to the
//! request.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use atelier::proto::registry::skill_registry_client::SkillRegistryClient;
use atelier::proto::registry::{
    CreateSkillRequest, CreateSkillVersionRequest, RecordUsageRequest, SkillCategory,
    record_usage_request::Skill as Which,
};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::trace::v1::Span;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use crate::common::{TestDatabase, eventually};

const ATELIER: &str = env!("CARGO_BIN_EXE_atelier");
const TOKEN: &str = "web:obs-secret-token";
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_SPAN_ID: &str = "00f067aa0ba902b7";

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// An `atelier serve` process whose stderr is collected line by line.
struct Server {
    child: Child,
    port: u16,
    lines: Arc<Mutex<Vec<String>>>,
    _objects: tempfile::TempDir,
}

impl Server {
    fn start(database_url: Option<&str>, extra: &[String]) -> Self {
        let objects = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let mut command = Command::new(ATELIER);
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("ATELIER_LOG", "info,atelier::outbox=debug")
            .env("ATELIER_AUTH_TOKENS", TOKEN)
            .args(["--log-format", "json", "--data-dir"])
            .arg(objects.path())
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--drain-delay-secs", "0", "--outbox-linger-ms", "0"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(url) = database_url {
            command.env("DATABASE_URL", url);
        }
        let mut child = command.spawn().expect("spawn atelier");
        let stderr = child.stderr.take().expect("stderr");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().expect("lines").push(line);
            }
        });
        Self {
            child,
            port,
            lines,
            _objects: objects,
        }
    }

    async fn channel(&self) -> Channel {
        let uri = format!("http://127.0.0.1:{}", self.port);
        let serving = eventually(Duration::from_secs(60), || async {
            let Ok(channel) = Channel::from_shared(uri.clone())
                .expect("uri")
                .connect()
                .await
            else {
                return false;
            };
            HealthClient::new(channel)
                .check(HealthCheckRequest::default())
                .await
                .is_ok_and(|r| r.into_inner().status == 1)
        })
        .await;
        assert!(serving, "atelier never served; log:\n{}", self.log());
        Channel::from_shared(uri)
            .expect("uri")
            .connect()
            .await
            .expect("connect")
    }

    fn log(&self) -> String {
        self.lines.lock().expect("lines").join("\n")
    }

    /// The log lines that parse as JSON objects; fails on any that do not.
    fn json_lines(&self) -> Vec<serde_json::Value> {
        self.lines
            .lock()
            .expect("lines")
            .iter()
            .map(|line| {
                serde_json::from_str::<serde_json::Value>(line)
                    .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"))
            })
            .collect()
    }

    /// SIGTERM, then waits for the exit (spans are flushed on the way out).
    fn stop(mut self) {
        let pid = Pid::from_raw(i32::try_from(self.child.id()).expect("pid"));
        let _ = kill(pid, Signal::SIGTERM);
        let status = self.child.wait().expect("wait");
        assert!(status.success(), "atelier exited with {status}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `request` as the token holder acting for `user`, in the test's trace.
fn traced<T>(user: &str, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    let metadata = request.metadata_mut();
    metadata.insert("x-user-id", user.parse().expect("ascii"));
    let token = TOKEN.split_once(':').expect("name:token").1;
    metadata.insert(
        "authorization",
        format!("Bearer {token}").parse().expect("ascii"),
    );
    metadata.insert(
        "traceparent",
        format!("00-{TRACE_ID}-{PARENT_SPAN_ID}-01")
            .parse()
            .expect("ascii"),
    );
    request
}

/// A skill with one version (whose verification is an outbox job) and a
/// recorded use (an outbox event applied in bulk), all in the test's trace.
async fn traced_work(channel: Channel) -> usize {
    let mut registry = SkillRegistryClient::new(channel);
    let skill = registry
        .create_skill(traced(
            "ada",
            CreateSkillRequest {
                slug: "traced-skill".to_owned(),
                name: "Traced".to_owned(),
                description: "Followed from call to worker".to_owned(),
                category: SkillCategory::Prompt.into(),
                hours_saved: None,
                request_id: String::new(),
            },
        ))
        .await
        .expect("create skill")
        .into_inner()
        .skill
        .expect("skill");
    let content = b"# traced\nsome content to verify\n".to_vec();
    registry
        .create_skill_version(traced(
            "ada",
            CreateSkillVersionRequest {
                skill_id: skill.id.clone(),
                content: content.clone(),
                content_type: "text/markdown".to_owned(),
                ..Default::default()
            },
        ))
        .await
        .expect("create version");
    registry
        .record_usage(traced(
            "grace",
            RecordUsageRequest {
                skill: Some(Which::SkillId(skill.id.clone())),
                version: None,
                tool_name: "claude-code".to_owned(),
                request_id: String::new(),
            },
        ))
        .await
        .expect("record usage");
    content.len()
}

/// The span fields of a JSON log line (`span` holds the current span's).
fn span_field<'a>(line: &'a serde_json::Value, field: &str) -> Option<&'a str> {
    line.get("span")?.get(field)?.as_str()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_traceparent_reaches_the_rpc_log_the_worker_log_and_the_collector() {
    let database = TestDatabase::migrated().await;
    let collector = Collector::start().await;
    let server = Server::start(
        Some(&database.url),
        &["--otlp-endpoint".to_owned(), collector.endpoint()],
    );
    let channel = server.channel().await;
    traced_work(channel).await;

    // The RPC's line: its trace, the token's name and the user.
    let found = eventually(Duration::from_secs(20), || async {
        let lines = server.json_lines();
        let rpc = lines.iter().any(|line| {
            line["message"] == "rpc"
                && line["rpc.method"] == "/atelier.registry.v1.SkillRegistry/CreateSkillVersion"
                && span_field(line, "trace_id") == Some(TRACE_ID)
                && span_field(line, "token") == Some("web")
                && span_field(line, "user_id") == Some("ada")
                && line["latency_ms"].is_f64()
                && line["rpc.status"] == "OK"
        });
        // The worker's lines: the verification job, and the batch that
        // applied the recorded use, each naming the trace that caused it.
        let job = lines.iter().any(|line| {
            line["message"] == "outbox job done"
                && span_field(line, "event.kind") == Some("content.verify")
                && span_field(line, "caused_by") == Some(TRACE_ID)
                && line["attempt"].is_i64()
        });
        let batch = lines.iter().any(|line| {
            line["message"] == "outbox batch committed"
                && span_field(line, "caused_by").is_some_and(|ids| ids.contains(TRACE_ID))
                && line["claimed"].is_u64()
        });
        rpc && job && batch
    })
    .await;
    assert!(
        found,
        "the trace id is missing from the RPC's or the worker's log line; log:\n{}",
        server.log()
    );
    assert!(
        !server.log().contains('\u{1b}'),
        "ANSI escapes in a log that is not a terminal"
    );
    server.stop();

    // The collector got the RPC's span as a child of the caller's span, and
    // worker spans linked to the caller's trace.
    let spans = collector.spans();
    let trace_id = hex(TRACE_ID);
    let rpc_span = spans
        .iter()
        .find(|span| span.name == "rpc" && span.trace_id == trace_id)
        .unwrap_or_else(|| panic!("no rpc span in trace {TRACE_ID}: {spans:#?}"));
    assert_eq!(rpc_span.parent_span_id, hex(PARENT_SPAN_ID));
    for worker_span in ["outbox.job", "outbox.batch"] {
        let linked = spans.iter().any(|span| {
            span.name == worker_span
                && span.trace_id != trace_id
                && span.links.iter().any(|link| link.trace_id == trace_id)
        });
        assert!(linked, "no {worker_span} span links to {TRACE_ID}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_metrics_endpoint_speaks_the_prometheus_exposition_format() {
    let database = TestDatabase::migrated().await;
    let metrics_port = free_port();
    let server = Server::start(
        Some(&database.url),
        &[
            "--metrics-listen".to_owned(),
            format!("127.0.0.1:{metrics_port}"),
        ],
    );
    let channel = server.channel().await;
    let content_bytes = traced_work(channel.clone()).await;
    // A path the server does not serve is counted as `unknown`, not as a
    // series of its own.
    let unknown = tonic::client::Grpc::new(channel.clone());
    let _ = call_unknown_method(unknown).await;

    let expectations = |samples: &Samples| {
        let ok_versions = samples.value(
            "atelier_rpc_requests_total",
            &[
                ("service", "atelier.registry.v1.SkillRegistry"),
                ("method", "CreateSkillVersion"),
                ("code", "OK"),
            ],
        );
        let unknown = samples.value(
            "atelier_rpc_requests_total",
            &[
                ("service", "unknown"),
                ("method", "unknown"),
                ("code", "UNIMPLEMENTED"),
            ],
        );
        let buckets = samples.value(
            "atelier_rpc_duration_seconds_bucket",
            &[
                ("service", "atelier.registry.v1.SkillRegistry"),
                ("method", "CreateSkillVersion"),
                ("code", "OK"),
                ("le", "+Inf"),
            ],
        );
        let verified = samples.value("atelier_content_verified_bytes_total", &[]);
        let applied = samples.value(
            "atelier_outbox_events_applied_total",
            &[("kind", "content.verify")],
        );
        ok_versions == Some(1.0)
            && unknown == Some(1.0)
            && buckets == Some(1.0)
            && verified >= Some(content_bytes as f64)
            && applied == Some(1.0)
            && samples.value("atelier_db_pool_max_connections", &[]) == Some(16.0)
            && samples.value("atelier_db_pool_connections", &[]) >= Some(1.0)
            && samples.value("atelier_db_pool_waiters", &[]).is_some()
            && samples.value("atelier_outbox_pending_events", &[]).is_some()
            && samples.value("atelier_outbox_dead_events", &[]) == Some(0.0)
            && samples
                .value("atelier_outbox_oldest_pending_age_seconds", &[])
                .is_some()
            && samples
                .value("atelier_outbox_batch_duration_seconds_count", &[])
                .is_some_and(|n| n >= 1.0)
            && samples
                .value(
                    "atelier_rpc_in_flight",
                    &[("service", "atelier.registry.v1.SkillRegistry")],
                )
                .is_some()
            // An external database: the embedded gauge is not reported.
            && samples.value("atelier_embedded_postgres_up", &[]).is_none()
    };
    let last = Arc::new(Mutex::new(String::new()));
    let ok = eventually(Duration::from_secs(20), || {
        let last = last.clone();
        async move {
            let text = scrape(metrics_port).await;
            let met = expectations(&Samples::parse(&text));
            *last.lock().expect("last") = text;
            met
        }
    })
    .await;
    assert!(ok, "unexpected metrics:\n{}", last.lock().expect("last"));
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_embedded_postgresql_is_reported_up() {
    let metrics_port = free_port();
    let server = Server::start(
        None,
        &[
            "--metrics-listen".to_owned(),
            format!("127.0.0.1:{metrics_port}"),
        ],
    );
    server.channel().await;
    let text = scrape(metrics_port).await;
    assert_eq!(
        Samples::parse(&text).value("atelier_embedded_postgres_up", &[]),
        Some(1.0),
        "{text}"
    );
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_start_up_error_is_one_json_line_with_its_cause_chain() {
    // Nothing listens on port 1: the connection is refused.
    let output = Command::new(ATELIER)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env(
            "DATABASE_URL",
            "postgres://atelier:not-the-password@127.0.0.1:1/atelier",
        )
        .args(["--log-format", "json", "migrate"])
        .output()
        .expect("run atelier");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr.lines().last().expect("a line");
    let line: serde_json::Value =
        serde_json::from_str(last).unwrap_or_else(|e| panic!("not JSON ({e}): {stderr}"));
    assert_eq!(line["level"], "ERROR", "{line}");
    let error = line["error"].as_str().expect("error");
    assert!(error.contains("127.0.0.1:1"), "no host in {error}");
    assert!(
        error.to_lowercase().contains("refused"),
        "no underlying error in {error}"
    );
    assert!(
        !stderr.contains("not-the-password"),
        "password logged: {stderr}"
    );
    assert!(
        line["causes"].as_array().is_some_and(|c| c.len() >= 2),
        "{line}"
    );
}

async fn call_unknown_method(mut grpc: tonic::client::Grpc<Channel>) -> Result<(), tonic::Status> {
    grpc.ready()
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    let path = http::uri::PathAndQuery::from_static("/atelier.registry.v1.SkillRegistry/NoSuchRpc");
    let codec = tonic_prost::ProstCodec::<(), ()>::default();
    grpc.unary(traced("ada", ()), path, codec).await.map(drop)
}

/// `GET /metrics` over plain HTTP/1.1; the body.
async fn scrape(port: u16) -> String {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect to the metrics endpoint");
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .expect("send");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("read");
    let response = String::from_utf8(response).expect("UTF-8");
    let (head, body) = response.split_once("\r\n\r\n").expect("HTTP response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_lowercase().contains("content-type: text/plain"),
        "{head}"
    );
    if head.to_lowercase().contains("transfer-encoding: chunked") {
        dechunk(body)
    } else {
        body.to_owned()
    }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).expect("chunk size");
        if size == 0 {
            break;
        }
        out.push_str(&rest[..size]);
        body = &rest[size + 2..];
    }
    out
}

/// The samples of an exposition, checked line by line against the format:
/// `# HELP`/`# TYPE` comments, `name{label="value",…} value` samples.
struct Samples(Vec<(String, BTreeMap<String, String>, f64)>);

impl Samples {
    fn parse(text: &str) -> Self {
        let mut samples = Vec::new();
        for line in text.lines().filter(|l| !l.is_empty()) {
            if let Some(comment) = line.strip_prefix("# ") {
                let mut words = comment.splitn(3, ' ');
                let kind = words.next().unwrap_or_default();
                let name = words.next().unwrap_or_default();
                assert!(matches!(kind, "HELP" | "TYPE"), "bad comment: {line}");
                assert!(valid_name(name), "bad metric name: {line}");
                if kind == "TYPE" {
                    let ty = words.next().unwrap_or_default();
                    assert!(
                        matches!(ty, "counter" | "gauge" | "histogram" | "summary"),
                        "bad type: {line}"
                    );
                }
                continue;
            }
            let (series, value) = line.rsplit_once(' ').expect("sample has a value");
            let value: f64 = match value {
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                other => other
                    .parse()
                    .unwrap_or_else(|_| panic!("bad value: {line}")),
            };
            let (name, labels) = match series.split_once('{') {
                None => (series, BTreeMap::new()),
                Some((name, rest)) => {
                    let rest = rest.strip_suffix('}').expect("labels end with }");
                    (name, parse_labels(rest, line))
                }
            };
            assert!(valid_name(name), "bad metric name: {line}");
            samples.push((name.to_owned(), labels, value));
        }
        Self(samples)
    }

    /// The value of the series `name` with exactly `labels`.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let wanted: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.0
            .iter()
            .find(|(n, l, _)| n == name && *l == wanted)
            .map(|(_, _, v)| *v)
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
        && !name.starts_with(|c: char| c.is_ascii_digit())
}

fn parse_labels(text: &str, line: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (key, after) = rest
            .split_once("=\"")
            .unwrap_or_else(|| panic!("bad label: {line}"));
        assert!(valid_name(key), "bad label name: {line}");
        // Values here have no escaped quotes (names and codes only).
        let (value, after) = after
            .split_once('"')
            .unwrap_or_else(|| panic!("unterminated label: {line}"));
        labels.insert(key.to_owned(), value.to_owned());
        rest = after.strip_prefix(',').unwrap_or(after);
    }
    labels
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

/// An OTLP/gRPC collector that keeps every span it is sent.
struct Collector {
    port: u16,
    spans: Arc<Mutex<Vec<Span>>>,
}

#[derive(Clone)]
struct Keep(Arc<Mutex<Vec<Span>>>);

#[tonic::async_trait]
impl TraceService for Keep {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut kept = self.0.lock().expect("spans");
        for resource in request.into_inner().resource_spans {
            for scope in resource.scope_spans {
                kept.extend(scope.spans);
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

impl Collector {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let spans = Arc::new(Mutex::new(Vec::new()));
        let service = TraceServiceServer::new(Keep(spans.clone()));
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
        );
        Self { port, spans }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn spans(&self) -> Vec<Span> {
        self.spans.lock().expect("spans").clone()
    }
}
