//! `atelier.registry.v1.SkillRegistry`: skills, versions, ratings and usage.
//!
//! * [`service`] is the tonic trait impl; it only forwards to [`rpc`];
//! * [`rpc`] holds one file per resource: parse → authorize → one
//!   transaction → proto ([`convert`]);
//! * [`store`] is the SQL, one file per table family, returning rows;
//! * [`events`] and [`jobs`] are what the outbox worker does for the
//!   registry; [`verification`] and [`scrub`] check stored content;
//! * [`fields`], [`front_matter`], [`staging`] and [`new_version`] are the
//!   building blocks of the write paths.
//!
//! This file only lists the parts; none of them imports it back.

pub mod convert;
pub mod error;
pub mod events;
pub mod fields;
pub mod front_matter;
pub mod jobs;
pub mod new_version;
pub mod rpc;
pub mod scrub;
pub mod service;
pub mod staging;
pub mod store;
pub mod verification;

pub use self::service::RegistryService;
