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

/// Every file of `proto/` (with the well-known types it imports), encoded as
/// a `FileDescriptorSet` by build.rs, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/atelier_descriptor.bin"));

/// Fully qualified names of the services this server offers, as health
/// checks and reflection name them.
pub const SERVICE_NAMES: &[&str] = &[
    "atelier.registry.v1.SkillRegistry",
    "atelier.workshop.v1.Workshop",
];

/// A protobuf timestamp for a database time.
pub fn timestamp(at: chrono::DateTime<chrono::Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        // Always below 2e9 (leap seconds included), so it fits an i32.
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(999_999_999),
    }
}
