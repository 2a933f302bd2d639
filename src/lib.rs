//! Atelier: the SkillRegistry, Workshop and Signals gRPC services.
//!
//! The binary (`src/main.rs`) parses the command line into a [`config`] and
//! hands it to a subcommand in [`commands`]; `serve` opens the database and
//! the object store into an [`state::AppState`], assembles the server in
//! [`server`] and the outbox worker in [`jobs`], and runs them until
//! shutdown. Each RPC's path reads top-down: `proto/` → the domain's
//! `service.rs` ([`registry`], [`workshop`], [`signals`]) → its
//! `rpc/<resource>.rs` → its `store/<resource>.rs` → SQL in `migrations/`.
//! Modules depend one way (README, "Module map"); `.ci/import-cycles.py`
//! holds them to it.

pub mod admin;
pub mod auth;
pub mod checked;
pub mod commands;
pub mod config;
pub mod connections;
pub mod content;
pub mod db;
pub mod deadline;
pub mod error;
pub mod etag;
pub mod field_mask;
pub mod health;
pub mod idempotency;
pub mod ids;
pub mod jobs;
pub mod keyset;
pub mod load_shed;
pub mod member_rpcs;
pub mod membership;
pub mod outbox;
pub mod pagination;
pub mod proto;
pub mod reasons;
pub mod registry;
pub mod resources;
pub mod roles;
pub mod rpc;
pub mod rpc_log;
pub mod schema;
pub mod server;
pub mod shutdown;
pub mod signals;
pub mod state;
pub mod storage;
pub mod telemetry;
pub mod text;
pub mod transport_errors;
pub mod workshop;
