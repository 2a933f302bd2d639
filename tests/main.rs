//! Black-box tests of Atelier through its gRPC API (and, for the schema,
//! through SQL), one module per area, all in one test binary.

mod common;

mod auth;
mod benchmark_smoke;
mod browsers;
mod connections;
mod durability;
mod error_reasons;
mod etags;
mod faults;
mod health;
mod hostile_input;
mod idempotency;
mod observability;
mod outbox;
mod reflection;
mod registry_listing;
mod registry_ratings_usage;
mod registry_skills;
mod registry_versions;
mod schema;
mod self_healing;
mod server_lifecycle;
mod signals;
mod signals_edges;
mod signals_listing;
mod signals_permissions;
mod signals_triage;
mod step_context;
mod tls;
mod traffic;
mod workshop;
mod workshop_paging;
