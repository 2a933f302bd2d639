//! The generated protobuf and gRPC code for `proto/` (built by the
//! `atelier-proto` crate, which Rust callers use too), the encoded file
//! descriptor set that server reflection serves, and conversions between
//! proto and database values.

pub use atelier_proto::{FILE_DESCRIPTOR_SET, admin, registry, signals, workshop};

/// Fully qualified names of the services this server offers, as health
/// checks and reflection name them.
pub const SERVICE_NAMES: &[&str] = &[
    "atelier.registry.v1.SkillRegistry",
    "atelier.workshop.v1.Workshop",
    "atelier.signals.v1.Signals",
    "atelier.admin.v1.Outbox",
];

/// A protobuf timestamp for a database time.
pub fn timestamp(at: chrono::DateTime<chrono::Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        // Always below 2e9 (leap seconds included), so it fits an i32.
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(999_999_999),
    }
}

/// A `google.protobuf.Struct` for a JSON object.
pub fn json_object_to_struct(
    map: serde_json::Map<String, serde_json::Value>,
) -> prost_types::Struct {
    prost_types::Struct {
        fields: map
            .into_iter()
            .map(|(k, v)| (k, json_to_value(v)))
            .collect(),
    }
}

/// A `google.protobuf.Value` for a JSON value.
pub fn json_to_value(value: serde_json::Value) -> prost_types::Value {
    use prost_types::value::Kind;
    let kind = match value {
        serde_json::Value::Null => Kind::NullValue(0),
        serde_json::Value::Bool(b) => Kind::BoolValue(b),
        serde_json::Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or_default()),
        serde_json::Value::String(s) => Kind::StringValue(s),
        serde_json::Value::Array(items) => Kind::ListValue(prost_types::ListValue {
            values: items.into_iter().map(json_to_value).collect(),
        }),
        serde_json::Value::Object(map) => Kind::StructValue(json_object_to_struct(map)),
    };
    prost_types::Value { kind: Some(kind) }
}

/// Deepest nesting a client's JSON (a `google.protobuf.Struct`) may have:
/// the top-level object is level 1.
pub const MAX_JSON_DEPTH: usize = 32;

/// The JSON object for a client's `google.protobuf.Struct`, refusing what
/// PostgreSQL's `jsonb` cannot store or other clients cannot read back:
/// nesting deeper than [`MAX_JSON_DEPTH`] (checked before descending, so
/// the walk never recurses deeper than that), a NUL character in a key or
/// string, and NaN or an infinite number (JSON has neither). The problem
/// names the path of the offending value, e.g. `.ideas[3].title`.
pub fn checked_struct_to_json(
    value: prost_types::Struct,
) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    checked_object(value, 1, &mut String::new())
}

fn checked_object(
    value: prost_types::Struct,
    depth: usize,
    path: &mut String,
) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    if depth > MAX_JSON_DEPTH {
        return Err(format!(
            "nests deeper than {MAX_JSON_DEPTH} levels (at {})",
            shown(path)
        ));
    }
    let mut object = serde_json::Map::with_capacity(value.fields.len());
    for (key, field) in value.fields {
        let len = path.len();
        path.push('.');
        path.push_str(&crate::text::quote(&key));
        if key.contains('\0') {
            return Err(format!(
                "has a key with a NUL character (at {})",
                shown(path)
            ));
        }
        let converted = checked_value(field, depth, path)?;
        path.truncate(len);
        object.insert(key, converted);
    }
    Ok(object)
}

fn checked_value(
    value: prost_types::Value,
    depth: usize,
    path: &mut String,
) -> Result<serde_json::Value, String> {
    use prost_types::value::Kind;
    Ok(match value.kind {
        None | Some(Kind::NullValue(_)) => serde_json::Value::Null,
        Some(Kind::BoolValue(b)) => serde_json::Value::Bool(b),
        Some(Kind::NumberValue(n)) if !n.is_finite() => {
            return Err(format!(
                "has {n}, which JSON cannot represent (at {})",
                shown(path)
            ));
        }
        Some(Kind::NumberValue(n)) => number_to_json(n),
        Some(Kind::StringValue(s)) => {
            if s.contains('\0') {
                return Err(format!(
                    "has a string with a NUL character (at {})",
                    shown(path)
                ));
            }
            serde_json::Value::String(s)
        }
        Some(Kind::ListValue(list)) => {
            if depth + 1 > MAX_JSON_DEPTH {
                return Err(format!(
                    "nests deeper than {MAX_JSON_DEPTH} levels (at {})",
                    shown(path)
                ));
            }
            let mut items = Vec::with_capacity(list.values.len());
            for (index, item) in list.values.into_iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{index}]"));
                items.push(checked_value(item, depth + 1, path)?);
                path.truncate(len);
            }
            serde_json::Value::Array(items)
        }
        Some(Kind::StructValue(s)) => {
            serde_json::Value::Object(checked_object(s, depth + 1, path)?)
        }
    })
}

/// Longest JSON path an error message shows: its end, which names the
/// offending value (a path of 32 long keys would otherwise make the message
/// kilobytes long).
const SHOWN_PATH_MAX: usize = 120;

/// A JSON path for a message: the root is `.`; a long one keeps its last
/// [`SHOWN_PATH_MAX`] bytes (at a character boundary) after a `…`.
fn shown(path: &str) -> std::borrow::Cow<'_, str> {
    if path.is_empty() {
        return ".".into();
    }
    if path.len() <= SHOWN_PATH_MAX {
        return path.into();
    }
    let mut start = path.len() - SHOWN_PATH_MAX;
    while !path.is_char_boundary(start) {
        start += 1;
    }
    format!("…{}", &path[start..]).into()
}

/// The JSON number for a finite protobuf double: whole ones become JSON
/// integers, so they read back unchanged.
fn number_to_json(n: f64) -> serde_json::Value {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        serde_json::Value::from(n as i64)
    } else {
        serde_json::Number::from_f64(n).map_or(serde_json::Value::Null, Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost_types::value::Kind;

    fn nested(levels: usize) -> prost_types::Struct {
        let mut inner = prost_types::Struct::default();
        for _ in 1..levels {
            let mut outer = prost_types::Struct::default();
            outer.fields.insert(
                "n".to_owned(),
                prost_types::Value {
                    kind: Some(Kind::StructValue(inner)),
                },
            );
            inner = outer;
        }
        inner
    }

    #[test]
    fn client_json_is_refused_past_the_depth_limit() {
        assert!(checked_struct_to_json(nested(MAX_JSON_DEPTH)).is_ok());
        let error = checked_struct_to_json(nested(MAX_JSON_DEPTH + 1)).expect_err("too deep");
        assert!(error.contains("deeper than 32"), "{error}");
    }

    #[test]
    fn nul_and_non_finite_numbers_are_refused_with_their_path() {
        let mut value = prost_types::Struct::default();
        value.fields.insert(
            "list".to_owned(),
            prost_types::Value {
                kind: Some(Kind::ListValue(prost_types::ListValue {
                    values: vec![prost_types::Value {
                        kind: Some(Kind::NumberValue(f64::NAN)),
                    }],
                })),
            },
        );
        let error = checked_struct_to_json(value).expect_err("NaN");
        assert!(error.contains("\"list\"[0]"), "{error}");
        let mut value = prost_types::Struct::default();
        value.fields.insert(
            "k\0".to_owned(),
            prost_types::Value {
                kind: Some(Kind::BoolValue(true)),
            },
        );
        assert!(checked_struct_to_json(value).is_err());
    }

    #[test]
    fn a_long_path_is_shown_by_its_end_so_the_message_stays_short() {
        let key = "0195f3e2-7c1a-7d40-9b1e-4f8a2c6d9e01";
        let mut value = prost_types::Value {
            kind: Some(Kind::NumberValue(f64::NAN)),
        };
        for level in 0..MAX_JSON_DEPTH {
            let mut object = prost_types::Struct::default();
            let name = if level == 0 {
                "last-€".to_owned()
            } else {
                key.to_owned()
            };
            object.fields.insert(name, value);
            value = prost_types::Value {
                kind: Some(Kind::StructValue(object)),
            };
        }
        let Some(Kind::StructValue(object)) = value.kind else {
            unreachable!("built as an object")
        };
        let error = checked_struct_to_json(object).expect_err("NaN");
        assert!(error.len() < 250, "{} bytes: {error}", error.len());
        assert!(
            error.contains('…') && error.ends_with("\"last-€\")"),
            "{error}"
        );
    }
}
