//! Reading one row of a result without giving up the commit's answer.
//!
//! diesel-async's `get_result` and `first` return as soon as PostgreSQL
//! sends the first row. For a statement running in autocommit that is
//! *before* its implicit commit has finished: a commit that then fails (a
//! deferred constraint, a crash, a lost connection) is never seen, and the
//! RPC answers OK for a write that does not exist. `load` reads the result
//! to its end — to PostgreSQL's ReadyForQuery, after the commit — so every
//! single-row read here goes through `load` and [`SingleRow`].
//!
//! `clippy.toml` forbids `get_result` and `first` in this crate, so a new
//! call site cannot bring the bug back.

use diesel::result::{Error, QueryResult};

/// The first row of a fully read result.
pub trait SingleRow<T> {
    /// The first row, or [`Error::NotFound`] when there is none.
    fn single(self) -> QueryResult<T>;
    /// The first row, or `None` when there is none.
    fn single_optional(self) -> QueryResult<Option<T>>;
}

impl<T> SingleRow<T> for QueryResult<Vec<T>> {
    fn single(self) -> QueryResult<T> {
        self?.into_iter().next().ok_or(Error::NotFound)
    }

    fn single_optional(self) -> QueryResult<Option<T>> {
        Ok(self?.into_iter().next())
    }
}
