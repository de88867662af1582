//! What a Redis connection needs: where Redis is (directly or through Sentinel), how to
//! authenticate, and the names of the keys. Read from the environment by
//! `shared::config` (`RedisConfig::from_env`).

use super::keys::RedisKeys;
use secrecy::SecretString;
use std::path::PathBuf;
use std::time::Duration;

/// How to reach Redis, and the names of the keys there.
#[derive(Clone, Debug)]
pub struct RedisConfig {
    pub host: String,
    pub port: u16,
    pub db: i64,
    pub tls_enabled: bool,
    pub ca_cert_path: Option<PathBuf>,
    pub max_connections: usize,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    /// Tried when `password` is refused, on every new connection (rotation without restart).
    pub password_next: Option<SecretString>,
    /// Find the master through Redis Sentinel instead of `host`/`port`.
    pub sentinel: Option<SentinelConfig>,
    /// `REDIS_CLUSTER_NODES`: some nodes of a Redis Cluster (empty: not a cluster).
    pub cluster_nodes: Vec<(String, u16)>,
    pub keys: RedisKeys,
}

/// `REDIS_SENTINEL_*`: the sentinels to ask, and the name of the master they watch.
#[derive(Clone, Debug)]
pub struct SentinelConfig {
    pub hosts: Vec<(String, u16)>,
    pub master_name: String,
    /// The sentinels' own password (`requirepass` of the sentinel), if they have one.
    pub password: Option<SecretString>,
}

impl RedisConfig {
    /// Plain loopback Redis with the given keys: what tests and the local stack use.
    pub fn local(keys: RedisKeys) -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 6379,
            db: 0,
            tls_enabled: false,
            ca_cert_path: None,
            max_connections: 20,
            username: None,
            password: None,
            password_next: None,
            sentinel: None,
            cluster_nodes: Vec::new(),
            keys,
        }
    }
}

/// `INGEST_ACK_REPLICAS` / `INGEST_ACK_TIMEOUT_MS`: how many replicas must confirm a write
/// (`WAIT`) before it counts as safe, and how long to wait for them. The ingestor waits
/// before it answers a sender; a worker waits wherever it pushes an item to one Redis node
/// before removing it from another (on a cluster, a dead letter from a shard other than
/// the DLQs' own). `0`: the primary's answer is enough (v2.5's behaviour).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Replication {
    pub replicas: u32,
    pub timeout: Duration,
}

impl Default for Replication {
    fn default() -> Self {
        Self {
            replicas: 0,
            timeout: Duration::from_secs(1),
        }
    }
}
