//! The Workshop's RPCs, one file per resource. Each handler reads
//! top-down: parse the request into a typed input, authorize against the
//! workshop (`access`), run one transaction through the store, map the
//! result to proto.

pub mod build_packs;
pub mod members;
pub mod sessions;
pub mod steps;
pub mod workshops;
