//! SKILL.md front matter: a `---` line, YAML, a `---` line, at the very start
//! of Markdown content. Its `name` and `description` fill a version's name
//! and description when the request leaves them empty; every other key is
//! kept as the version's metadata.

use serde_json::{Map, Value};
use yaml_rust2::{Yaml, YamlLoader};

/// What front matter said.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct FrontMatter {
    /// The `name` key, if it is a string.
    pub name: Option<String>,
    /// The `description` key, if it is a string.
    pub description: Option<String>,
    /// Every other key, as JSON.
    pub metadata: Map<String, Value>,
}

/// The longest front matter we look for, so a streamed upload only needs
/// its first bytes to know.
pub const MAX_FRONT_MATTER_BYTES: usize = 64 * 1024;

/// Parses the front matter at the start of `content`: `Ok(None)` when the
/// content has none, an error that says where when it is malformed.
pub fn parse(content: &[u8]) -> Result<Option<FrontMatter>, String> {
    let Some(rest) = content
        .strip_prefix(b"---\n")
        .or_else(|| content.strip_prefix(b"---\r\n"))
    else {
        return Ok(None);
    };
    let window = &rest[..rest.len().min(MAX_FRONT_MATTER_BYTES)];
    let text = match std::str::from_utf8(window) {
        Ok(text) => text,
        // A window cut in the middle of a character is fine; anything
        // else is not UTF-8.
        Err(e) if e.error_len().is_none() => {
            std::str::from_utf8(&window[..e.valid_up_to()]).unwrap_or_default()
        }
        Err(e) => {
            return Err(format!(
                "front matter is not UTF-8 (byte {})",
                e.valid_up_to() + 4
            ));
        }
    };
    let mut yaml_lines = Vec::new();
    let mut closed = false;
    for line in text.split_inclusive('\n') {
        if line.trim_end_matches(['\r', '\n']) == "---" {
            closed = true;
            break;
        }
        yaml_lines.push(line);
    }
    if !closed {
        return Err(format!(
            "front matter opened by --- on line 1 has no closing --- line within {} KiB",
            MAX_FRONT_MATTER_BYTES / 1024
        ));
    }
    let yaml = yaml_lines.concat();
    let documents = YamlLoader::load_from_str(&yaml).map_err(|e| {
        let marker = e.marker();
        // +1: the opening --- is line 1 of the content.
        format!(
            "front matter is not valid YAML at line {}, column {}: {}",
            marker.line() + 1,
            marker.col() + 1,
            e.info()
        )
    })?;
    let mapping = match documents.into_iter().next() {
        None | Some(Yaml::Null) => return Ok(Some(FrontMatter::default())),
        Some(Yaml::Hash(mapping)) => mapping,
        Some(_) => return Err("front matter must be a YAML mapping of keys to values".to_owned()),
    };
    let mut front = FrontMatter::default();
    for (key, value) in mapping {
        let key = match key {
            Yaml::String(key) => key,
            other => yaml_to_json(&other).to_string(),
        };
        match (key.as_str(), value) {
            ("name", Yaml::String(name)) => front.name = Some(name),
            ("description", Yaml::String(description)) => front.description = Some(description),
            (_, value) => {
                front.metadata.insert(key, yaml_to_json(&value));
            }
        }
    }
    Ok(Some(front))
}

fn yaml_to_json(yaml: &Yaml) -> Value {
    match yaml {
        Yaml::Real(text) => text
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or_else(|| Value::String(text.clone()), Value::Number),
        Yaml::Integer(n) => Value::from(*n),
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Array(items) => Value::Array(items.iter().map(yaml_to_json).collect()),
        Yaml::Hash(mapping) => Value::Object(
            mapping
                .iter()
                .map(|(k, v)| {
                    let key = match k {
                        Yaml::String(s) => s.clone(),
                        other => yaml_to_json(other).to_string(),
                    };
                    (key, yaml_to_json(v))
                })
                .collect(),
        ),
        Yaml::Null | Yaml::BadValue | Yaml::Alias(_) => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skill_md_front_matter_fills_name_and_description_and_keeps_the_rest() {
        let content = b"---\nname: pdf-tools\ndescription: Work with PDFs\nlicense: MIT\nmetadata:\n  version: 2\n  tags: [pdf, docs]\n---\n# PDF tools\n";
        let front = parse(content).expect("valid").expect("present");
        assert_eq!(front.name.as_deref(), Some("pdf-tools"));
        assert_eq!(front.description.as_deref(), Some("Work with PDFs"));
        assert_eq!(
            Value::Object(front.metadata),
            serde_json::json!({"license": "MIT", "metadata": {"version": 2, "tags": ["pdf", "docs"]}})
        );
    }

    #[test]
    fn content_without_front_matter_has_none() {
        assert_eq!(parse(b"# Title\n---\nname: x\n---\n").expect("fine"), None);
        assert_eq!(parse(b"").expect("fine"), None);
    }

    #[test]
    fn malformed_front_matter_says_where() {
        let error =
            parse(b"---\nname: ok\ndescription: [unclosed\n---\nbody").expect_err("bad yaml");
        assert!(error.contains("line"), "{error}");
        let unclosed = parse(b"---\nname: x\nno end here\n").expect_err("unclosed");
        assert!(unclosed.contains("no closing ---"), "{unclosed}");
        let list = parse(b"---\n- a\n- b\n---\n").expect_err("not a mapping");
        assert!(list.contains("mapping"), "{list}");
    }
}
