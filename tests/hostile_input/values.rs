//! The hostile values the sweep builds its cases from: text, ids, etags,
//! page tokens, numbers, Structs and SKILL.md front matter.

use super::*;

/// Text no field should choke on, by name.
pub(super) fn hostile_texts() -> Vec<(&'static str, String)> {
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
pub(super) fn hostile_ids(real: &str) -> Vec<(&'static str, String, bool)> {
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
pub(super) fn hostile_etags() -> Vec<(&'static str, String)> {
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
pub(super) fn hostile_tokens(real: &[(String, String)]) -> Vec<(String, String, bool)> {
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
pub(super) const HOSTILE_PAGE_SIZES: [i32; 2] = [-1, i32::MIN];
/// Page sizes over the maximum: served as the maximum (AIP-158).
pub(super) const OVERSIZED_PAGE_SIZES: [i32; 2] = [501, i32::MAX];
/// Enum numbers no enum field defines.
pub(super) const HOSTILE_ENUMS: [i32; 3] = [999, -1, i32::MIN];

/// A `Value` of `kind`.
pub(super) fn value(kind: Kind) -> prost_types::Value {
    prost_types::Value { kind: Some(kind) }
}

/// A Struct of one field.
pub(super) fn object(key: &str, inner: prost_types::Value) -> prost_types::Struct {
    prost_types::Struct {
        fields: [(key.to_owned(), inner)].into_iter().collect(),
    }
}

/// A Struct nested `levels` deep (the outermost is level 1).
pub(super) fn nested_struct(levels: usize) -> prost_types::Struct {
    let mut inner = object("leaf", value(Kind::NumberValue(1.0)));
    for _ in 1..levels {
        inner = object("n", value(Kind::StructValue(inner)));
    }
    inner
}

/// A Struct holding lists nested `levels` deep.
pub(super) fn nested_list(levels: usize) -> prost_types::Struct {
    let mut inner = value(Kind::NumberValue(1.0));
    for _ in 0..levels {
        inner = value(Kind::ListValue(prost_types::ListValue {
            values: vec![inner],
        }));
    }
    object("l", inner)
}

/// The ten steps of every workshop, in order.
pub(super) const STEPS: [&str; 10] = [
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
pub(super) fn hostile_outputs() -> Vec<(String, prost_types::Struct, bool)> {
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
pub(super) fn hostile_markdown() -> Vec<(String, Vec<u8>, bool)> {
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

/// FieldMasks no Update RPC should choke on; `valid` is a path it accepts.
pub(super) fn hostile_masks(valid: &str) -> Vec<(String, Vec<String>, bool)> {
    vec![
        ("empty".to_owned(), Vec::new(), true),
        ("unknown path".to_owned(), vec!["nope".to_owned()], true),
        ("immutable path id".to_owned(), vec!["id".to_owned()], true),
        (
            "nested path".to_owned(),
            vec![format!("skill.{valid}")],
            true,
        ),
        // `*` is every updatable field (AIP-134): whether the base message
        // makes a valid full replacement is the RPC's to say.
        ("wildcard".to_owned(), vec!["*".to_owned()], false),
        (
            "wildcard with another path".to_owned(),
            vec!["*".to_owned(), valid.to_owned()],
            true,
        ),
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
