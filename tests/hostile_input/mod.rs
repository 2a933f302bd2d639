//! A bad-input sweep over every RPC of every service (SkillRegistry,
//! Workshop, Signals, Outbox), black box, through the generated clients.
//!
//! For each field of each request the sweep sends what a hostile or broken
//! client sends: NUL characters, megabytes of text, control characters,
//! emoji and right-to-left text, malformed and foreign ids, forged and
//! foreign page tokens, out-of-range numbers and enum values, absurd field
//! masks, deep or non-finite `google.protobuf.Struct`s, YAML bombs in
//! SKILL.md front matter, a missing or malformed `x-user-id`, garbage etags —
//! and, through a codec that sends bytes as they are, malformed protobuf
//! bodies.
//!
//! Every answer must be a success or a clean refusal:
//! 1. never INTERNAL or UNKNOWN;
//! 2. a failure carries exactly one `google.rpc.ErrorInfo` in the `atelier`
//!    domain, whose reason is in the catalogue (`src/reasons.rs`, the
//!    README's "Error reasons") with the code it came with; a NOT_FOUND
//!    carries a `ResourceInfo` and its resource's reason, an UNAVAILABLE or
//!    ABORTED a `RetryInfo` —
//!    also for what tonic refuses before our code runs (a body that does not
//!    decode, a message over the decoding limit): the server maps those too
//!    (`src/transport_errors.rs`), and any still arriving bare are listed
//!    apart and fail the sweep;
//! 3. its `grpc-message` is shorter than 1 KiB (no echo of the input);
//! 4. INVALID_ARGUMENT carries a `google.rpc.BadRequest` naming a field;
//! 5. the server still answers afterwards.
//!
//! Beyond those, an input the API defines as invalid (a malformed id, an
//! out-of-range number, an etag that does not match, malformed front
//! matter, …) must be refused, not accepted; and what the sweep got stored
//! (hostile but valid text, deep step outputs, odd front matter) must read
//! back and render into build packs of every format.
//!
//! A status that tonic's HTTP/2 client makes itself ("h2 protocol error")
//! usually means the server's answer could not be received: its trailers
//! (`grpc-message` plus the `grpc-status-details-bin` error details) were
//! larger than the client's 16 KiB header-list limit.
//!
//! The sweep does not stop at the first failure: it collects every failing
//! case and asserts once at the end, printing them all (`SWEEP_VERBOSE=1`
//! prints every case and its answer).

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::time::{Duration, Instant};

use atelier::proto::admin::outbox_client::OutboxClient;
use atelier::proto::admin::{GetOutboxStatsRequest, ListDeadEventsRequest, RetryDeadEventsRequest};
use atelier::proto::registry as reg;
use atelier::proto::workshop as ws;
use base64::Engine as _;
use bytes::{Buf as _, BufMut as _};
use prost::Message as _;
use prost_types::value::Kind;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::metadata::AsciiMetadataValue;
use tonic::{Code, Request, Status};
use tonic_types::StatusExt as _;

use crate::common::{TestApp, as_user, create_skill, violated_fields};

/// The author of the fixture skills and owner of the fixture workshops.
const ALICE: &str = "sweep-alice";
/// An editor of the fixture workshop, and a rater.
const BOB: &str = "sweep-bob";
/// Creates the workshops of the CreateWorkshop sweep (so Alice's stay few).
const CAROL: &str = "sweep-carol";

/// How long one call may take before the sweep calls it hung.
const CALL_TIMEOUT: Duration = Duration::from_secs(20);
/// The longest `grpc-message` a refusal may carry.
const MESSAGE_MAX: usize = 1024;

const REGISTRY: &str = "SkillRegistry";
const WORKSHOP: &str = "Workshop";
const SIGNALS: &str = "Signals";
const OUTBOX: &str = "Outbox";

// ---------------------------------------------------------------------------
// Identity.

/// Who a request claims to act for.
#[derive(Debug, Clone, Copy)]
enum Who {
    /// A well-formed `x-user-id`.
    User(&'static str),
    /// No `x-user-id` at all.
    Missing,
    /// An `x-user-id` of 300 characters.
    TooLong,
    /// An `x-user-id` with bytes that are not ASCII (obs-text).
    NonAscii,
    /// An `x-user-id` of spaces only.
    Blank,
}

impl Who {
    /// The identities no RPC may accept as a user.
    const BAD: [Self; 4] = [Self::Missing, Self::TooLong, Self::NonAscii, Self::Blank];

    fn label(self) -> String {
        match self {
            Self::User(user) => format!("as {user}"),
            Self::Missing => "x-user-id missing".to_owned(),
            Self::TooLong => "x-user-id of 300 characters".to_owned(),
            Self::NonAscii => "x-user-id not ASCII".to_owned(),
            Self::Blank => "x-user-id blank".to_owned(),
        }
    }
}

/// `message` as a request from `who` (on the `pro` plan).
fn request<T>(who: Who, message: T) -> Request<T> {
    let mut request = Request::new(message);
    let user: Option<AsciiMetadataValue> = match who {
        Who::User(user) => Some(user.parse().expect("ASCII user id")),
        Who::Missing => None,
        Who::TooLong => Some("u".repeat(300).parse().expect("ASCII user id")),
        Who::NonAscii => Some(
            AsciiMetadataValue::try_from(&b"caf\xc3\xa9"[..]).expect("obs-text is a header value"),
        ),
        Who::Blank => Some(AsciiMetadataValue::from_static("   ")),
    };
    if let Some(user) = user {
        request.metadata_mut().insert("x-user-id", user);
    }
    request
        .metadata_mut()
        .insert("x-user-plan", AsciiMetadataValue::from_static("pro"));
    request
}

// ---------------------------------------------------------------------------
// Building the cases of one RPC.

/// One request of the sweep.
struct Case<T> {
    /// What it tries, for the report.
    name: String,
    /// Who sends it.
    who: Who,
    message: T,
    /// Whether the API defines the input as invalid, so that accepting it
    /// is a failure too (otherwise any clean answer will do).
    refuse: bool,
}

/// Whether text is invalid in every text field of the API: PostgreSQL
/// cannot store a NUL, and no field takes more than 4,000 characters.
fn invalid_anywhere(text: &str) -> bool {
    text.contains('\0') || text.chars().count() > 4_000
}

/// The cases of one RPC: edits of a base message, sent as `who`, plus the
/// base message sent with every bad identity.
struct Cases<T> {
    base: T,
    who: Who,
    list: Vec<Case<T>>,
}

impl<T: Clone> Cases<T> {
    /// The cases of an RPC that acts for a user: without one it must refuse.
    fn new(who: Who, base: T) -> Self {
        Self::with_identities(who, base, true)
    }

    /// The cases of an RPC that needs no user (a malformed one is still
    /// refused).
    fn open(who: Who, base: T) -> Self {
        Self::with_identities(who, base, false)
    }

    fn with_identities(who: Who, base: T, user_required: bool) -> Self {
        let list = Who::BAD
            .into_iter()
            .map(|bad| Case {
                name: bad.label(),
                who: bad,
                message: base.clone(),
                refuse: user_required || !matches!(bad, Who::Missing),
            })
            .collect();
        Self { base, who, list }
    }

    fn push(
        &mut self,
        who: Who,
        name: String,
        refuse: bool,
        edit: impl FnOnce(&mut T),
    ) -> &mut Self {
        let mut message = self.base.clone();
        edit(&mut message);
        self.list.push(Case {
            name,
            who,
            message,
            refuse,
        });
        self
    }

    /// The base message with `edit` applied; any clean answer will do.
    fn case(&mut self, name: impl Into<String>, edit: impl FnOnce(&mut T)) -> &mut Self {
        self.push(self.who, name.into(), false, edit)
    }

    /// The base message with `edit` applied, which must be refused when
    /// `refuse` says so.
    fn expect(
        &mut self,
        refuse: bool,
        name: impl Into<String>,
        edit: impl FnOnce(&mut T),
    ) -> &mut Self {
        self.push(self.who, name.into(), refuse, edit)
    }

    /// The base message with `edit` applied, which must be refused.
    fn refused(&mut self, name: impl Into<String>, edit: impl FnOnce(&mut T)) -> &mut Self {
        self.push(self.who, name.into(), true, edit)
    }

    /// The base message with `edit` applied, sent as `who`, which must be
    /// refused (these are the permission cases).
    fn refused_as(
        &mut self,
        who: Who,
        name: impl Into<String>,
        edit: impl FnOnce(&mut T),
    ) -> &mut Self {
        self.push(who, name.into(), true, edit)
    }

    /// One case per hostile text in `field`.
    fn texts(&mut self, field: &str, set: impl Fn(&mut T, String)) -> &mut Self {
        for (label, text) in hostile_texts() {
            let refuse = invalid_anywhere(&text);
            self.push(self.who, format!("{field}: {label}"), refuse, |m| {
                set(m, text)
            });
        }
        self
    }

    /// One case per hostile id in `field`.
    fn ids(&mut self, field: &str, real: &str, set: impl Fn(&mut T, String)) -> &mut Self {
        for (label, id, refuse) in hostile_ids(real) {
            self.push(self.who, format!("{field}: {label}"), refuse, |m| {
                set(m, id)
            });
        }
        self
    }

    /// One case per hostile etag, each of which must be refused.
    fn etags(&mut self, set: impl Fn(&mut T, String)) -> &mut Self {
        for (label, etag) in hostile_etags() {
            self.refused(label, |m| set(m, etag));
        }
        self
    }

    /// One case per hostile page size and page token.
    fn pages(
        &mut self,
        real_tokens: &[(String, String)],
        set_size: impl Fn(&mut T, i32),
        set_token: impl Fn(&mut T, String),
    ) -> &mut Self {
        for size in HOSTILE_PAGE_SIZES {
            self.refused(format!("page_size: {size}"), |m| set_size(m, size));
        }
        for size in OVERSIZED_PAGE_SIZES {
            self.case(format!("page_size: {size}"), |m| set_size(m, size));
        }
        for (label, token, refuse) in hostile_tokens(real_tokens) {
            self.push(self.who, format!("page_token: {label}"), refuse, |m| {
                set_token(m, token);
            });
        }
        self
    }

    /// One case per enum number no enum defines; each must be refused.
    fn enums(&mut self, field: &str, set: impl Fn(&mut T, i32)) -> &mut Self {
        for number in HOSTILE_ENUMS {
            self.refused(format!("{field}: {number}"), |m| set(m, number));
        }
        self
    }

    fn into_cases(self) -> Vec<Case<T>> {
        self.list
    }
}

// ---------------------------------------------------------------------------
// Judging the answers.

/// What a failing case looked like.
struct Failure {
    rpc: String,
    case: String,
    code: Code,
    problems: Vec<&'static str>,
    message: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} | {} | {:?} | {} | message: {}",
            self.rpc,
            self.case,
            self.code,
            self.problems.join(", "),
            self.message
        )
    }
}

/// The first 200 bytes of `text` (at a character boundary), escaped.
fn prefix(text: &str) -> String {
    let mut end = text.len().min(200);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let more = if end < text.len() {
        format!("… ({} bytes)", text.len())
    } else {
        String::new()
    };
    format!("{:?}{more}", &text[..end])
}

/// Why tonic itself refused a call before any of our code ran, if it did.
fn tonic_refusal(status: &Status) -> Option<&'static str> {
    let message = status.message();
    if message.starts_with("failed to decode Protobuf message") {
        Some("tonic-prost: the body does not decode")
    } else if message.contains("message length too large") {
        Some("tonic: the message is over the 4 MiB decoding limit")
    } else {
        None
    }
}

/// Runs a call with a deadline; a hung call is a failure, not a hung test.
async fn settle<T>(call: impl Future<Output = Result<T, Status>>) -> Result<T, Status> {
    match tokio::time::timeout(CALL_TIMEOUT, call).await {
        Ok(result) => result,
        Err(_) => Err(Status::deadline_exceeded(format!(
            "sweep: no answer within {CALL_TIMEOUT:?} (client-side timeout)"
        ))),
    }
}

/// Runs a server-streaming call to its end; the stream's error, if any.
async fn drain<T>(
    call: impl Future<Output = Result<tonic::Response<tonic::Streaming<T>>, Status>>,
) -> Result<(), Status> {
    settle(async move {
        let mut stream = call.await?.into_inner();
        while stream.message().await?.is_some() {}
        Ok(())
    })
    .await
}

/// Everything the sweep saw.
/// What is wrong with a refusal's error details beyond its ErrorInfo's
/// reason: exactly one ErrorInfo; a NOT_FOUND names its resource (a
/// `ResourceInfo`, and a reason of its kind, not the bare `NOT_FOUND`); an
/// UNAVAILABLE or ABORTED says when to retry (`RetryInfo`).
fn detail_problems(status: &Status) -> Vec<&'static str> {
    let mut problems = Vec::new();
    let details = tonic_types::Status::decode(status.details()).unwrap_or_default();
    let infos = details
        .details
        .iter()
        .filter(|any| any.type_url.ends_with("/google.rpc.ErrorInfo"))
        .count();
    if infos > 1 {
        problems.push("more than one ErrorInfo");
    }
    let rich = status.get_error_details();
    let reason = rich
        .error_info()
        .map(|info| info.reason.clone())
        .unwrap_or_default();
    match status.code() {
        Code::NotFound => {
            if rich.resource_info().is_none() {
                problems.push("NOT_FOUND without a ResourceInfo");
            }
            if reason == "NOT_FOUND" {
                problems.push("NOT_FOUND with the bare reason, not its resource's");
            }
        }
        Code::Unavailable | Code::Aborted if rich.retry_info().is_none() => {
            problems.push("UNAVAILABLE/ABORTED without a RetryInfo");
        }
        _ => {}
    }
    problems
}

struct Sweep<'a> {
    app: &'a TestApp,
    started: Instant,
    sent: BTreeMap<&'static str, usize>,
    rpcs: BTreeMap<&'static str, BTreeSet<&'static str>>,
    codes: BTreeMap<String, usize>,
    failures: Vec<Failure>,
    tonic_refusals: Vec<String>,
    /// Every case and its answer, printed when `SWEEP_VERBOSE` is set.
    outcomes: Vec<String>,
    accepted: usize,
    /// The RPCs that answered at least one case with an error.
    refused_rpcs: BTreeSet<String>,
}

impl<'a> Sweep<'a> {
    fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            started: Instant::now(),
            sent: BTreeMap::new(),
            rpcs: BTreeMap::new(),
            codes: BTreeMap::new(),
            failures: Vec::new(),
            tonic_refusals: Vec::new(),
            outcomes: Vec::new(),
            accepted: 0,
            refused_rpcs: BTreeSet::new(),
        }
    }

    /// Judges the answer of one case; `refuse` says the API defines its
    /// input as invalid, so that accepting it is a failure too.
    async fn check(
        &mut self,
        service: &'static str,
        rpc: &'static str,
        case: &str,
        refuse: bool,
        result: Result<(), Status>,
    ) {
        *self.sent.entry(service).or_default() += 1;
        if result.is_err() {
            self.refused_rpcs.insert(format!("{service}/{rpc}"));
        }
        self.rpcs.entry(service).or_default().insert(rpc);
        self.outcomes.push(match &result {
            Ok(()) => format!("{service}/{rpc} | {case} | Ok"),
            Err(status) => format!(
                "{service}/{rpc} | {case} | {:?} | {}",
                status.code(),
                prefix(status.message())
            ),
        });
        let status = match result {
            Ok(()) => {
                self.accepted += 1;
                *self.codes.entry("Ok".to_owned()).or_default() += 1;
                if refuse {
                    self.failures.push(Failure {
                        rpc: format!("{service}/{rpc}"),
                        case: case.to_owned(),
                        code: Code::Ok,
                        problems: vec!["accepted, but the API defines this input as invalid"],
                        message: String::new(),
                    });
                }
                return;
            }
            Err(status) => status,
        };
        let code = status.code();
        *self.codes.entry(format!("{code:?}")).or_default() += 1;
        let mut problems = Vec::new();
        let info = status.get_error_details().error_info().cloned();
        let refusal = info.is_none().then(|| tonic_refusal(&status)).flatten();
        match refusal {
            Some(why) => self.tonic_refusals.push(format!(
                "{service}/{rpc} | {case} | {code:?} | {why} | message: {}",
                prefix(status.message())
            )),
            None => {
                if matches!(code, Code::Internal | Code::Unknown) {
                    problems.push("INTERNAL/UNKNOWN");
                }
                match &info {
                    None => problems.push("no ErrorInfo"),
                    Some(info) if info.domain != "atelier" => {
                        problems.push("ErrorInfo domain is not atelier");
                    }
                    Some(info) if info.reason.is_empty() => problems.push("empty ErrorInfo reason"),
                    Some(info) => match atelier::reasons::code_of(&info.reason) {
                        None => problems.push("reason not in the catalogue (src/reasons.rs)"),
                        Some(documented) if documented != code => {
                            problems.push("reason documented with another code");
                        }
                        Some(_) => {}
                    },
                }
                problems.extend(detail_problems(&status));
                if code == Code::InvalidArgument
                    && violated_fields(&status).iter().all(String::is_empty)
                {
                    problems.push("INVALID_ARGUMENT without a BadRequest field");
                }
            }
        }
        if status.message().len() >= MESSAGE_MAX {
            problems.push("grpc-message of 1 KiB or more");
        }
        if info.is_none() && status.message().starts_with("h2 protocol error") {
            problems.push("the client's HTTP/2 layer refused the answer (trailers over its header-list limit?)");
        }
        if problems.is_empty() {
            return;
        }
        self.failures.push(Failure {
            rpc: format!("{service}/{rpc}"),
            case: case.to_owned(),
            code,
            problems,
            message: prefix(status.message()),
        });
        if info.is_none() {
            // A status our code did not make may mean the connection or the
            // server is gone: wait until it answers again, so one broken
            // case does not fail every case after it.
            self.recover(service, rpc, case).await;
        }
    }

    /// Judges a call that must succeed: a read of what the sweep stored,
    /// or a build pack of it.
    async fn must_succeed(
        &mut self,
        service: &'static str,
        rpc: &'static str,
        case: &str,
        result: Result<(), Status>,
    ) {
        if let Err(status) = &result {
            self.failures.push(Failure {
                rpc: format!("{service}/{rpc}"),
                case: case.to_owned(),
                code: status.code(),
                problems: vec!["failed, but must succeed"],
                message: prefix(status.message()),
            });
        }
        self.check(service, rpc, case, false, result).await;
    }

    /// Waits until the server answers a trivial call again.
    async fn recover(&mut self, service: &'static str, rpc: &'static str, case: &str) {
        for _ in 0..50 {
            let probe = settle(self.app.workshop().list_step_definitions(request(
                Who::User(ALICE),
                ws::ListStepDefinitionsRequest {},
            )))
            .await;
            if probe.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.failures.push(Failure {
            rpc: format!("{service}/{rpc}"),
            case: format!("{case} (afterwards)"),
            code: Code::Unavailable,
            problems: vec!["server unreachable for 5 s after this case"],
            message: String::new(),
        });
    }

    fn total(&self) -> usize {
        self.sent.values().sum()
    }

    /// Prints what the sweep saw.
    fn report(&self) {
        println!(
            "hostile-input sweep: {} requests in {:.1} s",
            self.total(),
            self.started.elapsed().as_secs_f64()
        );
        for (service, count) in &self.sent {
            let rpcs = self.rpcs.get(service).map_or(0, BTreeSet::len);
            println!("  {service}: {count} requests over {rpcs} RPCs");
        }
        println!("  answers by code: {:?}", self.codes);
        if std::env::var_os("SWEEP_VERBOSE").is_some() {
            println!("  every case:");
            for line in &self.outcomes {
                println!("    {line}");
            }
        }
        println!(
            "  refused by tonic before our code ran ({}):",
            self.tonic_refusals.len()
        );
        for line in &self.tonic_refusals {
            println!("    {line}");
        }
        println!("  failing cases ({}):", self.failures.len());
        for failure in &self.failures {
            println!("    {failure}");
        }
    }
}

/// Sends each case of a unary RPC and judges the answer.
macro_rules! sweep_unary {
    ($sweep:expr, $service:expr, $rpc:literal, $client:expr, $method:ident, $cases:expr) => {{
        for Case {
            name,
            who,
            message,
            refuse,
        } in $cases
        {
            let mut client = $client.clone();
            let result = settle(client.$method(request(who, message)))
                .await
                .map(drop);
            $sweep.check($service, $rpc, &name, refuse, result).await;
        }
    }};
}

/// Sends each case of a server-streaming RPC, reads the stream to its end
/// and judges the answer.
macro_rules! sweep_stream {
    ($sweep:expr, $service:expr, $rpc:literal, $client:expr, $method:ident, $cases:expr) => {{
        for Case {
            name,
            who,
            message,
            refuse,
        } in $cases
        {
            let mut client = $client.clone();
            let result = drain(client.$method(request(who, message))).await;
            $sweep.check($service, $rpc, &name, refuse, result).await;
        }
    }};
}

// ---------------------------------------------------------------------------
// Fixtures.

/// What the sweep needs to exist: real ids to aim near, real page tokens
/// to misuse.
struct Fixtures {
    /// Alice's skill with version 1 published and version 2 the draft.
    skill: reg::Skill,
    /// A second skill of Alice's.
    other_skill: reg::Skill,
    /// Alice's workshop with Bob as editor, a session and two build packs.
    workshop: ws::WorkshopInfo,
    /// Alice's second workshop, shared.
    shared: ws::WorkshopInfo,
    share_token: String,
    session_id: String,
    ready_pack: String,
    pending_pack: String,
    /// Real page tokens, by the query they belong to.
    tokens: Vec<(String, String)>,
}

async fn fixtures(app: &TestApp) -> Fixtures {
    let skill = create_skill(app, ALICE, "sweep-alpha").await;
    let other_skill = create_skill(app, ALICE, "sweep-beta").await;
    let mut registry = app.registry();
    for publish in [true, false] {
        registry
            .create_skill_version(as_user(
                ALICE,
                reg::CreateSkillVersionRequest {
                    skill_id: skill.id.clone(),
                    content: format!(
                        "---\nname: Sweep\ndescription: A skill\nlicense: MIT\n---\n# Body {publish}\n"
                    )
                    .into_bytes(),
                    content_type: "text/markdown".to_owned(),
                    publish,
                    ..Default::default()
                },
            ))
            .await
            .expect("create a fixture version");
    }
    for (user, stars) in [(ALICE, 5), (BOB, 4)] {
        registry
            .rate_skill(as_user(
                user,
                reg::RateSkillRequest {
                    request_id: String::new(),
                    skill_id: skill.id.clone(),
                    stars,
                    comment: "fine".to_owned(),
                    hours_saved_estimate: Some(2),
                },
            ))
            .await
            .expect("rate the fixture skill");
    }
    let mut tokens = Vec::new();
    let page = registry
        .list_skills(as_user(
            ALICE,
            reg::ListSkillsRequest {
                page_size: 1,
                ..Default::default()
            },
        ))
        .await
        .expect("list skills")
        .into_inner();
    tokens.push(("ListSkills".to_owned(), page.next_page_token));
    let page = registry
        .list_skill_versions(as_user(
            ALICE,
            reg::ListSkillVersionsRequest {
                skill_id: skill.id.clone(),
                page_size: 1,
                page_token: String::new(),
            },
        ))
        .await
        .expect("list versions")
        .into_inner();
    tokens.push(("ListSkillVersions".to_owned(), page.next_page_token));
    let page = registry
        .list_ratings(as_user(
            ALICE,
            reg::ListRatingsRequest {
                skill_id: skill.id.clone(),
                page_size: 1,
                page_token: String::new(),
            },
        ))
        .await
        .expect("list ratings")
        .into_inner();
    tokens.push(("ListRatings".to_owned(), page.next_page_token));

    let mut workshops = app.workshop();
    let mut create = async |title: &str| {
        workshops
            .create_workshop(as_user(
                ALICE,
                ws::CreateWorkshopRequest {
                    title: title.to_owned(),
                    original_idea: "Refuse hostile input".to_owned(),
                    ..Default::default()
                },
            ))
            .await
            .expect("create a fixture workshop")
            .into_inner()
            .workshop
            .expect("workshop")
    };
    let workshop = create("Sweep workshop").await;
    let shared = create("Shared sweep workshop").await;
    let mut workshops = app.workshop();
    workshops
        .add_member(as_user(
            ALICE,
            ws::AddMemberRequest {
                request_id: String::new(),
                workshop_id: workshop.id.clone(),
                user_id: BOB.to_owned(),
                role: "editor".to_owned(),
            },
        ))
        .await
        .expect("add Bob");
    let session_id = workshops
        .update_workshop_step(as_user(
            ALICE,
            ws::UpdateWorkshopStepRequest {
                workshop_id: workshop.id.clone(),
                step_id: "empathize".to_owned(),
                status: ws::StepStatus::InProgress.into(),
                output: Some(object("note", value(Kind::StringValue("x".to_owned())))),
                ..Default::default()
            },
        ))
        .await
        .expect("update a step")
        .into_inner()
        .session
        .expect("session")
        .id;
    let mut pack = async |format: ws::BuildPackFormat| {
        workshops
            .create_build_pack(as_user(
                ALICE,
                ws::CreateBuildPackRequest {
                    request_id: String::new(),
                    workshop_id: workshop.id.clone(),
                    format: format.into(),
                },
            ))
            .await
            .expect("create a build pack")
            .into_inner()
            .build_pack
            .expect("build pack")
            .id
    };
    let ready_pack = pack(ws::BuildPackFormat::Markdown).await;
    app.drain_outbox(1).await;
    let pending_pack = pack(ws::BuildPackFormat::Pdf).await;
    let mut workshops = app.workshop();
    let share_token = workshops
        .share_workshop(as_user(
            ALICE,
            ws::ShareWorkshopRequest {
                id: shared.id.clone(),
                shared: true,
            },
        ))
        .await
        .expect("share")
        .into_inner()
        .share_token;
    let page = workshops
        .list_workshops(as_user(
            ALICE,
            ws::ListWorkshopsRequest {
                page_size: 1,
                ..Default::default()
            },
        ))
        .await
        .expect("list workshops")
        .into_inner();
    tokens.push(("ListWorkshops".to_owned(), page.next_page_token));
    let page = workshops
        .list_members(as_user(
            ALICE,
            ws::ListMembersRequest {
                workshop_id: workshop.id.clone(),
                page_size: 1,
                page_token: String::new(),
            },
        ))
        .await
        .expect("list members")
        .into_inner();
    tokens.push(("ListMembers".to_owned(), page.next_page_token));
    let page = workshops
        .list_build_packs(as_user(
            ALICE,
            ws::ListBuildPacksRequest {
                workshop_id: workshop.id.clone(),
                page_size: 1,
                page_token: String::new(),
            },
        ))
        .await
        .expect("list build packs")
        .into_inner();
    tokens.push(("ListBuildPacks".to_owned(), page.next_page_token));
    for (query, token) in &tokens {
        assert!(!token.is_empty(), "the fixtures give {query} a second page");
    }
    Fixtures {
        skill,
        other_skill,
        workshop,
        shared,
        share_token,
        session_id,
        ready_pack,
        pending_pack,
        tokens,
    }
}

mod outbox;
mod raw;
mod read_back;
mod registry;
mod signals;
mod values;
mod workshop;

use self::outbox::sweep_outbox;
use self::raw::sweep_raw;
use self::read_back::sweep_read_back;
use self::registry::sweep_registry;
use self::signals::sweep_signals;
use self::values::*;
use self::workshop::sweep_workshop;

// ---------------------------------------------------------------------------
// The test.

#[tokio::test(flavor = "multi_thread")]
async fn every_rpc_refuses_hostile_input_cleanly() {
    let app = TestApp::start().await;
    let fx = fixtures(&app).await;
    let mut sweep = Sweep::new(&app);

    sweep_registry(&mut sweep, &fx).await;
    sweep_workshop(&mut sweep, &fx).await;
    sweep_signals(&mut sweep, &fx).await;
    sweep_read_back(&mut sweep, &fx).await;
    sweep_outbox(&mut sweep, &fx).await;
    sweep_raw(&mut sweep, &fx).await;

    // 5. The server still answers: the fixture skill, and health.
    let alive = settle(app.registry().get_skill(request(
        Who::User(ALICE),
        reg::GetSkillRequest {
            selector: Some(reg::get_skill_request::Selector::Id(fx.skill.id.clone())),
        },
    )))
    .await;
    if let Err(status) = &alive {
        sweep.failures.push(Failure {
            rpc: "SkillRegistry/GetSkill".to_owned(),
            case: "liveness after the sweep".to_owned(),
            code: status.code(),
            problems: vec!["the server no longer answers"],
            message: prefix(status.message()),
        });
    }
    let health = settle(app.health().check(tonic_health::pb::HealthCheckRequest {
        service: String::new(),
    }))
    .await;
    let serving = health.as_ref().is_ok_and(|r| {
        r.get_ref().status == tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    });
    if !serving {
        sweep.failures.push(Failure {
            rpc: "grpc.health.v1.Health/Check".to_owned(),
            case: "liveness after the sweep".to_owned(),
            code: health.as_ref().err().map_or(Code::Ok, Status::code),
            problems: vec!["health is not SERVING"],
            message: String::new(),
        });
    }

    sweep.report();
    let services: BTreeSet<&str> = sweep.rpcs.keys().copied().collect();
    assert_eq!(
        services,
        [REGISTRY, WORKSHOP, SIGNALS, OUTBOX].into_iter().collect(),
        "every service is swept"
    );
    assert_eq!(sweep.rpcs[REGISTRY].len(), 15, "every SkillRegistry RPC");
    assert_eq!(sweep.rpcs[WORKSHOP].len(), 22, "every Workshop RPC");
    assert_eq!(sweep.rpcs[SIGNALS].len(), 27, "every Signals RPC");
    assert_eq!(sweep.rpcs[OUTBOX].len(), 3, "every Outbox RPC");
    // Every RPC was driven into at least one error, so every RPC's errors
    // were checked for their ErrorInfo, catalogue reason and details.
    assert_eq!(
        sweep.refused_rpcs.len(),
        15 + 22 + 27 + 3,
        "{:?}",
        sweep.refused_rpcs
    );
    assert!(sweep.total() >= 300, "at least 300 hostile requests");
    assert!(
        sweep.tonic_refusals.is_empty(),
        "tonic's own refusals reached the client without ErrorInfo:\n{}",
        sweep.tonic_refusals.join("\n")
    );
    assert!(
        sweep.failures.is_empty(),
        "{} of {} hostile requests were not refused cleanly:\n{}",
        sweep.failures.len(),
        sweep.total(),
        sweep
            .failures
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
}
