//! The Moog forwarder (issue #5) and the local webhook receiver used in its place during
//! development and tests.
//!
//! The forwarder itself (take alerts from `mutt:alert_queue`, shared token bucket and
//! circuit breaker, retries, DLQ) is not built yet. [`receiver`] is: the local stack and the
//! end-to-end tests post to it.

pub mod receiver;
