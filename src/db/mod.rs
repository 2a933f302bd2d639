//! The database: the connection pool, the embedded migrations, and the
//! private PostgreSQL cluster the server runs when no `DATABASE_URL` is set.
//! This file only lists the parts; none of them imports it back.

pub mod connect;
mod database;
pub mod embedded;
mod host;
mod migrations;
mod pool;
pub mod rows;
pub mod shared_cluster;
pub mod supervisor;
pub mod text_enum;

pub use self::database::Database;
pub use self::migrations::{MIGRATIONS, revert_all_migrations, run_migrations};
pub use self::pool::{DbPool, PooledConnection, build_pool};
