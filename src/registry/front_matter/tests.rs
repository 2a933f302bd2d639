//! Front matter parsing under hostile input: depth, aliases, size, NUL.

use super::*;

#[test]
fn skill_md_front_matter_fills_name_and_description_and_keeps_the_rest() {
    let content = b"---\nname: pdf-tools\ndescription: Work with PDFs\nlicense: MIT\nmetadata:\n  version: 2\n  tags: [pdf, docs]\n  ratio: 1.5\n  quoted: \"7\"\n  empty: ~\n  on: true\n---\n# PDF tools\n";
    let front = parse(content).expect("valid").expect("present");
    assert_eq!(front.name.as_deref(), Some("pdf-tools"));
    assert_eq!(front.description.as_deref(), Some("Work with PDFs"));
    assert_eq!(
        Value::Object(front.metadata),
        serde_json::json!({"license": "MIT", "metadata": {
            "version": 2, "tags": ["pdf", "docs"], "ratio": 1.5,
            "quoted": "7", "empty": null, "on": true
        }})
    );
}

#[test]
fn content_without_front_matter_has_none() {
    assert_eq!(parse(b"# Title\n---\nname: x\n---\n").expect("fine"), None);
    assert_eq!(parse(b"").expect("fine"), None);
    assert_eq!(
        parse(b"---\n---\nbody").expect("fine"),
        Some(FrontMatter::default())
    );
}

#[test]
fn malformed_front_matter_says_where() {
    let error = parse(b"---\nname: ok\ndescription: [unclosed\n---\nbody").expect_err("bad yaml");
    assert!(error.contains("line"), "{error}");
    let unclosed = parse(b"---\nname: x\nno end here\n").expect_err("unclosed");
    assert!(unclosed.contains("no closing ---"), "{unclosed}");
    let list = parse(b"---\n- a\n- b\n---\n").expect_err("not a mapping");
    assert!(list.contains("mapping"), "{list}");
}

#[test]
fn aliases_within_the_budget_are_copied() {
    let front = parse(b"---\nbase: &b {a: 1, b: [x, y]}\ncopy: *b\n---\n")
        .expect("valid")
        .expect("present");
    assert_eq!(front.metadata["copy"], front.metadata["base"]);
}

#[test]
fn five_thousand_nested_sequences_are_refused_without_recursion() {
    let mut yaml = b"---\nx:\n".to_vec();
    yaml.extend(b"- ".repeat(5_000));
    yaml.extend(b"a\n---\n");
    let error = parse(&yaml).expect_err("too deep");
    assert!(error.contains("deeper than 32"), "{error}");
    let flow = format!("---\nx: {}{}\n---\n", "[".repeat(5_000), "]".repeat(5_000));
    assert!(parse(flow.as_bytes()).is_err());
}

#[test]
fn exactly_the_depth_limit_is_accepted() {
    // The top-level mapping is level 1, so 31 sequences fit.
    let yaml = format!(
        "---\nx: {}a{}\n---\n",
        "[".repeat(MAX_DEPTH - 1),
        "]".repeat(MAX_DEPTH - 1)
    );
    assert!(parse(yaml.as_bytes()).is_ok());
    let deeper = format!(
        "---\nx: {}a{}\n---\n",
        "[".repeat(MAX_DEPTH),
        "]".repeat(MAX_DEPTH)
    );
    assert!(parse(deeper.as_bytes()).is_err());
}

#[test]
fn a_billion_laughs_is_refused_in_a_few_bytes_of_memory() {
    let mut yaml = String::from("---\nl0: &l0 [x,x,x,x,x,x,x,x,x,x]\n");
    for level in 1..10 {
        let previous = format!("*l{}", level - 1);
        let items = [previous.as_str(); 10].join(",");
        yaml.push_str(&format!("l{level}: &l{level} [{items}]\n"));
    }
    yaml.push_str("---\n");
    let started = std::time::Instant::now();
    let error = parse(yaml.as_bytes()).expect_err("too many nodes");
    assert!(error.contains("more than 10000 values"), "{error}");
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
}

#[test]
fn anchors_nested_in_anchors_pay_for_their_copies() {
    // 31 nested anchored sequences around 5,000 scalars: within the
    // depth and node limits once, but each anchor keeps a copy.
    let mut yaml = String::from("---\nx: ");
    for level in 0..31 {
        yaml.push_str(&format!("&a{level} ["));
    }
    yaml.push_str(&vec!["s"; 5_000].join(","));
    yaml.push_str(&"]".repeat(31));
    yaml.push_str("\n---\n");
    let error = parse(yaml.as_bytes()).expect_err("copies counted");
    assert!(error.contains("more than 10000 values"), "{error}");
}

#[test]
fn a_long_string_repeated_by_aliases_is_refused_by_size() {
    let long = "y".repeat(10_000);
    let yaml = format!("---\na: &a {long}\nb: [*a, *a, *a, *a, *a, *a, *a]\n---\n");
    let error = parse(yaml.as_bytes()).expect_err("too large");
    assert!(error.contains("bytes of text"), "{error}");
}

#[test]
fn nul_characters_and_collection_keys_are_refused() {
    let error = parse(b"---\nname: \"a\\0b\"\n---\n").expect_err("NUL");
    assert!(error.contains("NUL"), "{error}");
    let error = parse(b"---\n? [a, b]\n: c\n---\n").expect_err("complex key");
    assert!(error.contains("keys"), "{error}");
    let raw = parse(b"---\nname: a\0b\ndescription: d\n---\n").expect_err("raw NUL");
    assert!(raw.contains("NUL") && raw.contains("line 2"), "{raw}");
    let error = parse(b"---\nx: *nowhere\n---\n").expect_err("unknown alias");
    assert!(error.contains("line"), "{error}");
}

mod properties {
    use super::super::*;
    use proptest::prelude::*;

    fn depth(value: &Value) -> usize {
        super::super::nesting(value)
    }

    /// YAML-ish text: indentation, flow brackets, anchors, aliases,
    /// quotes, NULs — the characters that steer a YAML parser.
    fn yamlish() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                Just("\n".to_owned()),
                Just("  ".to_owned()),
                Just("- ".to_owned()),
                Just("[".to_owned()),
                Just("]".to_owned()),
                Just("{".to_owned()),
                Just("}".to_owned()),
                Just(", ".to_owned()),
                Just(": ".to_owned()),
                Just("&a ".to_owned()),
                Just("*a".to_owned()),
                Just("&b ".to_owned()),
                Just("*b".to_owned()),
                Just("\"".to_owned()),
                Just("\0".to_owned()),
                Just("? ".to_owned()),
                Just("key".to_owned()),
                Just("1.5".to_owned()),
                "[a-z]{1,8}",
            ],
            0..400,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn any_front_matter_is_parsed_within_the_limits_or_refused(body in yamlish()) {
            let content = format!("---\n{body}\n---\nbody");
            if let Ok(Some(front)) = parse(content.as_bytes()) {
                let metadata = Value::Object(front.metadata);
                prop_assert!(depth(&metadata) <= MAX_DEPTH);
                prop_assert!(serde_json::to_vec(&metadata).map_or(0, |b| b.len()) <= MAX_METADATA_BYTES);
                prop_assert!(!metadata.to_string().contains("\\u0000"));
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let mut content = b"---\n".to_vec();
            content.extend(bytes);
            let _ = parse(&content);
        }
    }
}
