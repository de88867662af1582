//! The Moog forwarder (issue #5).
//!
//! `app` takes alerts from `mutt:alert_queue` into this worker's processing list while
//! delivery slots are free (and, with `MOOG_COALESCE_WINDOW`, `coalesce` folds a storm's
//! alerts of one signature into one); the `gate` waits for the shared [`breaker`] and rate
//! limit once per batch; `deliver` POSTs the [`webhook`] payloads (up to
//! `MOOG_BATCH_SIZE` per request) and carries out the
//! `outcome`: what Moog accepted goes to `ack` (batched acks), a retryable failure
//! becomes a delayed `retry` in Redis, the rest is dead-lettered. The local stand-in
//! for Moog is `mutt_tools::receiver`.

mod ack;
mod app;
pub mod breaker;
mod coalesce;
mod deliver;
mod gate;
mod metrics;
mod outcome;
mod retry;
pub mod webhook;

pub use app::Forwarder;

/// Between attempts of a Redis step (the breaker, the limiter, an ack, a retry or a dead
/// letter) while Redis is away.
const REDIS_RETRY: std::time::Duration = std::time::Duration::from_millis(500);
