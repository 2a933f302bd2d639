//! The connection pool every RPC and the worker borrow from.

use std::time::Duration;

use diesel_async::AsyncPgConnection;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};

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
