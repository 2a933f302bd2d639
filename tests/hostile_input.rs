//! A bad-input sweep over every RPC of every service (SkillRegistry,
//! Workshop, Outbox), black box, through the generated clients.
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
//! 2. a failure carries a `google.rpc.ErrorInfo` in the `atelier` domain —
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
// Hostile values.

/// Text no field should choke on, by name.
fn hostile_texts() -> Vec<(&'static str, String)> {
    vec![
        ("NUL a\\0b", "a\0b".to_owned()),
        ("only a NUL", "\0".to_owned()),
        ("3 MB of text", "x".repeat(3 * 1024 * 1024)),
        ("100,000 characters", "é".repeat(100_000)),
        (
            "control characters",
            "a\u{1}b\u{7}\u{1b}[2J\u{7f}\u{9b}c\r\n".to_owned(),
        ),
        (
            "emoji and RTL",
            "🔥👩‍👩‍👧‍👦 \u{202e}txet desrever\u{202c} שלום مرحبا".to_owned(),
        ),
        (
            "whitespace only",
            " \t\r\n\u{a0}\u{3000}\u{2028}".to_owned(),
        ),
        ("200 astral characters (800 bytes)", "𝕏".repeat(200)),
        (
            "zero-width and combining marks",
            "\u{200b}\u{feff}e\u{301}\u{301}\u{301}\u{200d}".to_owned(),
        ),
        (
            "SQL and format metacharacters",
            "'; DROP TABLE skills; -- %s %n {} \\ $1 ${x}".to_owned(),
        ),
    ]
}

/// Ids no id field should choke on; `real` is the id of an existing
/// resource, used to build near-misses of it.
fn hostile_ids(real: &str) -> Vec<(&'static str, String, bool)> {
    let mut nul_inside = real.to_owned();
    if !nul_inside.is_empty() {
        nul_inside.replace_range(0..1, "\0");
    }
    // The third element: malformed, so it must be refused (a well-formed
    // id may name something or nothing).
    vec![
        ("not-a-uuid", "not-a-uuid".to_owned(), true),
        ("3 MB id", "a".repeat(3 * 1024 * 1024), true),
        ("nil uuid", uuid::Uuid::nil().to_string(), false),
        ("random uuid", uuid::Uuid::new_v4().to_string(), false),
        (
            "max uuid",
            "ffffffff-ffff-ffff-ffff-ffffffffffff".to_owned(),
            false,
        ),
        ("real id + NUL", format!("{real}\0"), true),
        ("real id with a NUL inside", nul_inside, true),
        ("real id + spaces", format!("{real}   "), true),
        ("real id as urn:uuid", format!("urn:uuid:{real}"), false),
        ("empty", String::new(), true),
        ("emoji", "🔥".to_owned(), true),
    ]
}

/// Etags a write must refuse (never the empty one, which means "any").
fn hostile_etags() -> Vec<(&'static str, String)> {
    vec![
        ("garbage etag", "W/\"garbage\"".to_owned()),
        ("1 MB etag", "e".repeat(1024 * 1024)),
        ("etag with NUL", "1\0".to_owned()),
        ("etag *", "*".to_owned()),
        ("etag of emoji", "🔥".repeat(10)),
    ]
}

/// Page tokens a List RPC must refuse (or, for a real token of its own
/// query, may honour); `real` are tokens the server issued for various
/// queries. The third element says the token must be refused.
fn hostile_tokens(real: &[(String, String)]) -> Vec<(String, String, bool)> {
    let mut random = [0_u8; 48];
    getrandom::fill(&mut random).expect("randomness");
    let mut tokens = vec![
        (
            "garbage token".to_owned(),
            "!!not a token!!".to_owned(),
            true,
        ),
        (
            "base64 garbage token".to_owned(),
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random),
            true,
        ),
        (
            "padded standard base64 token".to_owned(),
            "AAAA/+8=".to_owned(),
            true,
        ),
        ("1 MB token".to_owned(), "A".repeat(1024 * 1024), true),
        ("token with NUL".to_owned(), "abc\0def".to_owned(), true),
    ];
    for (label, token) in real {
        tokens.push((format!("token of {label}"), token.clone(), false));
        let mut flipped = token.clone().into_bytes();
        if let Some(last) = flipped.last_mut() {
            *last = if *last == b'A' { b'B' } else { b'A' };
        }
        tokens.push((
            format!("token of {label}, last character changed"),
            String::from_utf8(flipped).expect("base64 is ASCII"),
            true,
        ));
        tokens.push((
            format!("token of {label}, truncated"),
            token[..token.len() / 2].to_owned(),
            true,
        ));
    }
    tokens
}

/// Page sizes outside 0–500.
const HOSTILE_PAGE_SIZES: [i32; 4] = [-1, 501, i32::MAX, i32::MIN];
/// Enum numbers no enum field defines.
const HOSTILE_ENUMS: [i32; 3] = [999, -1, i32::MIN];

/// A `Value` of `kind`.
fn value(kind: Kind) -> prost_types::Value {
    prost_types::Value { kind: Some(kind) }
}

/// A Struct of one field.
fn object(key: &str, inner: prost_types::Value) -> prost_types::Struct {
    prost_types::Struct {
        fields: [(key.to_owned(), inner)].into_iter().collect(),
    }
}

/// A Struct nested `levels` deep (the outermost is level 1).
fn nested_struct(levels: usize) -> prost_types::Struct {
    let mut inner = object("leaf", value(Kind::NumberValue(1.0)));
    for _ in 1..levels {
        inner = object("n", value(Kind::StructValue(inner)));
    }
    inner
}

/// A Struct holding lists nested `levels` deep.
fn nested_list(levels: usize) -> prost_types::Struct {
    let mut inner = value(Kind::NumberValue(1.0));
    for _ in 0..levels {
        inner = value(Kind::ListValue(prost_types::ListValue {
            values: vec![inner],
        }));
    }
    object("l", inner)
}

/// The ten steps of every workshop, in order.
const STEPS: [&str; 10] = [
    "empathize",
    "define",
    "ideate",
    "prototype",
    "test",
    "prioritize",
    "architect",
    "spec",
    "story",
    "pack",
];

/// Step outputs, and whether the server must refuse them (the others it
/// may store as they are).
fn hostile_outputs() -> Vec<(String, prost_types::Struct, bool)> {
    let mut outputs = Vec::new();
    for levels in [32, 33, 34, 40, 60, 90] {
        outputs.push((
            format!("Struct nested {levels} levels"),
            nested_struct(levels),
            levels > 32,
        ));
    }
    for levels in [31, 33, 40, 45] {
        outputs.push((
            format!("lists nested {levels} levels"),
            nested_list(levels),
            levels > 31,
        ));
    }
    for (label, number) in [
        ("NaN", f64::NAN),
        ("+Infinity", f64::INFINITY),
        ("-Infinity", f64::NEG_INFINITY),
    ] {
        outputs.push((
            format!("{label} in a nested list"),
            object(
                "a",
                value(Kind::ListValue(prost_types::ListValue {
                    values: vec![
                        value(Kind::NumberValue(1.0)),
                        value(Kind::StructValue(object(
                            "x",
                            value(Kind::NumberValue(number)),
                        ))),
                    ],
                })),
            ),
            true,
        ));
    }
    outputs.push((
        "NUL in a key".to_owned(),
        object("a\0b", value(Kind::BoolValue(true))),
        true,
    ));
    outputs.push((
        "NUL in a value".to_owned(),
        object("k", value(Kind::StringValue("a\0b".to_owned()))),
        true,
    ));
    outputs.push((
        "NUL in a deep key".to_owned(),
        object(
            "outer",
            value(Kind::StructValue(object("\0", value(Kind::NullValue(0))))),
        ),
        true,
    ));
    outputs.push((
        "200,000 keys".to_owned(),
        prost_types::Struct {
            fields: (0..200_000)
                .map(|i| (format!("k{i}"), value(Kind::BoolValue(true))))
                .collect(),
        },
        true,
    ));
    outputs.push((
        "a 3 MB string".to_owned(),
        object("s", value(Kind::StringValue("s".repeat(3 * 1024 * 1024)))),
        true,
    ));
    outputs.push((
        "a 100,000-character key".to_owned(),
        object(&"k".repeat(100_000), value(Kind::BoolValue(true))),
        false,
    ));
    outputs.push((
        "a value with no kind".to_owned(),
        object("k", prost_types::Value { kind: None }),
        false,
    ));
    outputs.push((
        "an unknown null enum number".to_owned(),
        object("k", value(Kind::NullValue(999))),
        false,
    ));
    outputs.push((
        "control characters and RTL".to_owned(),
        object(
            "\u{202e}\u{1}",
            value(Kind::StringValue(
                "\u{1b}[31m\u{7}\u{202e}שלום 🔥".to_owned(),
            )),
        ),
        false,
    ));
    outputs.push((
        "emoji keys, empty key, huge numbers".to_owned(),
        prost_types::Struct {
            fields: [
                ("🔥".to_owned(), value(Kind::NumberValue(1e308))),
                (String::new(), value(Kind::NumberValue(-0.0))),
                ("tiny".to_owned(), value(Kind::NumberValue(5e-324))),
                (
                    "big int".to_owned(),
                    value(Kind::NumberValue(9.007_199_254_740_993e15)),
                ),
            ]
            .into_iter()
            .collect(),
        },
        false,
    ));
    outputs
}

/// SKILL.md contents whose front matter is hostile, and whether the server
/// must refuse them (malformed or over a limit) or may accept them.
fn hostile_markdown() -> Vec<(String, Vec<u8>, bool)> {
    let mut deep = b"---\nx:\n".to_vec();
    deep.extend(b"- ".repeat(5_000));
    deep.extend(b"a\n---\n# body\n");
    let mut bomb = String::from("---\nl0: &l0 [x,x,x,x,x,x,x,x,x,x]\n");
    for level in 1..=9 {
        let previous = format!("*l{}", level - 1);
        let items = [previous.as_str(); 10].join(",");
        bomb.push_str(&format!("l{level}: &l{level} [{items}]\n"));
    }
    bomb.push_str("---\n# body\n");
    let long = "y".repeat(10_000);
    let refused = |label: &str, content: Vec<u8>| (label.to_owned(), content, true);
    let either = |label: &str, content: Vec<u8>| (label.to_owned(), content, false);
    vec![
        refused("front matter nested 5,000 deep", deep),
        refused("YAML alias bomb, 9 levels", bomb.into_bytes()),
        refused(
            "front matter with a raw NUL in a value",
            b"---\nname: a\0b\ndescription: after the NUL\n---\n# body\n".to_vec(),
        ),
        refused(
            "front matter with a raw NUL line",
            b"---\nlicense: MIT\n\0\nname: after the NUL\n---\n".to_vec(),
        ),
        refused(
            "front matter with an escaped NUL",
            b"---\nname: \"a\\0b\"\ndescription: d\n---\n".to_vec(),
        ),
        refused(
            "front matter with a NUL in a key",
            b"---\n\"k\\0\": v\n---\n".to_vec(),
        ),
        refused(
            "flow sequence 5,000 deep",
            format!("---\nx: {}{}\n---\n", "[".repeat(5_000), "]".repeat(5_000)).into_bytes(),
        ),
        refused(
            "flow mapping 5,000 deep",
            format!("---\nx: {}1{}\n---\n", "{a: ".repeat(5_000), "}".repeat(5_000))
                .into_bytes(),
        ),
        refused("unclosed front matter", b"---\nname: x\nno end\n".to_vec()),
        refused(
            "front matter that is not UTF-8",
            b"---\nname: \xff\xfe\n---\n".to_vec(),
        ),
        refused("front matter that is a list", b"---\n- a\n- b\n---\n".to_vec()),
        refused("malformed YAML", b"---\nname: [unclosed\n---\n".to_vec()),
        refused("an unknown alias", b"---\nx: *nowhere\n---\n".to_vec()),
        refused("a self-referential alias", b"---\na: &a [1, *a]\n---\n".to_vec()),
        refused("a sequence as a key", b"---\n? [a, b]\n: c\n---\n".to_vec()),
        refused(
            "a 300-character name",
            format!("---\nname: {}\n---\n", "n".repeat(300)).into_bytes(),
        ),
        refused(
            "a 5,000-character description",
            format!("---\ndescription: {}\n---\n", "d".repeat(5_000)).into_bytes(),
        ),
        refused(
            "a long string repeated by aliases",
            format!("---\na: &a {long}\nb: [*a, *a, *a, *a, *a, *a, *a]\n---\n").into_bytes(),
        ),
        refused(
            "11,000 scalars",
            format!("---\nk: [{}]\n---\n", ["1"; 11_000].join(",")).into_bytes(),
        ),
        refused("an opening line and nothing after it", b"---\n".to_vec()),
        refused(
            "front matter past the 64 KiB window",
            format!("---\nname: x\npad: {}\n---\n", "p".repeat(70_000)).into_bytes(),
        ),
        either(
            "non-finite and huge numbers",
            b"---\na: .nan\nb: -.inf\nc: 1e400\nd: 99999999999999999999999999\ne: 0x7fffffffffffffffffff\nf: -0\n---\n"
                .to_vec(),
        ),
        either(
            "tags",
            b"---\na: !!binary aGVsbG8=\nb: !!python/object:os.system ls\nc: !custom x\nd: !!str 12\n---\n"
                .to_vec(),
        ),
        either("several documents", b"---\na: 1\n...\n--- \nb: 2\n---\n".to_vec()),
        either(
            "CRLF lines and emoji keys",
            "---\r\nname: ok\r\n\u{1f525}: \u{202e}x\r\n---\r\n"
                .as_bytes()
                .to_vec(),
        ),
        either(
            "mappings nested 31 deep",
            format!("---\nx: {}1{}\n---\n", "{a: ".repeat(30), "}".repeat(30)).into_bytes(),
        ),
    ]
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
                    Some(_) => {}
                }
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

// ---------------------------------------------------------------------------
// SkillRegistry.

async fn sweep_registry(sweep: &mut Sweep<'_>, fx: &Fixtures) {
    let client = sweep.app.registry();
    let alice = Who::User(ALICE);
    let skill_id = fx.skill.id.clone();

    // CreateSkill: every field; each case gets its own slug, so a value
    // that is (rightly) accepted does not turn later cases into SLUG_TAKEN.
    let mut cases = Cases::new(
        alice,
        reg::CreateSkillRequest {
            slug: "hostile-base".to_owned(),
            name: "Hostile".to_owned(),
            description: "Hostile input".to_owned(),
            category: reg::SkillCategory::Prompt.into(),
            hours_saved: None,
            request_id: String::new(),
        },
    );
    cases
        .texts("slug", |m, t| m.slug = t)
        .texts("name", |m, t| m.name = t)
        .texts("description", |m, t| m.description = t)
        .texts("request_id", |m, t| m.request_id = t)
        .enums("category", |m, n| m.category = n)
        .refused("category: UNSPECIFIED", |m| m.category = 0)
        .refused("name: 5 MB (over the decoding limit)", |m| {
            m.name = "n".repeat(5 * 1024 * 1024);
        });
    for hours in [-1, 10_001, i32::MAX, i32::MIN] {
        cases.refused(format!("hours_saved: {hours}"), |m| {
            m.hours_saved = Some(hours)
        });
    }
    let mut list = cases.into_cases();
    for (index, case) in list.iter_mut().enumerate() {
        if case.message.slug == "hostile-base" {
            case.message.slug = format!("hostile-{index}");
        }
    }
    sweep_unary!(sweep, REGISTRY, "CreateSkill", client, create_skill, list);

    // GetSkill.
    use reg::get_skill_request::Selector;
    let mut cases = Cases::open(
        alice,
        reg::GetSkillRequest {
            selector: Some(Selector::Id(skill_id.clone())),
        },
    );
    cases
        .ids("id", &skill_id, |m, id| m.selector = Some(Selector::Id(id)))
        .texts("slug", |m, t| m.selector = Some(Selector::Slug(t)))
        .refused("no selector", |m| m.selector = None)
        .refused("slug: the id", |m| {
            m.selector = Some(Selector::Slug(skill_id.clone()))
        });
    sweep_unary!(
        sweep,
        REGISTRY,
        "GetSkill",
        client,
        get_skill,
        cases.into_cases()
    );

    // ListSkills.
    let mut cases = Cases::open(alice, reg::ListSkillsRequest::default());
    cases
        .pages(&fx.tokens, |m, s| m.page_size = s, |m, t| m.page_token = t)
        .enums("category", |m, n| m.category = n)
        .enums("order_by", |m, n| m.order_by = n)
        .texts("author_id", |m, t| m.author_id = t)
        .texts("query", |m, t| m.query = t)
        .refused("order_by: RELEVANCE without a query", |m| {
            m.order_by = reg::SkillOrder::Relevance.into();
        });
    for (label, query) in [
        ("200 dashes", "-".repeat(200)),
        ("66 negated words", "-a ".repeat(66)),
        ("negated quotes", "-\"".repeat(100)),
        ("alternating dash and quote", "\"-".repeat(100)),
        ("100 ORs", "or ".repeat(66)),
        ("tsquery operators", "!(a & b) | c:* <-> d <2> e".repeat(7)),
        ("200 quotes", "\"".repeat(200)),
        ("200 backslashes", "\\".repeat(200)),
        ("200 apostrophes", "'".repeat(200)),
        ("201 characters", "q".repeat(201)),
        ("one 200-character word", "w".repeat(200)),
        ("stop words only", "the a an of ".repeat(10)),
    ] {
        let refuse = query.chars().count() > 200;
        cases.expect(refuse, format!("query: {label}"), |m| m.query = query);
    }
    let skills_token = fx.tokens[0].1.clone();
    cases
        .refused("page_token: ListSkills token with another order", |m| {
            m.order_by = reg::SkillOrder::MostUsed.into();
            m.page_token = skills_token.clone();
        })
        .refused("page_token: ListSkills token with a category", |m| {
            m.category = reg::SkillCategory::Agent.into();
            m.page_token = skills_token.clone();
        })
        .refused("page_token: ListSkills token with a query", |m| {
            m.query = "sweep".to_owned();
            m.page_token = skills_token.clone();
        });
    sweep_unary!(
        sweep,
        REGISTRY,
        "ListSkills",
        client,
        list_skills,
        cases.into_cases()
    );

    // UpdateSkill: ids, masks, values, etags; as the author and not.
    let base_skill = reg::Skill {
        id: skill_id.clone(),
        name: "Renamed".to_owned(),
        description: "Still a skill".to_owned(),
        category: reg::SkillCategory::Workflow.into(),
        hours_saved: 3,
        ..Default::default()
    };
    let mask = |paths: &[&str]| prost_types::FieldMask {
        paths: paths.iter().map(|p| (*p).to_owned()).collect(),
    };
    let mut cases = Cases::new(
        alice,
        reg::UpdateSkillRequest {
            skill: Some(base_skill),
            update_mask: Some(mask(&["name"])),
        },
    );
    fn skill_of(m: &mut reg::UpdateSkillRequest) -> &mut reg::Skill {
        m.skill.get_or_insert_with(Default::default)
    }
    cases
        .ids("skill.id", &skill_id, |m, id| skill_of(m).id = id)
        .texts("skill.name", |m, t| skill_of(m).name = t)
        .refused("no skill", |m| m.skill = None)
        .refused("no update_mask", |m| m.update_mask = None)
        .refused_as(Who::User(BOB), "as a non-author", |_| {})
        .etags(|m, e| skill_of(m).etag = e)
        .case("output-only fields set to absurd values", |m| {
            let skill = skill_of(m);
            skill.slug = "\0".to_owned();
            skill.author_id = "a".repeat(1024 * 1024);
            skill.published_version = Some(u32::MAX);
            skill.total_uses = -1;
            skill.average_rating_x100 = i32::MIN;
            skill.create_time = Some(prost_types::Timestamp {
                seconds: i64::MAX,
                nanos: -1,
            });
        });
    for field in ["description", "category", "hours_saved"] {
        let paths = mask(&[field]);
        cases.case(
            format!("update_mask [{field}] with the default value"),
            |m| {
                m.update_mask = Some(paths);
                let skill = skill_of(m);
                skill.description = String::new();
                skill.category = 0;
            },
        );
    }
    for (label, text) in hostile_texts() {
        let refuse = invalid_anywhere(&text) || text.trim().is_empty();
        cases.expect(refuse, format!("skill.description: {label}"), |m| {
            m.update_mask = Some(mask(&["description"]));
            skill_of(m).description = text;
        });
    }
    for number in HOSTILE_ENUMS {
        cases.refused(format!("skill.category: {number}"), |m| {
            m.update_mask = Some(mask(&["category"]));
            skill_of(m).category = number;
        });
    }
    for hours in [-1, 10_001, i32::MAX, i32::MIN] {
        cases.refused(format!("skill.hours_saved: {hours}"), |m| {
            m.update_mask = Some(mask(&["hours_saved"]));
            skill_of(m).hours_saved = hours;
        });
    }
    for (label, paths, refuse) in hostile_masks("name") {
        cases.expect(refuse, format!("update_mask: {label}"), |m| {
            m.update_mask = Some(prost_types::FieldMask { paths });
        });
    }
    sweep_unary!(
        sweep,
        REGISTRY,
        "UpdateSkill",
        client,
        update_skill,
        cases.into_cases()
    );

    // DeleteSkill: the base etag is stale, so no case can delete the
    // fixture skill.
    let mut cases = Cases::new(
        alice,
        reg::DeleteSkillRequest {
            id: skill_id.clone(),
            etag: "stale".to_owned(),
        },
    );
    cases
        .ids("id", &skill_id, |m, id| m.id = id)
        .etags(|m, e| m.etag = e)
        .refused_as(Who::User(BOB), "as a non-author, no etag", |m| {
            m.etag.clear()
        });
    sweep_unary!(
        sweep,
        REGISTRY,
        "DeleteSkill",
        client,
        delete_skill,
        cases.into_cases()
    );

    // CreateSkillVersion: fields, content types, hashes, content.
    let mut cases = Cases::new(
        alice,
        reg::CreateSkillVersionRequest {
            skill_id: skill_id.clone(),
            content: b"# A version\n".to_vec(),
            content_type: "text/markdown".to_owned(),
            ..Default::default()
        },
    );
    cases
        .ids("skill_id", &skill_id, |m, id| m.skill_id = id)
        .texts("content_type", |m, t| m.content_type = t)
        .texts("name", |m, t| m.name = t)
        .texts("description", |m, t| m.description = t)
        .texts("expected_sha256", |m, t| m.expected_sha256 = t)
        .refused("expected_sha256: 64 hex digits of another content", |m| {
            m.expected_sha256 = "ab".repeat(32);
        })
        .refused("content: empty", |m| m.content.clear())
        .refused("content: 3 MB (over the inline limit)", |m| {
            m.content = vec![b'x'; 3 * 1024 * 1024];
        })
        .refused("content: 1 MiB + 1 byte", |m| {
            m.content = vec![b'x'; 1024 * 1024 + 1]
        })
        .refused_as(Who::User(BOB), "as a non-author", |_| {})
        .case("publish a version of another skill's id", |m| {
            m.skill_id = fx.other_skill.id.clone();
            m.publish = true;
        });
    for (label, content_type, refuse) in [
        ("NUL in a parameter", "text/markdown; charset=\0", true),
        ("no subtype", "text/", true),
        ("slash only", "/", true),
        ("three parts", "a/b/c", true),
        ("parameters only", "; charset=utf-8", true),
        ("emoji parameter", "text/markdown; x=🔥", false),
        ("uppercase markdown", "TEXT/MARKDOWN; CHARSET=UTF-8", false),
    ] {
        cases.expect(refuse, format!("content_type: {label}"), |m| {
            m.content_type = content_type.to_owned();
        });
    }
    for (label, content, refuse) in hostile_markdown() {
        cases.expect(refuse, format!("content: {label}"), |m| m.content = content);
    }
    sweep_unary!(
        sweep,
        REGISTRY,
        "CreateSkillVersion",
        client,
        create_skill_version,
        cases.into_cases()
    );

    sweep_upload(sweep, fx).await;

    // GetSkillVersion, ReadSkillVersionContent: ids × version numbers.
    let versions = [
        ("version: 0", 0),
        ("version: u32::MAX", u32::MAX),
        ("version: i32::MAX + 1", 1 << 31),
        ("version: 999", 999),
    ];
    let mut cases = Cases::open(
        alice,
        reg::GetSkillVersionRequest {
            skill_id: skill_id.clone(),
            version: 1,
        },
    );
    cases.ids("skill_id", &skill_id, |m, id| m.skill_id = id);
    for (label, version) in versions {
        cases.refused(label, |m| m.version = version);
    }
    sweep_unary!(
        sweep,
        REGISTRY,
        "GetSkillVersion",
        client,
        get_skill_version,
        cases.into_cases()
    );
    let mut cases = Cases::open(
        alice,
        reg::ReadSkillVersionContentRequest {
            skill_id: skill_id.clone(),
            version: 1,
        },
    );
    cases.ids("skill_id", &skill_id, |m, id| m.skill_id = id);
    for (label, version) in versions {
        cases.refused(label, |m| m.version = version);
    }
    sweep_stream!(
        sweep,
        REGISTRY,
        "ReadSkillVersionContent",
        client,
        read_skill_version_content,
        cases.into_cases()
    );

    // ListSkillVersions, ListRatings: ids and pages.
    let mut cases = Cases::open(
        alice,
        reg::ListSkillVersionsRequest {
            skill_id: skill_id.clone(),
            ..Default::default()
        },
    );
    cases
        .ids("skill_id", &skill_id, |m, id| m.skill_id = id)
        .pages(&fx.tokens, |m, s| m.page_size = s, |m, t| m.page_token = t);
    let versions_token = fx.tokens[1].1.clone();
    cases.refused(
        "page_token: ListSkillVersions token of another skill",
        |m| {
            m.skill_id = fx.other_skill.id.clone();
            m.page_token = versions_token;
        },
    );
    sweep_unary!(
        sweep,
        REGISTRY,
        "ListSkillVersions",
        client,
        list_skill_versions,
        cases.into_cases()
    );
    let mut cases = Cases::open(
        alice,
        reg::ListRatingsRequest {
            skill_id: skill_id.clone(),
            ..Default::default()
        },
    );
    cases
        .ids("skill_id", &skill_id, |m, id| m.skill_id = id)
        .pages(&fx.tokens, |m, s| m.page_size = s, |m, t| m.page_token = t);
    let ratings_token = fx.tokens[2].1.clone();
    cases.refused("page_token: ListRatings token of another skill", |m| {
        m.skill_id = fx.other_skill.id.clone();
        m.page_token = ratings_token;
    });
    sweep_unary!(
        sweep,
        REGISTRY,
        "ListRatings",
        client,
        list_ratings,
        cases.into_cases()
    );

    // PublishSkillVersion.
    let mut cases = Cases::new(
        alice,
        reg::PublishSkillVersionRequest {
            skill_id: skill_id.clone(),
            version: 1,
            etag: String::new(),
        },
    );
    cases
        .ids("skill_id", &skill_id, |m, id| m.skill_id = id)
        .etags(|m, e| m.etag = e)
        .refused_as(Who::User(BOB), "as a non-author", |_| {});
    for (label, version) in versions {
        cases.refused(label, |m| m.version = version);
    }
    sweep_unary!(
        sweep,
        REGISTRY,
        "PublishSkillVersion",
        client,
        publish_skill_version,
        cases.into_cases()
    );

    // RateSkill.
    let mut cases = Cases::new(
        Who::User(BOB),
        reg::RateSkillRequest {
            skill_id: skill_id.clone(),
            stars: 3,
            comment: String::new(),
            hours_saved_estimate: None,
        },
    );
    cases
        .ids("skill_id", &skill_id, |m, id| m.skill_id = id)
        .texts("comment", |m, t| m.comment = t)
        .refused("comment: 2,001 characters", |m| {
            m.comment = "c".repeat(2_001)
        });
    for stars in [0, 6, -1, i32::MAX, i32::MIN, 65_539] {
        cases.refused(format!("stars: {stars}"), |m| m.stars = stars);
    }
    for hours in [-1, 10_001, i32::MAX, i32::MIN] {
        cases.refused(format!("hours_saved_estimate: {hours}"), |m| {
            m.hours_saved_estimate = Some(hours);
        });
    }
    sweep_unary!(
        sweep,
        REGISTRY,
        "RateSkill",
        client,
        rate_skill,
        cases.into_cases()
    );

    // RecordUsage.
    use reg::record_usage_request::Skill as Which;
    let mut cases = Cases::new(
        Who::User(BOB),
        reg::RecordUsageRequest {
            skill: Some(Which::SkillId(skill_id.clone())),
            version: None,
            tool_name: "sweep".to_owned(),
            request_id: String::new(),
        },
    );
    cases
        .ids("skill_id", &skill_id, |m, id| {
            m.skill = Some(Which::SkillId(id))
        })
        .texts("skill_slug", |m, t| m.skill = Some(Which::SkillSlug(t)))
        .texts("tool_name", |m, t| m.tool_name = t)
        .texts("request_id", |m, t| m.request_id = t)
        .refused("no skill", |m| m.skill = None);
    for (label, version) in versions {
        cases.refused(label, |m| m.version = Some(version));
    }
    sweep_unary!(
        sweep,
        REGISTRY,
        "RecordUsage",
        client,
        record_usage,
        cases.into_cases()
    );

    // BatchRecordUsage: sizes, and every entry hostile at once.
    let good = reg::RecordUsageRequest {
        skill: Some(Which::SkillId(skill_id.clone())),
        version: None,
        tool_name: "sweep".to_owned(),
        request_id: String::new(),
    };
    let mut cases = Cases::new(
        Who::User(BOB),
        reg::BatchRecordUsageRequest {
            usages: vec![good.clone()],
        },
    );
    let bad_id = reg::RecordUsageRequest {
        skill: Some(Which::SkillId("not-a-uuid".to_owned())),
        ..good.clone()
    };
    let bad_version = reg::RecordUsageRequest {
        version: Some(0),
        ..good.clone()
    };
    let same_key = reg::RecordUsageRequest {
        request_id: "same-key".to_owned(),
        ..good.clone()
    };
    cases
        .refused("no usages", |m| m.usages.clear())
        .refused("501 usages", |m| m.usages = vec![good.clone(); 501])
        .refused("500 usages with malformed ids", |m| {
            m.usages = vec![bad_id.clone(); 500]
        })
        .refused("500 usages with version 0", |m| {
            m.usages = vec![bad_version.clone(); 500]
        })
        .case("500 usages with one request_id", |m| {
            m.usages = vec![same_key.clone(); 500]
        })
        .refused("second usage without a skill", |m| {
            m.usages.push(reg::RecordUsageRequest {
                skill: None,
                ..good.clone()
            });
        })
        .refused("second usage of a random skill", |m| {
            m.usages.push(reg::RecordUsageRequest {
                skill: Some(Which::SkillId(uuid::Uuid::new_v4().to_string())),
                ..good.clone()
            });
        });
    for (label, text) in hostile_texts() {
        let refuse = invalid_anywhere(&text);
        let entry = reg::RecordUsageRequest {
            tool_name: text,
            ..good.clone()
        };
        cases.expect(refuse, format!("usages[1].tool_name: {label}"), |m| {
            m.usages.push(entry)
        });
    }
    for (label, id, malformed) in hostile_ids(&skill_id) {
        // A well-formed id of no skill is NOT_FOUND: refused all the same.
        let refuse = malformed || !id.contains(&skill_id);
        let entry = reg::RecordUsageRequest {
            skill: Some(Which::SkillId(id)),
            ..good.clone()
        };
        cases.expect(refuse, format!("usages[1].skill_id: {label}"), |m| {
            m.usages.push(entry)
        });
    }
    sweep_unary!(
        sweep,
        REGISTRY,
        "BatchRecordUsage",
        client,
        batch_record_usage,
        cases.into_cases()
    );
}

/// FieldMasks no Update RPC should choke on; `valid` is a path it accepts.
fn hostile_masks(valid: &str) -> Vec<(String, Vec<String>, bool)> {
    vec![
        ("empty".to_owned(), Vec::new(), true),
        ("unknown path".to_owned(), vec!["nope".to_owned()], true),
        ("immutable path id".to_owned(), vec!["id".to_owned()], true),
        (
            "nested path".to_owned(),
            vec![format!("skill.{valid}")],
            true,
        ),
        ("wildcard".to_owned(), vec!["*".to_owned()], true),
        ("path with NUL".to_owned(), vec![format!("{valid}\0")], true),
        ("empty path".to_owned(), vec![String::new()], true),
        (
            "100,000-character path".to_owned(),
            vec!["p".repeat(100_000)],
            true,
        ),
        (
            "3 MB path".to_owned(),
            vec!["p".repeat(3 * 1024 * 1024)],
            true,
        ),
        (
            "10,000 unknown paths".to_owned(),
            (0..10_000).map(|i| format!("unknown_{i}")).collect(),
            true,
        ),
        (
            "10,000 copies of a valid path".to_owned(),
            vec![valid.to_owned(); 10_000],
            false,
        ),
        (
            "a valid path twice".to_owned(),
            vec![valid.to_owned(), valid.to_owned()],
            false,
        ),
    ]
}

/// UploadSkillVersion: a client stream whose messages are each hostile.
async fn sweep_upload(sweep: &mut Sweep<'_>, fx: &Fixtures) {
    use reg::upload_skill_version_request::Payload;
    let client = sweep.app.registry();
    let skill_id = fx.skill.id.clone();
    let header = |h: reg::UploadSkillVersionHeader| reg::UploadSkillVersionRequest {
        payload: Some(Payload::Header(h)),
    };
    let chunk = |bytes: &[u8]| reg::UploadSkillVersionRequest {
        payload: Some(Payload::Chunk(bytes.to_vec())),
    };
    let base = reg::UploadSkillVersionHeader {
        skill_id: skill_id.clone(),
        content_type: "text/markdown".to_owned(),
        ..Default::default()
    };
    let body = b"# Uploaded\n".as_slice();

    // Header fields, each followed by one good chunk.
    let mut cases = Cases::new(Who::User(ALICE), base.clone());
    cases
        .ids("header.skill_id", &skill_id, |m, id| m.skill_id = id)
        .texts("header.content_type", |m, t| m.content_type = t)
        .texts("header.name", |m, t| m.name = t)
        .texts("header.description", |m, t| m.description = t)
        .texts("header.expected_sha256", |m, t| m.expected_sha256 = t)
        .refused_as(Who::User(BOB), "as a non-author", |_| {});
    let mut list: Vec<Case<Vec<reg::UploadSkillVersionRequest>>> = cases
        .into_cases()
        .into_iter()
        .map(|case| Case {
            name: case.name,
            who: case.who,
            message: vec![header(case.message), chunk(body)],
            refuse: case.refuse,
        })
        .collect();

    // The shape of the stream: all but the last must be refused.
    let shapes: Vec<(&str, Vec<reg::UploadSkillVersionRequest>)> = vec![
        ("empty stream", Vec::new()),
        ("a chunk first", vec![chunk(body), header(base.clone())]),
        (
            "two headers",
            vec![header(base.clone()), header(base.clone()), chunk(body)],
        ),
        (
            "a header after a chunk",
            vec![header(base.clone()), chunk(body), header(base.clone())],
        ),
        (
            "a message with no payload",
            vec![reg::UploadSkillVersionRequest { payload: None }],
        ),
        (
            "a header with no payload after it",
            vec![
                header(base.clone()),
                reg::UploadSkillVersionRequest { payload: None },
            ],
        ),
        ("a header and no content", vec![header(base.clone())]),
        (
            "a header and empty chunks",
            vec![header(base.clone()), chunk(b""), chunk(b"")],
        ),
        (
            "a 5 MB chunk (over the decoding limit)",
            vec![header(base.clone()), chunk(&vec![b'x'; 5 * 1024 * 1024])],
        ),
        (
            "a 3 MB chunk",
            vec![header(base.clone()), chunk(&vec![b'x'; 3 * 1024 * 1024])],
        ),
    ];
    let last = shapes.len() - 1;
    for (index, (label, messages)) in shapes.into_iter().enumerate() {
        list.push(Case {
            name: label.to_owned(),
            who: Who::User(ALICE),
            message: messages,
            refuse: index != last,
        });
    }
    // Hostile front matter, whole and split into 7-byte chunks.
    for (label, content, refuse) in hostile_markdown() {
        let mut split = vec![header(base.clone())];
        split.extend(content.chunks(7).map(chunk));
        list.push(Case {
            name: format!("content: {label}"),
            who: Who::User(ALICE),
            message: vec![header(base.clone()), chunk(&content)],
            refuse,
        });
        list.push(Case {
            name: format!("content in 7-byte chunks: {label}"),
            who: Who::User(ALICE),
            message: split,
            refuse,
        });
    }
    for case in list {
        let mut client = client.clone();
        let messages = tokio_stream::iter(case.message);
        let result = settle(client.upload_skill_version(request(case.who, messages)))
            .await
            .map(drop);
        sweep
            .check(
                REGISTRY,
                "UploadSkillVersion",
                &case.name,
                case.refuse,
                result,
            )
            .await;
    }
}

// ---------------------------------------------------------------------------
// Workshop.

async fn sweep_workshop(sweep: &mut Sweep<'_>, fx: &Fixtures) {
    let client = sweep.app.workshop();
    let alice = Who::User(ALICE);
    let workshop_id = fx.workshop.id.clone();

    // CreateWorkshop, as Carol, whose workshops nothing else uses.
    let mut cases = Cases::new(
        Who::User(CAROL),
        ws::CreateWorkshopRequest {
            title: "Hostile".to_owned(),
            original_idea: "Hostile input".to_owned(),
            org_id: String::new(),
            template_id: String::new(),
        },
    );
    cases
        .texts("title", |m, t| m.title = t)
        .texts("original_idea", |m, t| m.original_idea = t)
        .texts("org_id", |m, t| m.org_id = t)
        .texts("template_id", |m, t| m.template_id = t);
    sweep_unary!(
        sweep,
        WORKSHOP,
        "CreateWorkshop",
        client,
        create_workshop,
        cases.into_cases()
    );

    // GetWorkshop.
    let mut cases = Cases::new(
        alice,
        ws::GetWorkshopRequest {
            id: workshop_id.clone(),
        },
    );
    cases.ids("id", &workshop_id, |m, id| m.id = id).refused_as(
        Who::User(CAROL),
        "as a non-member",
        |_| {},
    );
    sweep_unary!(
        sweep,
        WORKSHOP,
        "GetWorkshop",
        client,
        get_workshop,
        cases.into_cases()
    );

    // ListWorkshops.
    let mut cases = Cases::new(alice, ws::ListWorkshopsRequest::default());
    cases
        .pages(&fx.tokens, |m, s| m.page_size = s, |m, t| m.page_token = t)
        .enums("status", |m, n| m.status = n)
        .texts("role", |m, t| m.role = t)
        .refused("role: OWNER", |m| m.role = "OWNER".to_owned())
        .refused("role: 51 characters", |m| m.role = "r".repeat(51));
    let workshops_token = fx
        .tokens
        .iter()
        .find(|(query, _)| query == "ListWorkshops")
        .map(|(_, token)| token.clone())
        .unwrap_or_default();
    cases
        .refused("page_token: ListWorkshops token with a status", |m| {
            m.status = ws::WorkshopStatus::Active.into();
            m.page_token = workshops_token.clone();
        })
        .refused_as(
            Who::User(BOB),
            "page_token: Alice's ListWorkshops token as Bob",
            |m| {
                m.page_token = workshops_token.clone();
            },
        );
    sweep_unary!(
        sweep,
        WORKSHOP,
        "ListWorkshops",
        client,
        list_workshops,
        cases.into_cases()
    );

    // UpdateWorkshop.
    let mut cases = Cases::new(
        alice,
        ws::UpdateWorkshopRequest {
            workshop: Some(ws::WorkshopInfo {
                id: workshop_id.clone(),
                title: "Renamed sweep workshop".to_owned(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["title".to_owned()],
            }),
        },
    );
    fn info(m: &mut ws::UpdateWorkshopRequest) -> &mut ws::WorkshopInfo {
        m.workshop.get_or_insert_with(Default::default)
    }
    let only = |path: &str| {
        Some(prost_types::FieldMask {
            paths: vec![path.to_owned()],
        })
    };
    cases
        .ids("workshop.id", &workshop_id, |m, id| info(m).id = id)
        .texts("workshop.title", |m, t| info(m).title = t)
        .refused("no workshop", |m| m.workshop = None)
        .refused("no update_mask", |m| m.update_mask = None)
        .refused_as(Who::User(CAROL), "as a non-member", |_| {})
        .etags(|m, e| info(m).etag = e)
        .case("output-only fields set to absurd values", |m| {
            let workshop = info(m);
            workshop.owner_id = "\0".to_owned();
            workshop.org_id = "o".repeat(1024 * 1024);
            workshop.current_step_id = "\u{202e}".to_owned();
            workshop.completed_step_count = -1;
            workshop.update_time = Some(prost_types::Timestamp {
                seconds: i64::MIN,
                nanos: i32::MAX,
            });
        });
    for (label, text) in hostile_texts() {
        let refuse = invalid_anywhere(&text) || text.trim().is_empty();
        cases.expect(refuse, format!("workshop.original_idea: {label}"), |m| {
            m.update_mask = only("original_idea");
            info(m).original_idea = text;
        });
    }
    for number in HOSTILE_ENUMS.into_iter().chain([0]) {
        cases
            .refused(format!("workshop.status: {number}"), |m| {
                m.update_mask = only("status");
                info(m).status = number;
            })
            .refused(format!("workshop.visibility: {number}"), |m| {
                m.update_mask = only("visibility");
                info(m).visibility = number;
            });
    }
    cases
        .refused("workshop.status: DRAFT to COMPLETED", |m| {
            m.update_mask = only("status");
            info(m).status = ws::WorkshopStatus::Completed.into();
        })
        .refused("workshop.visibility: SHARED", |m| {
            m.update_mask = only("visibility");
            info(m).visibility = ws::Visibility::Shared.into();
        })
        .refused_as(Who::User(BOB), "workshop.status as an editor", |m| {
            m.update_mask = only("status");
            info(m).status = ws::WorkshopStatus::Active.into();
        });
    for (label, paths, refuse) in hostile_masks("title") {
        cases.expect(refuse, format!("update_mask: {label}"), |m| {
            m.update_mask = Some(prost_types::FieldMask { paths });
        });
    }
    sweep_unary!(
        sweep,
        WORKSHOP,
        "UpdateWorkshop",
        client,
        update_workshop,
        cases.into_cases()
    );

    // DeleteWorkshop: the base etag is stale, so nothing is deleted.
    let mut cases = Cases::new(
        alice,
        ws::DeleteWorkshopRequest {
            id: workshop_id.clone(),
            etag: "stale".to_owned(),
        },
    );
    cases
        .ids("id", &workshop_id, |m, id| m.id = id)
        .etags(|m, e| m.etag = e)
        .refused_as(Who::User(BOB), "as an editor, no etag", |m| m.etag.clear());
    sweep_unary!(
        sweep,
        WORKSHOP,
        "DeleteWorkshop",
        client,
        delete_workshop,
        cases.into_cases()
    );

    // GetSharedWorkshop (before ShareWorkshop can revoke the token).
    let mut cases = Cases::open(
        Who::Missing,
        ws::GetSharedWorkshopRequest {
            share_token: fx.share_token.clone(),
        },
    );
    cases
        .texts("share_token", |m, t| m.share_token = t)
        .refused("share_token: empty", |m| m.share_token.clear())
        .refused("share_token: the workshop id", |m| {
            m.share_token = fx.shared.id.clone();
        })
        .refused("share_token: + NUL", |m| m.share_token.push('\0'))
        .refused("share_token: 1 MB", |m| {
            m.share_token = "t".repeat(1024 * 1024)
        });
    sweep_unary!(
        sweep,
        WORKSHOP,
        "GetSharedWorkshop",
        client,
        get_shared_workshop,
        cases.into_cases()
    );

    // ShareWorkshop, on the unshared fixture workshop.
    let mut cases = Cases::new(
        alice,
        ws::ShareWorkshopRequest {
            id: workshop_id.clone(),
            shared: false,
        },
    );
    cases.ids("id", &workshop_id, |m, id| m.id = id).refused_as(
        Who::User(BOB),
        "as an editor",
        |m| m.shared = true,
    );
    sweep_unary!(
        sweep,
        WORKSHOP,
        "ShareWorkshop",
        client,
        share_workshop,
        cases.into_cases()
    );

    // AddMember, UpdateMember, RemoveMember.
    let mut cases = Cases::new(
        alice,
        ws::AddMemberRequest {
            workshop_id: workshop_id.clone(),
            user_id: "sweep-dave".to_owned(),
            role: "viewer".to_owned(),
        },
    );
    member_cases(&mut cases, &workshop_id, |m| {
        (&mut m.workshop_id, &mut m.user_id, &mut m.role)
    });
    sweep_unary!(
        sweep,
        WORKSHOP,
        "AddMember",
        client,
        add_member,
        cases.into_cases()
    );
    let mut cases = Cases::new(
        alice,
        ws::UpdateMemberRequest {
            workshop_id: workshop_id.clone(),
            user_id: BOB.to_owned(),
            role: "editor".to_owned(),
        },
    );
    member_cases(&mut cases, &workshop_id, |m| {
        (&mut m.workshop_id, &mut m.user_id, &mut m.role)
    });
    cases.refused("demote the last owner", |m| {
        m.user_id = ALICE.to_owned();
        m.role = "viewer".to_owned();
    });
    sweep_unary!(
        sweep,
        WORKSHOP,
        "UpdateMember",
        client,
        update_member,
        cases.into_cases()
    );
    let mut cases = Cases::new(
        alice,
        ws::RemoveMemberRequest {
            workshop_id: workshop_id.clone(),
            user_id: "sweep-nobody".to_owned(),
        },
    );
    cases
        .ids("workshop_id", &workshop_id, |m, id| m.workshop_id = id)
        .texts("user_id", |m, t| m.user_id = t)
        .refused("remove the last owner", |m| m.user_id = ALICE.to_owned())
        .refused_as(Who::User(BOB), "an editor removes the owner", |m| {
            m.user_id = ALICE.to_owned();
        });
    sweep_unary!(
        sweep,
        WORKSHOP,
        "RemoveMember",
        client,
        remove_member,
        cases.into_cases()
    );

    // ListMembers, ListSessions, ListBuildPacks: ids and pages.
    let mut cases = Cases::new(
        alice,
        ws::ListMembersRequest {
            workshop_id: workshop_id.clone(),
            ..Default::default()
        },
    );
    cases
        .ids("workshop_id", &workshop_id, |m, id| m.workshop_id = id)
        .pages(&fx.tokens, |m, s| m.page_size = s, |m, t| m.page_token = t);
    sweep_unary!(
        sweep,
        WORKSHOP,
        "ListMembers",
        client,
        list_members,
        cases.into_cases()
    );
    let mut cases = Cases::new(
        alice,
        ws::ListSessionsRequest {
            workshop_id: workshop_id.clone(),
            ..Default::default()
        },
    );
    cases
        .ids("workshop_id", &workshop_id, |m, id| m.workshop_id = id)
        .pages(&fx.tokens, |m, s| m.page_size = s, |m, t| m.page_token = t);
    sweep_unary!(
        sweep,
        WORKSHOP,
        "ListSessions",
        client,
        list_sessions,
        cases.into_cases()
    );
    let mut cases = Cases::new(
        alice,
        ws::ListBuildPacksRequest {
            workshop_id: workshop_id.clone(),
            ..Default::default()
        },
    );
    cases
        .ids("workshop_id", &workshop_id, |m, id| m.workshop_id = id)
        .pages(&fx.tokens, |m, s| m.page_size = s, |m, t| m.page_token = t);
    let packs_token = fx
        .tokens
        .iter()
        .find(|(query, _)| query == "ListBuildPacks")
        .map(|(_, token)| token.clone())
        .unwrap_or_default();
    cases.refused(
        "page_token: ListBuildPacks token of another workshop",
        |m| {
            m.workshop_id = fx.shared.id.clone();
            m.page_token = packs_token;
        },
    );
    sweep_unary!(
        sweep,
        WORKSHOP,
        "ListBuildPacks",
        client,
        list_build_packs,
        cases.into_cases()
    );

    // ListStepDefinitions has no fields: identities only.
    let cases = Cases::open(alice, ws::ListStepDefinitionsRequest {});
    sweep_unary!(
        sweep,
        WORKSHOP,
        "ListStepDefinitions",
        client,
        list_step_definitions,
        cases.into_cases()
    );

    // GetWorkshopStep, ListWorkshopSteps.
    let mut cases = Cases::new(
        alice,
        ws::GetWorkshopStepRequest {
            workshop_id: workshop_id.clone(),
            step_id: "ideate".to_owned(),
        },
    );
    cases
        .ids("workshop_id", &workshop_id, |m, id| m.workshop_id = id)
        .texts("step_id", |m, t| m.step_id = t);
    step_id_cases(&mut cases, |m, s| m.step_id = s);
    sweep_unary!(
        sweep,
        WORKSHOP,
        "GetWorkshopStep",
        client,
        get_workshop_step,
        cases.into_cases()
    );
    let mut cases = Cases::new(
        alice,
        ws::ListWorkshopStepsRequest {
            workshop_id: workshop_id.clone(),
        },
    );
    cases.ids("workshop_id", &workshop_id, |m, id| m.workshop_id = id);
    sweep_unary!(
        sweep,
        WORKSHOP,
        "ListWorkshopSteps",
        client,
        list_workshop_steps,
        cases.into_cases()
    );

    // UpdateWorkshopStep: ids, step ids, statuses, skips and outputs.
    let mut cases = Cases::new(
        alice,
        ws::UpdateWorkshopStepRequest {
            workshop_id: workshop_id.clone(),
            step_id: "define".to_owned(),
            status: ws::StepStatus::InProgress.into(),
            ..Default::default()
        },
    );
    cases
        .ids("workshop_id", &workshop_id, |m, id| m.workshop_id = id)
        .texts("step_id", |m, t| m.step_id = t)
        .enums("status", |m, n| m.status = n)
        .refused("skip without confirm_skip", |m| m.skip = true)
        .refused("skip with status NOT_STARTED", |m| {
            m.skip = true;
            m.confirm_skip = true;
            m.status = ws::StepStatus::NotStarted.into();
        })
        .refused("nothing to change", |m| m.status = 0)
        .case("confirm_skip without skip", |m| m.confirm_skip = true)
        .refused_as(Who::User(CAROL), "as a non-member", |_| {});
    step_id_cases(&mut cases, |m, s| m.step_id = s);
    for (index, (label, output, refuse)) in hostile_outputs().into_iter().enumerate() {
        // Each on its own step, so what is accepted stays for the build
        // packs rendered at the end.
        let step = STEPS[index % STEPS.len()];
        cases.expect(refuse, format!("output: {label}"), |m| {
            m.step_id = step.to_owned();
            m.output = Some(output);
        });
    }
    sweep_unary!(
        sweep,
        WORKSHOP,
        "UpdateWorkshopStep",
        client,
        update_workshop_step,
        cases.into_cases()
    );

    // EndSession.
    let mut cases = Cases::new(
        alice,
        ws::EndSessionRequest {
            workshop_id: workshop_id.clone(),
            session_id: uuid::Uuid::new_v4().to_string(),
        },
    );
    cases
        .ids("workshop_id", &workshop_id, |m, id| m.workshop_id = id)
        .ids("session_id", &fx.session_id, |m, id| m.session_id = id)
        .refused("session of another workshop", |m| {
            m.workshop_id = fx.shared.id.clone();
            m.session_id = fx.session_id.clone();
        });
    sweep_unary!(
        sweep,
        WORKSHOP,
        "EndSession",
        client,
        end_session,
        cases.into_cases()
    );

    // CreateBuildPack.
    let mut cases = Cases::new(
        alice,
        ws::CreateBuildPackRequest {
            workshop_id: workshop_id.clone(),
            format: 0,
        },
    );
    cases
        .ids("workshop_id", &workshop_id, |m, id| m.workshop_id = id)
        .enums("format", |m, n| m.format = n)
        .refused_as(Who::User(CAROL), "as a non-member", |m| {
            m.format = ws::BuildPackFormat::Json.into();
        });
    sweep_unary!(
        sweep,
        WORKSHOP,
        "CreateBuildPack",
        client,
        create_build_pack,
        cases.into_cases()
    );

    // GetBuildPack, ReadBuildPackContent.
    let mut cases = Cases::new(
        alice,
        ws::GetBuildPackRequest {
            id: fx.ready_pack.clone(),
        },
    );
    cases
        .ids("id", &fx.ready_pack, |m, id| m.id = id)
        .refused("a workshop id", |m| m.id = workshop_id.clone())
        .refused_as(Who::User(CAROL), "as a non-member", |_| {});
    sweep_unary!(
        sweep,
        WORKSHOP,
        "GetBuildPack",
        client,
        get_build_pack,
        cases.into_cases()
    );
    let mut cases = Cases::new(
        alice,
        ws::ReadBuildPackContentRequest {
            id: fx.ready_pack.clone(),
        },
    );
    cases
        .ids("id", &fx.ready_pack, |m, id| m.id = id)
        .refused("a pending build pack", |m| m.id = fx.pending_pack.clone())
        .refused("a workshop id", |m| m.id = workshop_id.clone())
        .refused_as(Who::User(CAROL), "as a non-member", |_| {});
    sweep_stream!(
        sweep,
        WORKSHOP,
        "ReadBuildPackContent",
        client,
        read_build_pack_content,
        cases.into_cases()
    );
}

/// Hostile workshop ids, user ids and roles of a member RPC, whose three
/// fields `fields` gives.
fn member_cases<T: Clone>(
    cases: &mut Cases<T>,
    workshop_id: &str,
    fields: impl Fn(&mut T) -> (&mut String, &mut String, &mut String),
) {
    cases
        .ids("workshop_id", workshop_id, |m, id| *fields(m).0 = id)
        .texts("user_id", |m, t| *fields(m).1 = t)
        .texts("role", |m, t| *fields(m).2 = t)
        .refused("user_id: 201 characters", |m| {
            *fields(m).1 = "u".repeat(201)
        })
        .refused("role: OWNER", |m| *fields(m).2 = "OWNER".to_owned())
        .refused("role: 51 characters", |m| *fields(m).2 = "r".repeat(51))
        .refused("role: empty", |m| fields(m).2.clear())
        .refused_as(Who::User(BOB), "as an editor", |_| {});
}

/// Step ids that look almost right.
fn step_id_cases<T: Clone>(cases: &mut Cases<T>, set: impl Fn(&mut T, String)) {
    for (label, step) in [
        ("uppercase", "IDEATE".to_owned()),
        ("with NUL", "ideate\0".to_owned()),
        ("51 characters", "s".repeat(51)),
        ("unknown", "zzz".to_owned()),
        ("empty", String::new()),
        ("a workshop id", uuid::Uuid::new_v4().to_string()),
    ] {
        cases.refused(format!("step_id: {label}"), |m| set(m, step));
    }
}

// ---------------------------------------------------------------------------
// Reading back what was accepted.

/// Reads back everything the sweep stored (hostile text, deep and odd step
/// outputs, front matter metadata), and renders the workshop, whose steps
/// now hold the accepted hostile outputs, in every build-pack format.
async fn sweep_read_back(sweep: &mut Sweep<'_>, fx: &Fixtures) {
    let app = sweep.app;
    let alice = Who::User(ALICE);
    let mut registry = app.registry();
    let mut workshops = app.workshop();
    let skill_id = fx.skill.id.clone();
    let workshop_id = fx.workshop.id.clone();
    let page = 500;

    let result = settle(registry.list_skill_versions(request(
        alice,
        reg::ListSkillVersionsRequest {
            skill_id: skill_id.clone(),
            page_size: page,
            page_token: String::new(),
        },
    )))
    .await;
    let latest = result
        .as_ref()
        .ok()
        .and_then(|r| r.get_ref().versions.first().map(|v| v.version));
    let result = result.map(drop);
    sweep
        .must_succeed(
            REGISTRY,
            "ListSkillVersions",
            "read back: every version",
            result,
        )
        .await;
    if let Some(latest) = latest {
        let result = drain(registry.read_skill_version_content(request(
            alice,
            reg::ReadSkillVersionContentRequest {
                skill_id: skill_id.clone(),
                version: latest,
            },
        )))
        .await;
        sweep
            .must_succeed(
                REGISTRY,
                "ReadSkillVersionContent",
                "read back: the latest version",
                result,
            )
            .await;
    }
    let result = settle(registry.list_skills(request(
        alice,
        reg::ListSkillsRequest {
            page_size: page,
            ..Default::default()
        },
    )))
    .await
    .map(drop);
    sweep
        .must_succeed(REGISTRY, "ListSkills", "read back: every skill", result)
        .await;
    let result = settle(registry.list_ratings(request(
        alice,
        reg::ListRatingsRequest {
            skill_id: skill_id.clone(),
            page_size: page,
            page_token: String::new(),
        },
    )))
    .await
    .map(drop);
    sweep
        .must_succeed(REGISTRY, "ListRatings", "read back: every rating", result)
        .await;

    let result = settle(workshops.list_workshop_steps(request(
        alice,
        ws::ListWorkshopStepsRequest {
            workshop_id: workshop_id.clone(),
        },
    )))
    .await
    .map(drop);
    sweep
        .must_succeed(
            WORKSHOP,
            "ListWorkshopSteps",
            "read back: hostile outputs",
            result,
        )
        .await;
    for step in STEPS {
        let result = settle(workshops.get_workshop_step(request(
            alice,
            ws::GetWorkshopStepRequest {
                workshop_id: workshop_id.clone(),
                step_id: step.to_owned(),
            },
        )))
        .await
        .map(drop);
        let case = format!("read back: the output of {step}");
        sweep
            .must_succeed(WORKSHOP, "GetWorkshopStep", &case, result)
            .await;
    }
    let result = settle(workshops.list_workshops(request(
        Who::User(CAROL),
        ws::ListWorkshopsRequest {
            page_size: page,
            ..Default::default()
        },
    )))
    .await
    .map(drop);
    sweep
        .must_succeed(
            WORKSHOP,
            "ListWorkshops",
            "read back: hostile titles",
            result,
        )
        .await;
    let result = settle(workshops.list_members(request(
        alice,
        ws::ListMembersRequest {
            workshop_id: workshop_id.clone(),
            page_size: page,
            page_token: String::new(),
        },
    )))
    .await
    .map(drop);
    sweep
        .must_succeed(
            WORKSHOP,
            "ListMembers",
            "read back: hostile user ids",
            result,
        )
        .await;
    let result = settle(workshops.list_sessions(request(
        alice,
        ws::ListSessionsRequest {
            workshop_id: workshop_id.clone(),
            page_size: page,
            page_token: String::new(),
        },
    )))
    .await
    .map(drop);
    sweep
        .must_succeed(WORKSHOP, "ListSessions", "read back: every session", result)
        .await;

    // Build packs of the hostile outputs, rendered by the real worker.
    let mut packs = Vec::new();
    for format in [
        ws::BuildPackFormat::Markdown,
        ws::BuildPackFormat::Json,
        ws::BuildPackFormat::Pdf,
    ] {
        let result = settle(workshops.create_build_pack(request(
            alice,
            ws::CreateBuildPackRequest {
                workshop_id: workshop_id.clone(),
                format: format.into(),
            },
        )))
        .await;
        if let Ok(response) = &result
            && let Some(pack) = &response.get_ref().build_pack
        {
            packs.push((format, pack.id.clone()));
        }
        let case = format!("render: {format:?} of the hostile outputs");
        sweep
            .must_succeed(WORKSHOP, "CreateBuildPack", &case, result.map(drop))
            .await;
    }
    app.spawn_worker(20);
    for (format, id) in packs {
        let case = format!("render: {format:?} of the hostile outputs");
        let deadline = Instant::now() + Duration::from_secs(30);
        let pack = loop {
            let pack = settle(
                workshops
                    .get_build_pack(request(alice, ws::GetBuildPackRequest { id: id.clone() })),
            )
            .await
            .ok()
            .and_then(|r| r.into_inner().build_pack);
            match pack {
                Some(pack) if pack.status != ws::BuildPackStatus::Pending as i32 => {
                    break Some(pack);
                }
                _ if Instant::now() > deadline => break None,
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        };
        match pack {
            Some(pack) if pack.status == ws::BuildPackStatus::Ready as i32 => {
                let result = drain(workshops.read_build_pack_content(request(
                    alice,
                    ws::ReadBuildPackContentRequest { id: id.clone() },
                )))
                .await;
                sweep
                    .must_succeed(WORKSHOP, "ReadBuildPackContent", &case, result)
                    .await;
            }
            other => sweep.failures.push(Failure {
                rpc: format!("{WORKSHOP}/GetBuildPack"),
                case,
                code: Code::Ok,
                problems: vec!["the build pack did not render within 30 s"],
                message: other.map_or_else(
                    || "still pending".to_owned(),
                    |pack| prefix(&format!("status {}: {}", pack.status, pack.failure_reason)),
                ),
            }),
        }
    }
}

// ---------------------------------------------------------------------------
// Outbox.

async fn sweep_outbox(sweep: &mut Sweep<'_>, fx: &Fixtures) {
    let client = OutboxClient::new(sweep.app.channel.clone());
    let alice = Who::User(ALICE);

    let cases = Cases::open(alice, GetOutboxStatsRequest {});
    sweep_unary!(
        sweep,
        OUTBOX,
        "GetOutboxStats",
        client,
        get_outbox_stats,
        cases.into_cases()
    );

    let mut cases = Cases::open(alice, ListDeadEventsRequest::default());
    cases.pages(&fx.tokens, |m, s| m.page_size = s, |m, t| m.page_token = t);
    sweep_unary!(
        sweep,
        OUTBOX,
        "ListDeadEvents",
        client,
        list_dead_events,
        cases.into_cases()
    );

    let mut cases = Cases::open(
        alice,
        RetryDeadEventsRequest {
            ids: vec![uuid::Uuid::new_v4().to_string()],
            all: false,
        },
    );
    cases
        .ids("ids[0]", &fx.skill.id, |m, id| m.ids = vec![id])
        .refused("neither ids nor all", |m| m.ids.clear())
        .refused("ids and all", |m| m.all = true)
        .refused("1,001 random ids", |m| {
            m.ids = (0..1_001)
                .map(|_| uuid::Uuid::new_v4().to_string())
                .collect();
        })
        .refused("1,000 malformed ids", |m| {
            m.ids = vec!["not-an-id".to_owned(); 1_000]
        })
        .refused("1,001 malformed ids", |m| {
            m.ids = vec!["not-an-id".to_owned(); 1_001]
        })
        .refused("100,000 malformed ids", |m| {
            m.ids = vec!["x".to_owned(); 100_000]
        });
    sweep_unary!(
        sweep,
        OUTBOX,
        "RetryDeadEvents",
        client,
        retry_dead_events,
        cases.into_cases()
    );
}

// ---------------------------------------------------------------------------
// Raw bodies: bytes that are not the protobuf the RPC expects.

/// A codec that sends bytes as they are and takes any answer as bytes.
#[derive(Debug, Clone, Copy, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        let mut bytes = vec![0; src.remaining()];
        src.copy_to_slice(&mut bytes);
        Ok(Some(bytes))
    }
}

/// How an RPC streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Unary,
    ClientStream,
    ServerStream,
}

/// Every RPC of every service, with its path and shape.
const ALL_RPCS: &[(&str, &str, &str, Shape)] = &[
    (
        REGISTRY,
        "CreateSkill",
        "atelier.registry.v1.SkillRegistry",
        Shape::Unary,
    ),
    (
        REGISTRY,
        "GetSkill",
        "atelier.registry.v1.SkillRegistry",
        Shape::Unary,
    ),
    (
        REGISTRY,
        "ListSkills",
        "atelier.registry.v1.SkillRegistry",
        Shape::Unary,
    ),
    (
        REGISTRY,
        "UpdateSkill",
        "atelier.registry.v1.SkillRegistry",
        Shape::Unary,
    ),
    (
        REGISTRY,
        "DeleteSkill",
        "atelier.registry.v1.SkillRegistry",
        Shape::Unary,
    ),
    (
        REGISTRY,
        "CreateSkillVersion",
        "atelier.registry.v1.SkillRegistry",
        Shape::Unary,
    ),
    (
        REGISTRY,
        "UploadSkillVersion",
        "atelier.registry.v1.SkillRegistry",
        Shape::ClientStream,
    ),
    (
        REGISTRY,
        "GetSkillVersion",
        "atelier.registry.v1.SkillRegistry",
        Shape::Unary,
    ),
    (
        REGISTRY,
        "ListSkillVersions",
        "atelier.registry.v1.SkillRegistry",
        Shape::Unary,
    ),
    (
        REGISTRY,
        "ReadSkillVersionContent",
        "atelier.registry.v1.SkillRegistry",
        Shape::ServerStream,
    ),
    (
        REGISTRY,
        "PublishSkillVersion",
        "atelier.registry.v1.SkillRegistry",
        Shape::Unary,
    ),
    (
        REGISTRY,
        "RateSkill",
        "atelier.registry.v1.SkillRegistry",
        Shape::Unary,
    ),
    (
        REGISTRY,
        "ListRatings",
        "atelier.registry.v1.SkillRegistry",
        Shape::Unary,
    ),
    (
        REGISTRY,
        "RecordUsage",
        "atelier.registry.v1.SkillRegistry",
        Shape::Unary,
    ),
    (
        REGISTRY,
        "BatchRecordUsage",
        "atelier.registry.v1.SkillRegistry",
        Shape::Unary,
    ),
    (
        WORKSHOP,
        "CreateWorkshop",
        "atelier.workshop.v1.Workshop",
        Shape::Unary,
    ),
    (
        WORKSHOP,
        "GetWorkshop",
        "atelier.workshop.v1.Workshop",
        Shape::Unary,
    ),
    (
        WORKSHOP,
        "ListWorkshops",
        "atelier.workshop.v1.Workshop",
        Shape::Unary,
    ),
    (
        WORKSHOP,
        "UpdateWorkshop",
        "atelier.workshop.v1.Workshop",
        Shape::Unary,
    ),
    (
        WORKSHOP,
        "DeleteWorkshop",
        "atelier.workshop.v1.Workshop",
        Shape::Unary,
    ),
    (
        WORKSHOP,
        "ShareWorkshop",
        "atelier.workshop.v1.Workshop",
        Shape::Unary,
    ),
    (
        WORKSHOP,
        "GetSharedWorkshop",
        "atelier.workshop.v1.Workshop",
        Shape::Unary,
    ),
    (
        WORKSHOP,
        "AddMember",
        "atelier.workshop.v1.Workshop",
        Shape::Unary,
    ),
    (
        WORKSHOP,
        "UpdateMember",
        "atelier.workshop.v1.Workshop",
        Shape::Unary,
    ),
    (
        WORKSHOP,
        "RemoveMember",
        "atelier.workshop.v1.Workshop",
        Shape::Unary,
    ),
    (
        WORKSHOP,
        "ListMembers",
        "atelier.workshop.v1.Workshop",
        Shape::Unary,
    ),
    (
        WORKSHOP,
        "ListStepDefinitions",
        "atelier.workshop.v1.Workshop",
        Shape::Unary,
    ),
    (
        WORKSHOP,
        "GetWorkshopStep",
        "atelier.workshop.v1.Workshop",
        Shape::Unary,
    ),
    (
        WORKSHOP,
        "ListWorkshopSteps",
        "atelier.workshop.v1.Workshop",
        Shape::Unary,
    ),
    (
        WORKSHOP,
        "UpdateWorkshopStep",
        "atelier.workshop.v1.Workshop",
        Shape::Unary,
    ),
    (
        WORKSHOP,
        "ListSessions",
        "atelier.workshop.v1.Workshop",
        Shape::Unary,
    ),
    (
        WORKSHOP,
        "EndSession",
        "atelier.workshop.v1.Workshop",
        Shape::Unary,
    ),
    (
        WORKSHOP,
        "CreateBuildPack",
        "atelier.workshop.v1.Workshop",
        Shape::Unary,
    ),
    (
        WORKSHOP,
        "GetBuildPack",
        "atelier.workshop.v1.Workshop",
        Shape::Unary,
    ),
    (
        WORKSHOP,
        "ListBuildPacks",
        "atelier.workshop.v1.Workshop",
        Shape::Unary,
    ),
    (
        WORKSHOP,
        "ReadBuildPackContent",
        "atelier.workshop.v1.Workshop",
        Shape::ServerStream,
    ),
    (
        OUTBOX,
        "GetOutboxStats",
        "atelier.admin.v1.Outbox",
        Shape::Unary,
    ),
    (
        OUTBOX,
        "ListDeadEvents",
        "atelier.admin.v1.Outbox",
        Shape::Unary,
    ),
    (
        OUTBOX,
        "RetryDeadEvents",
        "atelier.admin.v1.Outbox",
        Shape::Unary,
    ),
];

/// Malformed protobuf bodies, by name.
fn malformed_bodies() -> Vec<(&'static str, Vec<u8>)> {
    let mut long_varint = vec![0x08];
    long_varint.extend([0xff; 10]);
    long_varint.push(0x01);
    vec![
        ("truncated varint", vec![0x10, 0xff]),
        ("length prefix past the end", vec![0x0a, 0x7f, b'a', b'b']),
        ("wrong wire type for field 1", vec![0x0d, 1, 2, 3, 4]),
        ("field 1 not UTF-8", vec![0x0a, 0x02, 0xc3, 0x28]),
        ("field number 0", vec![0x00, 0x01]),
        ("11-byte varint", long_varint),
        ("end group without a start", vec![0x0c]),
    ]
}

/// The bytes of a Struct nested `levels` deep (`{"n": {"n": … {}}}`),
/// built from the inside out without recursion.
fn deep_struct_bytes(levels: usize) -> Vec<u8> {
    let mut inner: Vec<u8> = Vec::new();
    for _ in 0..levels {
        // Value { struct_value (5): inner }
        let mut value_bytes = vec![0x2a];
        prost::encoding::encode_varint(inner.len() as u64, &mut value_bytes);
        value_bytes.extend_from_slice(&inner);
        // map entry { key (1): "n", value (2): value }
        let mut entry = vec![0x0a, 0x01, b'n', 0x12];
        prost::encoding::encode_varint(value_bytes.len() as u64, &mut entry);
        entry.extend_from_slice(&value_bytes);
        // Struct { fields (1): entry }
        let mut object_bytes = vec![0x0a];
        prost::encoding::encode_varint(entry.len() as u64, &mut object_bytes);
        object_bytes.extend_from_slice(&entry);
        inner = object_bytes;
    }
    inner
}

/// Sends `body` to `path` as one message (of a stream, for streaming
/// RPCs), with Alice as the user.
async fn raw_call(app: &TestApp, path: &str, shape: Shape, body: Vec<u8>) -> Result<(), Status> {
    let mut grpc = tonic::client::Grpc::new(app.channel.clone());
    grpc.ready()
        .await
        .map_err(|e| Status::unavailable(format!("sweep: channel not ready: {e}")))?;
    let path = http::uri::PathAndQuery::try_from(path)
        .map_err(|e| Status::invalid_argument(format!("sweep: bad path: {e}")))?;
    let who = Who::User(ALICE);
    match shape {
        Shape::Unary => grpc
            .unary::<Vec<u8>, Vec<u8>, RawCodec>(request(who, body), path, RawCodec)
            .await
            .map(drop),
        Shape::ClientStream => grpc
            .client_streaming::<_, Vec<u8>, Vec<u8>, RawCodec>(
                request(who, tokio_stream::iter(vec![body])),
                path,
                RawCodec,
            )
            .await
            .map(drop),
        Shape::ServerStream => {
            let mut stream = grpc
                .server_streaming::<Vec<u8>, Vec<u8>, RawCodec>(request(who, body), path, RawCodec)
                .await?
                .into_inner();
            while stream.message().await?.is_some() {}
            Ok(())
        }
    }
}

async fn sweep_raw(sweep: &mut Sweep<'_>, fx: &Fixtures) {
    let app = sweep.app;
    // Every malformed body on one RPC of each shape and service; the first
    // two on every RPC.
    let thorough = [
        "GetSkill",
        "UploadSkillVersion",
        "ReadBuildPackContent",
        "RetryDeadEvents",
    ];
    for &(service, rpc, package, shape) in ALL_RPCS {
        let path = format!("/{package}/{rpc}");
        let bodies = malformed_bodies();
        let take = if thorough.contains(&rpc) {
            bodies.len()
        } else {
            2
        };
        for (label, body) in bodies.into_iter().take(take) {
            let result = settle(raw_call(app, &path, shape, body)).await;
            let case = format!("raw body: {label}");
            sweep.check(service, rpc, &case, true, result).await;
        }
    }
    // A step output nested far past protobuf's recursion limit.
    let path = "/atelier.workshop.v1.Workshop/UpdateWorkshopStep";
    for levels in [200, 100_000] {
        let mut body = ws::UpdateWorkshopStepRequest {
            workshop_id: fx.workshop.id.clone(),
            step_id: "ideate".to_owned(),
            ..Default::default()
        }
        .encode_to_vec();
        let output = deep_struct_bytes(levels);
        body.push(0x22); // field 4, length-delimited
        prost::encoding::encode_varint(output.len() as u64, &mut body);
        body.extend_from_slice(&output);
        let result = settle(raw_call(app, path, Shape::Unary, body)).await;
        sweep
            .check(
                WORKSHOP,
                "UpdateWorkshopStep",
                &format!("raw body: output Struct nested {levels} levels"),
                true,
                result,
            )
            .await;
    }
    // An unknown field and an empty body reach our code: they are requests.
    for &(service, rpc, package, shape) in ALL_RPCS {
        let path = format!("/{package}/{rpc}");
        let unknown = vec![0xf8, 0x06, 0x01]; // field 111, varint 1
        let result = settle(raw_call(app, &path, shape, unknown)).await;
        sweep
            .check(
                service,
                rpc,
                "raw body: an unknown field only",
                false,
                result,
            )
            .await;
    }
}

// ---------------------------------------------------------------------------
// The test.

#[tokio::test(flavor = "multi_thread")]
async fn every_rpc_refuses_hostile_input_cleanly() {
    let app = TestApp::start().await;
    let fx = fixtures(&app).await;
    let mut sweep = Sweep::new(&app);

    sweep_registry(&mut sweep, &fx).await;
    sweep_workshop(&mut sweep, &fx).await;
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
        [REGISTRY, WORKSHOP, OUTBOX].into_iter().collect(),
        "every service is swept"
    );
    assert_eq!(sweep.rpcs[REGISTRY].len(), 15, "every SkillRegistry RPC");
    assert_eq!(sweep.rpcs[WORKSHOP].len(), 21, "every Workshop RPC");
    assert_eq!(sweep.rpcs[OUTBOX].len(), 3, "every Outbox RPC");
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
