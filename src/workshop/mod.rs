//! `atelier.workshop.v1.Workshop`: workshops, members, steps, sessions and
//! build packs.
//!
//! Each method checks who is calling and what they sent, authorizes the
//! caller against the workshop (`access`), calls repository functions in
//! one transaction (changes lock the workshop row first, so they serialize
//! per workshop), and maps the result to the proto message.
//!
//! * [`service`] is the tonic trait impl; it only forwards to [`rpc`];
//! * [`rpc`] holds one file per resource ([`convert`] maps rows to proto);
//! * [`store`] is the SQL, one file per table family, returning rows;
//! * [`access`] decides who may do what to a workshop;
//! * [`events`] and [`jobs`] are the outbox work (build packs, deletions);
//!   [`render`] turns a workshop into Markdown, JSON or PDF.
//!
//! This file only lists the parts; none of them imports it back.

pub mod access;
pub mod convert;
pub mod error;
pub mod events;
pub mod fields;
pub mod jobs;
pub mod render;
pub mod rpc;
pub mod service;
pub mod store;

pub use self::service::WorkshopService;
