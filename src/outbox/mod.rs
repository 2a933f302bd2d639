//! The transactional outbox: the queue of events that write RPCs store in
//! the same transaction as their rows, and the worker that applies them.
//!
//! This module is the queue's mechanics and knows no domain. Domains define
//! their events (serde payloads, [`Event`]) and handlers ([`Job`],
//! [`Aggregate`], [`BulkAggregate`]) beside their own code; `jobs.rs`
//! registers them in [`Handlers`]. A new kind of job needs no edit here.
//!
//! Workers claim batches of due events with `FOR UPDATE SKIP LOCKED`, so any
//! number of them (tasks or processes) drain one table without stepping on
//! each other. Within the claiming transaction:
//!
//! * effects in the database (aggregates: usage counters, rating
//!   aggregates) are applied, coalesced, and their events deleted — all or
//!   nothing, so each takes effect exactly once;
//! * effects outside the database (jobs: content verification and deletion,
//!   build-pack rendering, deleting a deleted workshop's objects) are
//!   *leased*: their `available_at` moves a lease period ahead and their
//!   attempt count up. They then run with no transaction open, and their
//!   event is deleted (or rescheduled with backoff) afterwards. A worker that
//!   dies mid-job leaves the lease to expire, and another worker picks the
//!   event up within the lease period (default 30 s);
//! * an event of a kind no handler is registered for, or with a payload its
//!   type does not parse, is parked as dead with the reason, never retried
//!   forever.
//!
//! A failing job is retried with exponential backoff and jitter, and parked
//! as dead after the maximum number of attempts (its [`Job::parked`] runs
//! then).

pub mod admin;
mod event;
mod handlers;
mod queue;
mod worker;

pub use self::event::{Event, NewEvent, enqueue, enqueue_one};
pub use self::handlers::{Aggregate, BulkAggregate, BulkOutcome, Handlers, Job, JobError};
pub use self::worker::{DrainError, Worker};
