//! SKILL.md front matter: a `---` line, YAML, a `---` line, at the very start
//! of Markdown content. Its `name` and `description` fill a version's name
//! and description when the request leaves them empty; every other key is
//! kept as the version's metadata.
//!
//! The YAML comes from clients, so it is read as a stream of parser events
//! into JSON with an explicit stack — never by recursion — and every limit
//! is checked before the value grows: nesting depth ([`MAX_DEPTH`]), nodes
//! including those an alias copies ([`MAX_NODES`]), and the size of the
//! resulting metadata ([`MAX_METADATA_BYTES`]). A "billion laughs" of
//! aliases or a 5,000-deep sequence is refused in microseconds with a
//! sentence saying which limit it broke. Text PostgreSQL cannot store (a
//! NUL character) is refused too.

use std::collections::HashMap;

use serde_json::{Map, Value};
use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::TScalarStyle;

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

/// Deepest nesting of sequences and mappings (the top-level mapping is
/// level 1). Well below the 100 levels at which protobuf decoders in other
/// languages give up on the `Struct` a version's metadata is returned as.
pub const MAX_DEPTH: usize = 32;

/// Most YAML nodes (scalars, sequences, mappings), counting every node an
/// alias copies, so aliases cannot expand a few bytes into millions.
pub const MAX_NODES: usize = 10_000;

/// Largest metadata, measured as its JSON encoding.
pub const MAX_METADATA_BYTES: usize = 64 * 1024;

/// Parses the front matter at the start of `content`: `Ok(None)` when the
/// content has none, an error that says where when it is malformed or
/// breaks a limit.
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
    // yaml-rust2 takes a NUL for the end of its input and would quietly
    // drop everything after it; YAML forbids the character anyway.
    if let Some(at) = yaml.find('\0') {
        let line = yaml[..at].matches('\n').count() + 2;
        return Err(format!(
            "front matter contains a NUL character, which YAML does not allow (line {line})"
        ));
    }
    let mapping = match first_document(&yaml)? {
        None | Some(Value::Null) => return Ok(Some(FrontMatter::default())),
        Some(Value::Object(mapping)) => mapping,
        Some(_) => return Err("front matter must be a YAML mapping of keys to values".to_owned()),
    };
    let mut front = FrontMatter::default();
    for (key, value) in mapping {
        match (key.as_str(), value) {
            ("name", Value::String(name)) => front.name = Some(name),
            ("description", Value::String(description)) => front.description = Some(description),
            (_, value) => {
                front.metadata.insert(key, value);
            }
        }
    }
    let encoded = serde_json::to_vec(&front.metadata).map_or(usize::MAX, |bytes| bytes.len());
    if encoded > MAX_METADATA_BYTES {
        return Err(format!(
            "front matter metadata is {encoded} bytes as JSON; the limit is {MAX_METADATA_BYTES}"
        ));
    }
    Ok(Some(front))
}

/// A sequence or mapping being read.
enum Open {
    Sequence(Vec<Value>),
    /// A mapping and the key whose value comes next (`None`: a key comes
    /// next).
    Mapping(Map<String, Value>, Option<String>),
}

/// A container on the stack, with what finishing it needs to know.
struct Frame {
    open: Open,
    /// The anchor it is to be remembered under (0: none).
    anchor: usize,
    /// Nodes and bytes counted since it opened, for its anchor's record.
    nodes_at_open: usize,
    bytes_at_open: usize,
}

/// A value remembered under an anchor, with what copying it costs.
struct Anchored {
    value: Value,
    nodes: usize,
    bytes: usize,
    /// Levels of nesting inside the value (0 for a scalar).
    depth: usize,
}

/// Builds JSON from the first YAML document of `yaml`, enforcing the limits.
fn first_document(yaml: &str) -> Result<Option<Value>, String> {
    let mut parser = Parser::new_from_str(yaml);
    let mut budget = Budget::default();
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Anchored> = HashMap::new();
    loop {
        let (event, marker) = parser.next_token().map_err(|e| {
            // +1 for 1-based lines, +1 more: the opening --- is line 1.
            format!(
                "front matter is not valid YAML at line {}, column {}: {}",
                e.marker().line() + 1,
                e.marker().col() + 1,
                e.info()
            )
        })?;
        let at = || format!("line {}", marker.line() + 1);
        let finished = match event {
            Event::StreamEnd => return Ok(None),
            Event::Nothing | Event::StreamStart | Event::DocumentStart | Event::DocumentEnd => {
                continue;
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if stack.len() + 1 > MAX_DEPTH {
                    return Err(format!(
                        "front matter nests deeper than {MAX_DEPTH} levels ({})",
                        at()
                    ));
                }
                budget.add_nodes(1, &at)?;
                let open = if matches!(event, Event::SequenceStart(..)) {
                    Open::Sequence(Vec::new())
                } else {
                    Open::Mapping(Map::new(), None)
                };
                stack.push(Frame {
                    open,
                    anchor,
                    nodes_at_open: budget.nodes - 1,
                    bytes_at_open: budget.bytes,
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = stack.pop() else {
                    return Err(format!("front matter is not valid YAML ({})", at()));
                };
                let value = match frame.open {
                    Open::Sequence(items) => Value::Array(items),
                    Open::Mapping(map, _) => Value::Object(map),
                };
                if frame.anchor != 0 {
                    // The copy kept for later aliases costs what it holds:
                    // anchors nested inside anchors would otherwise keep
                    // many copies of one subtree for free.
                    let nodes = budget.nodes - frame.nodes_at_open;
                    let bytes = budget.bytes - frame.bytes_at_open;
                    budget.add_nodes(nodes, &at)?;
                    budget.add_bytes(bytes, &at)?;
                    let depth = nesting(&value);
                    anchors.insert(
                        frame.anchor,
                        Anchored {
                            value: value.clone(),
                            nodes,
                            bytes,
                            depth,
                        },
                    );
                }
                value
            }
            Event::Scalar(text, style, anchor, tag) => {
                if text.contains('\0') {
                    return Err(format!(
                        "front matter contains a NUL character, which cannot be stored ({})",
                        at()
                    ));
                }
                budget.add_nodes(1, &at)?;
                budget.add_bytes(text.len(), &at)?;
                let quoted =
                    style != TScalarStyle::Plain || tag.is_some_and(|tag| tag.suffix == "str");
                let value = scalar(text, quoted);
                if anchor != 0 {
                    anchors.insert(
                        anchor,
                        Anchored {
                            value: value.clone(),
                            nodes: 1,
                            bytes: scalar_bytes(&value),
                            depth: 0,
                        },
                    );
                }
                value
            }
            Event::Alias(anchor) => {
                let Some(anchored) = anchors.get(&anchor) else {
                    return Err(format!("front matter uses an unknown alias ({})", at()));
                };
                if stack.len() + anchored.depth > MAX_DEPTH {
                    return Err(format!(
                        "front matter nests deeper than {MAX_DEPTH} levels through an alias ({})",
                        at()
                    ));
                }
                budget.add_nodes(anchored.nodes, &at)?;
                budget.add_bytes(anchored.bytes, &at)?;
                anchored.value.clone()
            }
        };
        match stack.last_mut() {
            // The document's root is complete: later documents are ignored.
            None => return Ok(Some(finished)),
            Some(Frame {
                open: Open::Sequence(items),
                ..
            }) => items.push(finished),
            Some(Frame {
                open: Open::Mapping(map, pending),
                ..
            }) => match pending.take() {
                Some(key) => {
                    map.insert(key, finished);
                }
                None => *pending = Some(key_text(finished, &at)?),
            },
        }
    }
}

/// Counts nodes and bytes against the limits as they are read.
#[derive(Default)]
struct Budget {
    nodes: usize,
    bytes: usize,
}

impl Budget {
    fn add_nodes(&mut self, nodes: usize, at: &dyn Fn() -> String) -> Result<(), String> {
        self.nodes = self.nodes.saturating_add(nodes);
        if self.nodes > MAX_NODES {
            return Err(format!(
                "front matter has more than {MAX_NODES} values, counting what aliases repeat ({})",
                at()
            ));
        }
        Ok(())
    }

    fn add_bytes(&mut self, bytes: usize, at: &dyn Fn() -> String) -> Result<(), String> {
        self.bytes = self.bytes.saturating_add(bytes);
        if self.bytes > MAX_METADATA_BYTES {
            return Err(format!(
                "front matter holds more than {MAX_METADATA_BYTES} bytes of text, counting what aliases repeat ({})",
                at()
            ));
        }
        Ok(())
    }
}

/// The JSON for a scalar: quoted (or `!!str`) scalars are strings; plain
/// ones are resolved as YAML 1.2's core schema says (null, booleans,
/// integers, floats), falling back to the text.
fn scalar(text: String, quoted: bool) -> Value {
    if quoted {
        return Value::String(text);
    }
    match yaml_rust2::Yaml::from_str(&text) {
        yaml_rust2::Yaml::Null => Value::Null,
        yaml_rust2::Yaml::Boolean(b) => Value::Bool(b),
        yaml_rust2::Yaml::Integer(n) => Value::from(n),
        yaml_rust2::Yaml::Real(real) => real
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::String(text), Value::Number),
        _ => Value::String(text),
    }
}

/// A mapping key as text: scalars only (a sequence or mapping as a key has
/// no JSON equivalent).
fn key_text(key: Value, at: &dyn Fn() -> String) -> Result<String, String> {
    match key {
        Value::String(text) => Ok(text),
        Value::Array(_) | Value::Object(_) => Err(format!(
            "front matter keys must be plain values, not sequences or mappings ({})",
            at()
        )),
        scalar => Ok(scalar.to_string()),
    }
}

/// The text bytes a scalar value counts for.
fn scalar_bytes(value: &Value) -> usize {
    match value {
        Value::String(text) => text.len(),
        other => other.to_string().len(),
    }
}

/// Levels of nesting of a value built here (bounded by [`MAX_DEPTH`], so
/// the walk is short), measured without recursion.
fn nesting(value: &Value) -> usize {
    let mut deepest = 0;
    let mut pending = vec![(value, 0_usize)];
    while let Some((value, depth)) = pending.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match value {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(map) => Box::new(map.values()),
            _ => continue,
        };
        deepest = deepest.max(depth + 1);
        pending.extend(children.map(|child| (child, depth + 1)));
    }
    deepest
}

#[cfg(test)]
mod tests;
