//! The Moog forwarder (issue #5).
//!
//! [`app`] takes alerts from `mutt:alert_queue` into this worker's processing list while
//! delivery slots are free; [`deliver`] waits for the shared [`breaker`] and token bucket
//! (`shared::rate_limit::TokenBucket`) once per batch, POSTs each [`webhook`] payload and
//! hands what Moog accepted to [`ack`] (batched acks), schedules a delayed [`retry`] in
//! Redis, or dead-letters. The local stand-in for Moog is `mutt_tools::receiver`.

pub mod ack;
pub mod app;
pub mod breaker;
pub mod deliver;
pub mod metrics;
pub mod retry;
pub mod webhook;

pub use app::Forwarder;
