//! The registry's SQL, one file per table family: functions that take a
//! connection (inside the caller's transaction) and return rows.

pub mod counters;
pub mod listing;
pub mod ratings;
pub mod skills;
pub mod usage;
pub mod versions;
