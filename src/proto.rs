//! The generated protobuf and gRPC code for `proto/`, and the encoded file
//! descriptor set that server reflection serves.

/// `atelier.registry.v1`: the SkillRegistry contract.
pub mod registry {
    #![allow(
        clippy::all,
        clippy::pedantic,
        reason = "generated code is not ours to lint"
    )]
    tonic::include_proto!("atelier.registry.v1");
}

/// `atelier.workshop.v1`: the Workshop contract.
pub mod workshop {
    #![allow(
        clippy::all,
        clippy::pedantic,
        reason = "generated code is not ours to lint"
    )]
    tonic::include_proto!("atelier.workshop.v1");
}

/// `atelier.admin.v1`: operating the outbox.
pub mod admin {
    #![allow(
        clippy::all,
        clippy::pedantic,
        reason = "generated code is not ours to lint"
    )]
    tonic::include_proto!("atelier.admin.v1");
}

/// Every file of `proto/` (with the well-known types it imports), encoded as
/// a `FileDescriptorSet` by build.rs, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/atelier_descriptor.bin"));

/// Fully qualified names of the services this server offers, as health
/// checks and reflection name them.
pub const SERVICE_NAMES: &[&str] = &[
    "atelier.registry.v1.SkillRegistry",
    "atelier.workshop.v1.Workshop",
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

/// The JSON object for a `google.protobuf.Struct`. (Numbers are doubles in
/// protobuf; whole ones become JSON integers so they read back unchanged.)
pub fn struct_to_json_object(
    value: prost_types::Struct,
) -> serde_json::Map<String, serde_json::Value> {
    value
        .fields
        .into_iter()
        .map(|(k, v)| (k, value_to_json(v)))
        .collect()
}

/// The JSON value for a `google.protobuf.Value`.
pub fn value_to_json(value: prost_types::Value) -> serde_json::Value {
    use prost_types::value::Kind;
    match value.kind {
        None | Some(Kind::NullValue(_)) => serde_json::Value::Null,
        Some(Kind::BoolValue(b)) => serde_json::Value::Bool(b),
        Some(Kind::NumberValue(n)) => {
            if n.fract() == 0.0 && n.abs() < 9.0e15 {
                serde_json::Value::from(n as i64)
            } else {
                serde_json::Number::from_f64(n).map_or(serde_json::Value::Null, Into::into)
            }
        }
        Some(Kind::StringValue(s)) => serde_json::Value::String(s),
        Some(Kind::ListValue(list)) => {
            serde_json::Value::Array(list.values.into_iter().map(value_to_json).collect())
        }
        Some(Kind::StructValue(s)) => serde_json::Value::Object(struct_to_json_object(s)),
    }
}
