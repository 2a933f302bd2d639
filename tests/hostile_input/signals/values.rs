//! The Signals sweep's per-field rules (from the proto comments) and its
//! hostile values: JSON objects, embeddings, confidences, times, queries.

use super::*;

/// What a text field accepts, from its proto comment; a text the rule
/// refuses must be refused.
#[derive(Debug, Clone, Copy)]
pub(super) enum Rule {
    /// Required, 1–max characters: blank text is no text.
    Required(usize),
    /// Up to max characters, possibly empty.
    Bounded(usize),
    /// Optional (empty for none), up to max characters; whitespace alone
    /// may go either way.
    Optional(usize),
    /// A user id, as in `x-user-id`: 1–200 characters once trimmed.
    UserId,
    /// A role: 1–50 lowercase letters, digits, `-` or `_`.
    Role,
    /// A value a read compares with (a filter, a key to look up): it need
    /// only be storable text of a sane size (`invalid_anywhere`), and not
    /// blank when `required`.
    Lookup { required: bool },
}

impl Rule {
    pub(super) fn refuses(self, text: &str) -> bool {
        let chars = text.chars().count();
        let nul = text.contains('\0');
        match self {
            Self::Required(max) => nul || text.trim().is_empty() || chars > max,
            Self::Bounded(max) | Self::Optional(max) => nul || chars > max,
            Self::UserId => nul || text.trim().is_empty() || text.trim().chars().count() > 200,
            Self::Role => !is_role(text),
            Self::Lookup { required } => {
                invalid_anywhere(text) || (required && text.trim().is_empty())
            }
        }
    }

    /// The most characters the field takes, when the proto says.
    pub(super) fn max(self) -> Option<usize> {
        match self {
            Self::Required(max) | Self::Bounded(max) | Self::Optional(max) => Some(max),
            Self::UserId => Some(200),
            Self::Role => Some(50),
            Self::Lookup { .. } => None,
        }
    }
}

pub(super) fn is_role(text: &str) -> bool {
    (1..=50).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// One case per hostile text in `field`, judged by `rule`, plus the
/// field's limit exactly (in four-byte characters: limits count
/// characters, not bytes) and one character over it.
pub(super) fn texts_by<T: Clone>(
    cases: &mut Cases<T>,
    field: &str,
    rule: Rule,
    set: impl Fn(&mut T, String),
) {
    for (label, text) in hostile_texts() {
        cases.expect(rule.refuses(&text), format!("{field}: {label}"), |m| {
            set(m, text)
        });
    }
    if let Some(max) = rule.max() {
        let (at, over) = match rule {
            Rule::Role => ("r".repeat(max), "r".repeat(max + 1)),
            _ => ("𝕏".repeat(max), "x".repeat(max + 1)),
        };
        cases
            .expect(
                rule.refuses(&at),
                format!("{field}: {max} characters (the limit)"),
                |m| set(m, at),
            )
            .refused(format!("{field}: {} characters", max + 1), |m| set(m, over));
    }
}

/// One case per hostile id in an optional id field (empty means none).
pub(super) fn optional_ids<T: Clone>(
    cases: &mut Cases<T>,
    field: &str,
    real: &str,
    set: impl Fn(&mut T, String),
) {
    for (label, id, refuse) in hostile_ids(real) {
        let refuse = refuse && !id.is_empty();
        cases.expect(refuse, format!("{field}: {label}"), |m| set(m, id));
    }
}

/// One case per hostile page size and page token of the List RPC `own`:
/// its own real token may be honoured, every other list's must be refused.
pub(super) fn pages_of<T: Clone>(
    cases: &mut Cases<T>,
    own: &str,
    tokens: &[(String, String)],
    set_size: impl Fn(&mut T, i32),
    set_token: impl Fn(&mut T, String),
) {
    for size in HOSTILE_PAGE_SIZES {
        cases.refused(format!("page_size: {size}"), |m| set_size(m, size));
    }
    for size in OVERSIZED_PAGE_SIZES {
        cases.case(format!("page_size: {size}"), |m| set_size(m, size));
    }
    cases.case("page_size: 500", |m| set_size(m, 500));
    let own_label = format!("token of {own}");
    for (label, token, refuse) in hostile_tokens(tokens) {
        let refuse = refuse || label != own_label;
        cases.expect(refuse, format!("page_token: {label}"), |m| {
            set_token(m, token);
        });
    }
}

/// The real token of `query`.
pub(super) fn token_of(sfx: &Sfx, query: &str) -> String {
    sfx.tokens
        .iter()
        .find(|(q, _)| q == query)
        .map(|(_, token)| token.clone())
        .unwrap_or_default()
}

/// How deep a Struct nests, counted as the server documents it: the
/// Struct is level 1, each Struct or list inside one level more.
pub(super) fn struct_depth(s: &prost_types::Struct) -> usize {
    1 + s.fields.values().map(value_depth).max().unwrap_or(0)
}

pub(super) fn value_depth(v: &prost_types::Value) -> usize {
    match &v.kind {
        Some(Kind::StructValue(s)) => struct_depth(s),
        Some(Kind::ListValue(l)) => 1 + l.values.iter().map(value_depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Whether a Struct holds what no JSON column can: a NaN or an infinity
/// (JSON has no such numbers), a NUL in a key or a string (PostgreSQL's
/// jsonb cannot store `\u0000`).
pub(super) fn unstorable(s: &prost_types::Struct) -> bool {
    s.fields
        .iter()
        .any(|(key, v)| key.contains('\0') || unstorable_value(v))
}

pub(super) fn unstorable_value(v: &prost_types::Value) -> bool {
    match &v.kind {
        Some(Kind::NumberValue(n)) => !n.is_finite(),
        Some(Kind::StringValue(s)) => s.contains('\0'),
        Some(Kind::StructValue(s)) => unstorable(s),
        Some(Kind::ListValue(l)) => l.values.iter().any(unstorable_value),
        _ => false,
    }
}

/// A Struct nested `levels` deep under `key` at every level, `leaf` the
/// innermost value.
pub(super) fn deep_under(
    key: &str,
    levels: usize,
    leaf: prost_types::Value,
) -> prost_types::Struct {
    let mut inner = object(key, leaf);
    for _ in 1..levels {
        inner = object(key, value(Kind::StructValue(inner)));
    }
    inner
}

/// Hostile Structs for source_metadata and ai_classification: the step
/// outputs of the Workshop sweep (deep, huge, non-finite, NUL) and deep
/// ones under realistic keys (UUIDs), whose paths an error message quotes.
pub(super) fn hostile_structs() -> Vec<(String, prost_types::Struct)> {
    let key = uuid::Uuid::new_v4().to_string();
    let mut structs: Vec<_> = hostile_outputs()
        .into_iter()
        .map(|(label, s, _)| (label, s))
        .collect();
    structs.extend([
        (
            "Struct nested 33 levels under UUID keys".to_owned(),
            deep_under(&key, 33, value(Kind::BoolValue(true))),
        ),
        (
            "NaN 32 levels deep under UUID keys".to_owned(),
            deep_under(&key, 32, value(Kind::NumberValue(f64::NAN))),
        ),
        (
            "NUL in a key 32 levels deep under UUID keys".to_owned(),
            deep_under(
                &key,
                31,
                value(Kind::StructValue(object("a\0b", value(Kind::NullValue(0))))),
            ),
        ),
        (
            "the documented keys with hostile values".to_owned(),
            prost_types::Struct {
                fields: [
                    ("source_url", "javascript:alert(1)//\u{202e}"),
                    ("source_name", "\u{1b}[2J"),
                    ("external_id", "'; DROP TABLE signals; --"),
                    ("author", "🔥👩‍👩‍👧‍👦"),
                    ("channel", ""),
                    ("timestamp", "not a time"),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), value(Kind::StringValue(v.to_owned()))))
                .collect(),
            },
        ),
        ("an empty Struct".to_owned(), prost_types::Struct::default()),
        // `{"s":"…"}` is 8 bytes around the text; two-byte characters, so a
        // limit counted in characters shows.
        (
            "64 KiB of JSON exactly".to_owned(),
            object(
                "s",
                value(Kind::StringValue("é".repeat((JSON_MAX - 8) / 2))),
            ),
        ),
        (
            "64 KiB of JSON and one byte".to_owned(),
            object(
                "s",
                value(Kind::StringValue(format!(
                    "{}x",
                    "é".repeat((JSON_MAX - 8) / 2)
                ))),
            ),
        ),
    ]);
    structs
}

/// `s` as JSON, as the proto means "64 KiB as JSON" (whole numbers as
/// integers, as the server stores them).
pub(super) fn json_of(s: &prost_types::Struct) -> serde_json::Value {
    fn of(v: &prost_types::Value) -> serde_json::Value {
        match &v.kind {
            None | Some(Kind::NullValue(_)) => serde_json::Value::Null,
            Some(Kind::BoolValue(b)) => serde_json::Value::Bool(*b),
            Some(Kind::NumberValue(n)) if n.fract() == 0.0 && n.abs() < 9.0e15 => {
                serde_json::Value::from(*n as i64)
            }
            Some(Kind::NumberValue(n)) => serde_json::Number::from_f64(*n)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            Some(Kind::StringValue(text)) => serde_json::Value::String(text.clone()),
            Some(Kind::StructValue(s)) => json_of(s),
            Some(Kind::ListValue(l)) => l.values.iter().map(of).collect(),
        }
    }
    serde_json::Value::Object(s.fields.iter().map(|(k, v)| (k.clone(), of(v))).collect())
}

/// The most bytes of JSON a source_metadata or ai_classification holds.
pub(super) const JSON_MAX: usize = 64 * 1024;

/// Whether source_metadata or ai_classification must refuse `s`: "JSON
/// object, at most 32 levels deep and 64 KiB as JSON", storable.
pub(super) fn struct_refused(s: &prost_types::Struct) -> bool {
    struct_depth(s) > 32
        || unstorable(s)
        || serde_json::to_vec(&json_of(s)).map_or(true, |json| json.len() > JSON_MAX)
}

/// Whether source_metadata must refuse `s`.
pub(super) fn metadata_refused(s: &prost_types::Struct) -> bool {
    struct_refused(s)
}

/// Whether ai_classification must refuse `s` (the same rule).
pub(super) fn classification_refused(s: &prost_types::Struct) -> bool {
    struct_refused(s)
}

/// Embeddings for a workspace whose embeddings have [`DIMENSION`] floats,
/// and whether they must be refused ("up to 4,096 floats, all finite; the
/// workspace's dimension once it has one").
pub(super) fn hostile_embeddings() -> Vec<(String, Vec<f32>, bool)> {
    let with = |at: usize, bad: f32| {
        let mut e = embedding_of(DIMENSION);
        e[at] = bad;
        e
    };
    vec![
        ("4 finite floats".to_owned(), embedding_of(DIMENSION), false),
        ("empty (none)".to_owned(), Vec::new(), false),
        (
            "extremes: MAX, MIN, smallest subnormal, -0".to_owned(),
            vec![f32::MAX, f32::MIN, f32::from_bits(1), -0.0],
            false,
        ),
        (
            "3 floats (the workspace's are 4)".to_owned(),
            embedding_of(3),
            true,
        ),
        (
            "5 floats (the workspace's are 4)".to_owned(),
            embedding_of(5),
            true,
        ),
        ("a NaN".to_owned(), with(1, f32::NAN), true),
        (
            "a NaN with a payload".to_owned(),
            with(2, f32::from_bits(0x7fc0_0001)),
            true,
        ),
        ("+Infinity".to_owned(), with(0, f32::INFINITY), true),
        ("-Infinity".to_owned(), with(3, f32::NEG_INFINITY), true),
        (
            "4,096 floats (the workspace's are 4)".to_owned(),
            embedding_of(4096),
            true,
        ),
        ("4,097 floats".to_owned(), embedding_of(4097), true),
        (
            "1,100,000 floats (over the decoding limit)".to_owned(),
            vec![0.5; 1_100_000],
            true,
        ),
    ]
}

/// Confidences, and whether they must be refused ("0.0–1.0").
pub(super) fn hostile_confidences() -> Vec<(String, Option<f64>, bool)> {
    vec![
        ("NaN".to_owned(), Some(f64::NAN), true),
        ("-0.1".to_owned(), Some(-0.1), true),
        ("just above 1".to_owned(), Some(1.000_000_1), true),
        ("just below 0".to_owned(), Some(-f64::MIN_POSITIVE), true),
        ("+Infinity".to_owned(), Some(f64::INFINITY), true),
        ("-Infinity".to_owned(), Some(f64::NEG_INFINITY), true),
        ("f64::MAX".to_owned(), Some(f64::MAX), true),
        ("f64::MIN".to_owned(), Some(f64::MIN), true),
        ("0".to_owned(), Some(0.0), false),
        ("-0".to_owned(), Some(-0.0), false),
        ("1".to_owned(), Some(1.0), false),
        ("smallest subnormal".to_owned(), Some(5e-324), false),
        ("unset".to_owned(), None, false),
    ]
}

/// Timestamps, and whether a time filter must refuse them: a
/// `google.protobuf.Timestamp` is valid from 0001-01-01 to 9999-12-31 with
/// nanos 0–999,999,999.
pub(super) fn hostile_times() -> Vec<(String, prost_types::Timestamp, bool)> {
    let at = |seconds: i64, nanos: i32| prost_types::Timestamp { seconds, nanos };
    const YEAR_1: i64 = -62_135_596_800;
    const YEAR_10000: i64 = 253_402_300_800;
    vec![
        ("seconds i64::MAX".to_owned(), at(i64::MAX, 0), true),
        ("seconds i64::MIN".to_owned(), at(i64::MIN, 0), true),
        ("year 10000".to_owned(), at(YEAR_10000, 0), true),
        (
            "one second before year 1".to_owned(),
            at(YEAR_1 - 1, 0),
            true,
        ),
        (
            "the last nanosecond of 9999".to_owned(),
            at(YEAR_10000 - 1, 999_999_999),
            false,
        ),
        (
            "the first second of year 1".to_owned(),
            at(YEAR_1, 0),
            false,
        ),
        ("nanos -1".to_owned(), at(1_700_000_000, -1), true),
        (
            "nanos i32::MAX".to_owned(),
            at(1_700_000_000, i32::MAX),
            true,
        ),
        (
            "nanos 1,000,000,000".to_owned(),
            at(1_700_000_000, 1_000_000_000),
            true,
        ),
        (
            "nanos 1,500,000,000 at second 59 (a leap second to chrono)".to_owned(),
            at(1_700_000_039, 1_500_000_000),
            true,
        ),
        ("the epoch".to_owned(), at(0, 0), false),
    ]
}

/// Full-text queries: those with a NUL or of an absurd size must be
/// refused (`Rule::Lookup`); the proto sets no length, so any other may be
/// searched or refused cleanly.
pub(super) fn hostile_queries() -> Vec<(String, String)> {
    vec![
        ("double quotes".to_owned(), "\"\"\" \"a \"b\"\"".to_owned()),
        ("an unclosed quote".to_owned(), "\"never closed".to_owned()),
        (
            "tsquery operators & | ! :*".to_owned(),
            "a & b | !c :* d:* (e <-> f) <2> g".to_owned(),
        ),
        (
            "only operators".to_owned(),
            "& | ! :* ( ) <-> !!".to_owned(),
        ),
        ("300 dashes".to_owned(), "-".repeat(300)),
        ("199 dashes".to_owned(), "-".repeat(199)),
        ("100 lone dashes".to_owned(), "- ".repeat(100)),
        ("66 negated words".to_owned(), "-a ".repeat(66)),
        ("negated quotes".to_owned(), "-\"".repeat(100)),
        ("alternating quote and dash".to_owned(), "\"-".repeat(100)),
        ("66 ORs".to_owned(), "or ".repeat(66)),
        ("emoji".to_owned(), "🔥👩‍👩‍👧‍👦 🦀 sweep".to_owned()),
        ("a NUL".to_owned(), "sweep\0signal".to_owned()),
        ("only a NUL".to_owned(), "\0".to_owned()),
        ("200 backslashes".to_owned(), "\\".repeat(200)),
        ("200 apostrophes".to_owned(), "'".repeat(200)),
        ("stop words only".to_owned(), "the a an of ".repeat(10)),
        ("one 200-character word".to_owned(), "w".repeat(200)),
        ("201 characters".to_owned(), "q".repeat(201)),
        ("whitespace only".to_owned(), " \t\u{3000} ".to_owned()),
        ("a prefix search".to_owned(), "swe:*".to_owned()),
        ("100,000 characters".to_owned(), "é".repeat(100_000)),
        ("3 MB".to_owned(), "q".repeat(3 * 1024 * 1024)),
    ]
}

pub(super) fn mask(paths: &[&str]) -> Option<prost_types::FieldMask> {
    Some(prost_types::FieldMask {
        paths: paths.iter().map(|p| (*p).to_owned()).collect(),
    })
}
