//! Compiles `proto/` (at the repository root) into Rust with tonic, without
//! a system `protoc`.
//!
//! `protox` is a pure-Rust protobuf compiler: it parses the .proto files
//! (and the well-known types it ships) into a `FileDescriptorSet`, which
//! `tonic-prost-build` turns into messages and clients (and, with the
//! `server` feature, the server traits). The encoded descriptor set is also
//! written to `OUT_DIR`, for server reflection.

use std::path::PathBuf;

use prost::Message as _;

const PROTO_FILES: &[&str] = &[
    "atelier/registry/v1/registry.proto",
    "atelier/workshop/v1/workshop.proto",
    "atelier/signals/v1/signals.proto",
    "atelier/admin/v1/outbox.proto",
    // For reflection only (so grpcurl decodes error details); its Rust
    // types come from tonic-types.
    "google/rpc/error_details.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let proto = manifest.join("../../proto");
    println!("cargo:rerun-if-changed={}", proto.display());

    let files: Vec<PathBuf> = PROTO_FILES.iter().map(|f| proto.join(f)).collect();
    let descriptors = protox::compile(&files, [&proto])?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("atelier_descriptor.bin"),
        descriptors.encode_to_vec(),
    )?;

    let server = std::env::var_os("CARGO_FEATURE_SERVER").is_some();
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(server)
        // RPCs a service does not implement yet answer UNIMPLEMENTED.
        .generate_default_stubs(server)
        .compile_fds(descriptors)?;
    Ok(())
}
