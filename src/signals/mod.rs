//! `atelier.signals.v1.Signals`: product feedback per workspace, linked to
//! projects and personas. The same shape as the other domains:
//!
//! * [`service`] is the tonic trait impl; it only forwards to [`rpc`];
//! * [`rpc`] holds one file per resource: parse → authorize ([`access`]) →
//!   one transaction → proto ([`convert`]);
//! * [`store`] is the SQL, returning rows and [`error::SignalsError`];
//! * [`events`] and [`jobs`] keep each project's counts;
//! * [`fields`] holds the enumerations and limits.
//!
//! This file only lists the parts; none of them imports it back.

pub mod access;
pub mod convert;
pub mod error;
pub mod events;
pub mod fields;
pub mod jobs;
pub mod rpc;
pub mod service;
pub mod store;

pub use self::service::SignalsService;
