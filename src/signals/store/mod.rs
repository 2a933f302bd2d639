//! The Signals SQL, one file per table family: functions that take a
//! connection (inside the caller's transaction) and return rows.

pub mod counts;
pub mod projects;
pub mod workspaces;
