//! The Moog forwarder (issue #5) and the local webhook receiver used in its place during
//! development and tests.
//!
//! [`app`] takes alerts from `mutt:alert_queue` into this worker's processing list while
//! delivery slots are free; [`deliver`] waits for the shared [`breaker`] and token bucket
//! (`shared::rate_limit::TokenBucket`) once per batch, POSTs each [`webhook`] payload and
//! hands what Moog accepted to [`ack`] (batched acks), schedules a delayed [`retry`] in
//! Redis, or dead-letters. [`receiver`] is the local stand-in for Moog
//! that the stack and the tests post to.

pub mod ack;
pub mod app;
pub mod breaker;
pub mod deliver;
pub mod metrics;
pub mod receiver;
pub mod retry;
pub mod webhook;

pub use app::Forwarder;
