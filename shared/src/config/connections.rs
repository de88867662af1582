//! How every service reaches its stores, read from the environment: Redis (the settings
//! are `shared::redis::settings`'s, read here; directly or through Sentinel, and the names
//! of its keys) and PostgreSQL.

use super::reader::{ConfigError, Env};
use crate::redis::keys::RedisKeys;
pub use crate::redis::settings::{RedisConfig, Replication, SentinelConfig};
use secrecy::SecretString;
use std::path::PathBuf;

impl SentinelConfig {
    /// `None` unless `REDIS_SENTINEL_HOSTS` (`host:port,host:port`) is set.
    fn from_env(env: &Env) -> Result<Option<Self>, ConfigError> {
        let Some(list) = env.opt_string("REDIS_SENTINEL_HOSTS") else {
            return Ok(None);
        };
        let hosts = host_list("REDIS_SENTINEL_HOSTS", &list, 26379)?;
        if hosts.is_empty() {
            return Err(ConfigError::new(
                "REDIS_SENTINEL_HOSTS",
                list,
                "no sentinel given",
            ));
        }
        Ok(Some(Self {
            hosts,
            master_name: env.string("REDIS_SENTINEL_MASTER", "mymaster"),
            password: env.secret("REDIS_SENTINEL_PASS")?,
        }))
    }
}

impl Replication {
    /// `INGEST_ACK_REPLICAS` (default 0) and `INGEST_ACK_TIMEOUT_MS` (default 1000).
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            replicas: env.parse("INGEST_ACK_REPLICAS", 0)?,
            timeout: std::time::Duration::from_millis(env.int_at_least(
                "INGEST_ACK_TIMEOUT_MS",
                1000,
                1,
            )?),
        })
    }
}

/// `host:port,host:port` (a missing port is `default_port`; IPv6 hosts in brackets).
fn host_list(var: &str, list: &str, default_port: u16) -> Result<Vec<(String, u16)>, ConfigError> {
    list.split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(|h| {
            let port = default_port.to_string();
            let (host, port) = h.rsplit_once(':').unwrap_or((h, &port));
            let port = port
                .parse::<u16>()
                .map_err(|_| ConfigError::new(var, list, "expected host:port,host:port"))?;
            Ok((host.trim_matches(['[', ']']).to_owned(), port))
        })
        .collect()
}

impl RedisConfig {
    /// `REDIS_*`, plus the key names. `default_max_connections` is 20, or 10 for the web UI.
    pub fn from_env(env: &Env, default_max_connections: usize) -> Result<Self, ConfigError> {
        let cluster_nodes = match env.opt_string("REDIS_CLUSTER_NODES") {
            Some(list) => host_list("REDIS_CLUSTER_NODES", &list, 6379)?,
            None => Vec::new(),
        };
        let cluster = !cluster_nodes.is_empty();
        let sentinel = SentinelConfig::from_env(env)?;
        if cluster && sentinel.is_some() {
            return Err(ConfigError::new(
                "REDIS_CLUSTER_NODES",
                "set",
                "a Redis Cluster fails over by itself: set REDIS_CLUSTER_NODES or REDIS_SENTINEL_HOSTS, not both",
            ));
        }
        let shards = env.int_at_least("QUEUE_SHARDS", 1, 1)?;
        Ok(Self {
            host: env.string("REDIS_HOST", "localhost"),
            port: env.port("REDIS_PORT", 6379)?,
            db: env.parse("REDIS_DB", 0)?,
            tls_enabled: env.bool("REDIS_TLS_ENABLED", true)?,
            ca_cert_path: env.path("REDIS_CA_CERT_PATH"),
            max_connections: env.int_at_least(
                "REDIS_MAX_CONNECTIONS",
                default_max_connections,
                1,
            )?,
            username: env.opt_string("REDIS_USER"),
            password: env.secret_any(&["REDIS_PASS", "REDIS_PASS_CURRENT", "REDIS_PASSWORD"])?,
            password_next: env.secret("REDIS_PASS_NEXT")?,
            sentinel,
            cluster_nodes,
            keys: keys_from_env(env).laid_out(shards, cluster),
        })
    }
}

/// The key names: `REDIS_KEY_PREFIX` (default `mutt`), then each v2.5 override variable.
fn keys_from_env(env: &Env) -> RedisKeys {
    let mut keys = RedisKeys::new(&env.string("REDIS_KEY_PREFIX", "mutt"));
    let overrides: [(&str, &mut String); 11] = [
        ("INGEST_QUEUE_NAME", &mut keys.ingest_queue),
        ("ALERT_QUEUE_NAME", &mut keys.alert_queue),
        (
            "ALERTER_PROCESSING_LIST_PREFIX",
            &mut keys.alerter_processing_prefix,
        ),
        (
            "MOOG_PROCESSING_LIST_PREFIX",
            &mut keys.moog_processing_prefix,
        ),
        (
            "ALERTER_HEARTBEAT_PREFIX",
            &mut keys.alerter_heartbeat_prefix,
        ),
        ("MOOG_HEARTBEAT_PREFIX", &mut keys.moog_heartbeat_prefix),
        ("ALERTER_DLQ_NAME", &mut keys.alerter_dlq),
        ("MOOG_DLQ_NAME", &mut keys.moog_dlq),
        ("DEAD_LETTER_QUEUE", &mut keys.dead_letter_queue),
        ("UNHANDLED_PREFIX", &mut keys.unhandled_prefix),
        ("METRICS_PREFIX", &mut keys.metrics_prefix),
    ];
    for (var, slot) in overrides {
        if let Some(v) = env.opt_string(var) {
            *slot = v;
        }
    }
    if let Some(v) = env.opt_string("MOOG_RATE_LIMIT_KEY") {
        keys.moog_rate_limit = v;
    }
    keys
}

/// How to reach PostgreSQL.
#[derive(Clone, Debug)]
pub struct DbConfig {
    pub host: String,
    pub port: u16,
    pub name: String,
    pub user: String,
    pub password: Option<SecretString>,
    /// Tried when `password` is refused, on every new connection (rotation without restart).
    pub password_next: Option<SecretString>,
    pub tls_enabled: bool,
    pub ca_cert_path: Option<PathBuf>,
    pub pool_min: usize,
    pub pool_max: usize,
    /// Schema to use (`search_path`); tests use one schema each.
    pub schema: Option<String>,
}

impl DbConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let pool_min = env.int_at_least("DB_POOL_MIN_CONN", 2usize, 1)?;
        let pool_max = env.parse("DB_POOL_MAX_CONN", 10usize)?;
        if pool_max < pool_min {
            return Err(ConfigError::new(
                "DB_POOL_MAX_CONN",
                pool_max.to_string(),
                format!("must be at least DB_POOL_MIN_CONN ({pool_min})"),
            ));
        }
        Ok(Self {
            host: env.string("DB_HOST", "localhost"),
            port: env.port("DB_PORT", 5432)?,
            name: env.string("DB_NAME", "mutt_db"),
            user: env.string("DB_USER", "mutt_user"),
            password: env.secret_any(&["DB_PASS", "DB_PASS_CURRENT", "POSTGRES_PASSWORD"])?,
            password_next: env.secret("DB_PASS_NEXT")?,
            tls_enabled: env.bool("DB_TLS_ENABLED", true)?,
            ca_cert_path: env.path("DB_TLS_CA_CERT_PATH"),
            pool_min,
            pool_max,
            schema: env.opt_string("DB_SCHEMA"),
        })
    }
}
