//! The Moog forwarder (issue #5) and the local webhook receiver used in its place during
//! development and tests.
//!
//! Built so far: [`webhook`] (the request body and what an answer means, pure),
//! [`breaker`] (the circuit breaker shared through Redis) and [`receiver`] (the local stand-in
//! the stack and tests post to); the shared token bucket is `shared::rate_limit::TokenBucket`.
//! The forwarding service itself (taking alerts from `mutt:alert_queue`, delayed retries,
//! DLQ, `build`/`run_until`) is not built yet.

pub mod breaker;
pub mod receiver;
pub mod webhook;
