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
