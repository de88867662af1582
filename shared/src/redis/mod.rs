//! Redis as every service reaches it: connections (shared and blocking, through Sentinel,
//! with password rotation, or to a Redis Cluster), the name of every key, the mirror of the named API keys
//! that lets the ingestor check keys without PostgreSQL, and the dashboard's per-minute
//! activity counters.

pub mod activity;
pub mod api_key_mirror;
pub mod conn;
pub mod connection;
pub mod flush;
pub mod keys;
pub mod settings;
pub mod slots;

pub use conn::RedisConn;
