//! What the mutt-rs services share, one module per concept: the wire types ([`event`]),
//! the pure rule engine ([`rules`]), the reliable queue and its dead letters ([`queue`]),
//! Redis connections, key names and the API-key mirror ([`redis`]), PostgreSQL with one
//! module per table and its migrations ([`store`]), the data lifecycle across both stores
//! ([`lifecycle`]), configuration
//! ([`config`], [`dynamic_config`]), shared rate limits ([`rate_limit`]), TLS for both
//! stores ([`tls`]) and what every process runs ([`process`]).

pub mod config;
pub mod dynamic_config;
pub mod event;
pub mod lifecycle;
pub mod openapi;
pub mod process;
pub mod queue;
pub mod rate_limit;
pub mod redis;
pub mod rules;
pub mod store;
pub mod tls;

#[cfg(feature = "test-util")]
pub mod testing;
