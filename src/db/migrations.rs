//! The embedded migrations, applied (and, for tests, reverted) under an
//! advisory lock.

use diesel_async::{AsyncMigrationHarness, RunQueryDsl};
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

/// Applies every pending migration to the database at `database_url` and
/// returns the versions it applied.
///
/// Must run on a multi-threaded tokio runtime: diesel's migration harness is
/// synchronous and `AsyncMigrationHarness` bridges it with `block_in_place`.
pub async fn run_migrations(database_url: &str) -> anyhow::Result<Vec<String>> {
    let mut conn = super::connect::establish(database_url).await?;
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
    let conn = super::connect::establish(database_url).await?;
    let mut harness = AsyncMigrationHarness::new(conn);
    let reverted = harness
        .revert_all_migrations(MIGRATIONS)
        .map_err(|e| anyhow::anyhow!("reverting migrations failed: {e}"))?;
    Ok(reverted.len())
}
