//! Atelier's gRPC contract for Rust callers: the messages and tonic clients
//! of every service in `proto/`, generated at build time (no `protoc`
//! needed), and [`errors::ErrorDetails`], which reads the `ErrorInfo` reason
//! and the `BadRequest` field violations every Atelier error carries.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use atelier_proto::registry::{GetSkillRequest, get_skill_request::Selector};
//! use atelier_proto::registry::skill_registry_client::SkillRegistryClient;
//!
//! let mut registry = SkillRegistryClient::connect("http://127.0.0.1:50051").await?;
//! let mut request = tonic::Request::new(GetSkillRequest {
//!     selector: Some(Selector::Slug("code-review".to_owned())),
//! });
//! request.metadata_mut().insert("x-user-id", "ada".parse()?);
//! match registry.get_skill(request).await {
//!     Ok(found) => println!("{:?}", found.into_inner().skill),
//!     Err(status) => {
//!         let details = atelier_proto::errors::ErrorDetails::of(&status);
//!         println!("{}: {:?}", details.reason, details.fields());
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! It depends on nothing of the server (no database, no object store).

pub mod errors;

/// `atelier.registry.v1`: the SkillRegistry contract.
pub mod registry {
    #![allow(
        clippy::all,
        clippy::pedantic,
        missing_docs,
        reason = "generated code is not ours to lint"
    )]
    tonic::include_proto!("atelier.registry.v1");
}

/// `atelier.workshop.v1`: the Workshop contract.
pub mod workshop {
    #![allow(
        clippy::all,
        clippy::pedantic,
        missing_docs,
        reason = "generated code is not ours to lint"
    )]
    tonic::include_proto!("atelier.workshop.v1");
}

/// `atelier.signals.v1`: the Signals contract.
pub mod signals {
    #![allow(
        clippy::all,
        clippy::pedantic,
        missing_docs,
        reason = "generated code is not ours to lint"
    )]
    tonic::include_proto!("atelier.signals.v1");
}

/// `atelier.admin.v1`: operating the outbox.
pub mod admin {
    #![allow(
        clippy::all,
        clippy::pedantic,
        missing_docs,
        reason = "generated code is not ours to lint"
    )]
    tonic::include_proto!("atelier.admin.v1");
}

/// Every file of `proto/` (with the well-known types it imports), encoded
/// as a `FileDescriptorSet`, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/atelier_descriptor.bin"));
