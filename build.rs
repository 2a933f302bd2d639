//! Compiles `proto/` into Rust with tonic, without a system `protoc`.
//!
//! `protox` is a pure-Rust protobuf compiler: it parses the .proto files
//! (and the well-known types it ships) into a `FileDescriptorSet`, which
//! `tonic-prost-build` turns into messages, clients and servers. We chose it
//! over a vendored `protoc` binary because it builds from crates.io source on
//! any platform with nothing to download besides the crate itself. The encoded
//! descriptor set is also written to `OUT_DIR` for server reflection.

use std::path::PathBuf;

use prost::Message as _;

const PROTO_FILES: &[&str] = &[
    "proto/atelier/registry/v1/registry.proto",
    "proto/atelier/workshop/v1/workshop.proto",
    "proto/atelier/signals/v1/signals.proto",
    "proto/atelier/admin/v1/outbox.proto",
    // For reflection only (so grpcurl decodes error details); its Rust
    // types come from tonic-types.
    "proto/google/rpc/error_details.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    // Migrations are embedded with `embed_migrations!`; without this line a
    // new migration folder would not rebuild the binary.
    println!("cargo:rerun-if-changed=migrations");

    let descriptors = protox::compile(PROTO_FILES, ["proto"])?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("atelier_descriptor.bin"),
        descriptors.encode_to_vec(),
    )?;

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // RPCs a service does not implement yet answer UNIMPLEMENTED.
        .generate_default_stubs(true)
        .compile_fds(descriptors)?;
    Ok(())
}
