//! The Workshop's SQL, one file per table family: functions that take a
//! connection (inside the caller's transaction) and return rows.

pub mod build_packs;
pub mod members;
pub mod sessions;
pub mod steps;
pub mod workshops;
