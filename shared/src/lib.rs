//! Contracts between the mutt-rs services, defined once: the queue wire types, every Redis
//! key, the reliable queue (take into a processing list, ack, requeue, dead-letter,
//! heartbeat, janitor), configuration, telemetry, the admin HTTP server and the PostgreSQL
//! store with its migrations.

pub mod admin;
pub mod config;
pub mod event;
pub mod key_directory;
pub mod keys;
pub mod metrics;
pub mod queue;
pub mod redis_conn;
pub mod shutdown;
pub mod store;
pub mod telemetry;
pub mod tls;

pub mod dlq;
pub mod dynamic_config;
pub mod rate_limit;
pub mod retention;
pub mod rules;
#[cfg(feature = "test-util")]
pub mod testing;
