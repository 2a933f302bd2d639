//! The names of the metrics the server records (see `prometheus` for the
//! endpoint). A leaf module, so any part of the server can record one
//! without depending on the exporter.

/// RPCs answered, by `service`, `method` and gRPC `code`.
pub const RPC_REQUESTS: &str = "atelier_rpc_requests_total";
/// RPC latency until the status, by `service`, `method` and `code`.
pub const RPC_DURATION: &str = "atelier_rpc_duration_seconds";
/// RPCs running now, by `service`.
pub const RPC_IN_FLIGHT: &str = "atelier_rpc_in_flight";
/// Connections the database pool holds, idle or lent.
pub const POOL_CONNECTIONS: &str = "atelier_db_pool_connections";
/// Of those, the idle ones.
pub const POOL_IDLE: &str = "atelier_db_pool_idle_connections";
/// Callers waiting for a pooled connection.
pub const POOL_WAITERS: &str = "atelier_db_pool_waiters";
/// The pool's maximum size.
pub const POOL_MAX: &str = "atelier_db_pool_max_connections";
/// Events waiting in the outbox.
pub const OUTBOX_PENDING: &str = "atelier_outbox_pending_events";
/// Events parked as dead.
pub const OUTBOX_DEAD: &str = "atelier_outbox_dead_events";
/// Age of the oldest pending event (0 when none).
pub const OUTBOX_OLDEST_AGE: &str = "atelier_outbox_oldest_pending_age_seconds";
/// Events this process applied, by `kind`.
pub const OUTBOX_APPLIED: &str = "atelier_outbox_events_applied_total";
/// Time of one claiming transaction of the worker.
pub const OUTBOX_BATCH_DURATION: &str = "atelier_outbox_batch_duration_seconds";
/// Content bytes hashed to verify it (by the verification job and the
/// scrub).
pub const VERIFIED_BYTES: &str = "atelier_content_verified_bytes_total";
/// 1 while the embedded PostgreSQL runs, 0 while it is down (absent with
/// an external database).
pub const EMBEDDED_POSTGRES_UP: &str = "atelier_embedded_postgres_up";
