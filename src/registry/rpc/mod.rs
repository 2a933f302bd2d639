//! The SkillRegistry's RPCs, one file per resource. Each handler reads
//! top-down: parse the request into a typed input, authorize, run one
//! transaction through the store, map the result to proto.

pub mod ratings;
pub mod skills;
pub mod usage;
pub mod versions;
