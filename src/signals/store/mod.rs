//! The Signals SQL, one file per table family: functions that take a
//! connection (inside the caller's transaction) and return rows.

pub mod counts;
pub mod links;
pub mod projects;
pub mod signal_listing;
pub mod signals;
pub mod workspaces;
