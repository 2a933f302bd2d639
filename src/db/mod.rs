//! The database: the connection pool, the embedded migrations, and the
//! private PostgreSQL cluster the server runs when no `DATABASE_URL` is set.

pub mod embedded;
pub mod rows;
pub mod shared_cluster;
pub mod supervisor;

use std::time::Duration;

use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{AsyncConnection, AsyncMigrationHarness, AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

/// Every migration in `migrations/`, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Takes the session-level advisory lock that serializes migration runs on
/// one schema, so replicas starting together do not race to apply the same
/// migration. Keyed by the schema, since that is where diesel records what
/// ran: databases that keep several schemas (the tests do) migrate them
/// independently.
const LOCK_MIGRATIONS: &str =
    "SELECT pg_advisory_lock(hashtextextended('atelier migrations ' || current_schema(), 0))";
const UNLOCK_MIGRATIONS: &str =
    "SELECT pg_advisory_unlock(hashtextextended('atelier migrations ' || current_schema(), 0))";

/// The pool every RPC and the worker borrow connections from.
pub type DbPool = Pool<AsyncPgConnection>;

/// A connection borrowed from [`DbPool`].
pub type PooledConnection = Object<AsyncPgConnection>;

/// Builds a pool of at most `max_size` connections to `database_url`.
///
/// Connections are opened lazily, so this succeeds even while the database
/// is down; `timeout` bounds how long a caller waits for one.
pub fn build_pool(database_url: &str, max_size: u32, timeout: Duration) -> anyhow::Result<DbPool> {
    // Fast recycling: no `SELECT 1` round trip on every checkout (it cost
    // RecordUsage a sixth of its throughput). A connection whose server went
    // away is still noticed, without a query: its socket is closed.
    let mut config = ManagerConfig::default();
    config.recycling_method = RecyclingMethod::Fast;
    let manager =
        AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(database_url, config);
    let pool = Pool::builder(manager)
        .max_size(usize::try_from(max_size)?)
        .wait_timeout(Some(timeout))
        .create_timeout(Some(timeout))
        .recycle_timeout(Some(timeout))
        .runtime(deadpool::Runtime::Tokio1)
        .build()?;
    Ok(pool)
}

/// Applies every pending migration to the database at `database_url` and
/// returns the versions it applied.
///
/// Must run on a multi-threaded tokio runtime: diesel's migration harness is
/// synchronous and `AsyncMigrationHarness` bridges it with `block_in_place`.
pub async fn run_migrations(database_url: &str) -> anyhow::Result<Vec<String>> {
    let mut conn = AsyncPgConnection::establish(database_url).await?;
    diesel::sql_query(LOCK_MIGRATIONS)
        .execute(&mut conn)
        .await?;
    let mut harness = AsyncMigrationHarness::new(conn);
    let applied = harness
        .run_pending_migrations(MIGRATIONS)
        .map(|versions| versions.iter().map(ToString::to_string).collect())
        .map_err(|e| anyhow::anyhow!("applying migrations failed: {e}"));
    let mut conn = harness.into_inner();
    // Closing the connection would release the lock too; unlock explicitly
    // so a failure to close cannot hold other replicas up.
    diesel::sql_query(UNLOCK_MIGRATIONS)
        .execute(&mut conn)
        .await?;
    applied
}

/// Reverts every applied migration (used by tests that prove each
/// `down.sql` really undoes its `up.sql`).
pub async fn revert_all_migrations(database_url: &str) -> anyhow::Result<usize> {
    let conn = AsyncPgConnection::establish(database_url).await?;
    let mut harness = AsyncMigrationHarness::new(conn);
    let reverted = harness
        .revert_all_migrations(MIGRATIONS)
        .map_err(|e| anyhow::anyhow!("reverting migrations failed: {e}"))?;
    Ok(reverted.len())
}
