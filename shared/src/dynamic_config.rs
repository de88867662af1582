//! Dynamic configuration (v2.5 §6.2): values operators change at run time in
//! `mutt:config:<key>`, read by services with a short local cache.
//!
//! A service names the keys it reads; a background task refreshes them all with one
//! `MGET` every second, so reading a value costs no round trip and a change takes effect
//! within a second (v2.5: 5 s cache plus Pub/Sub invalidation). Values that do not parse
//! fall back to the static default, as in v2.5.

use crate::keys::RedisKeys;
use redis::aio::ConnectionManager;
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub const REFRESH_INTERVAL: Duration = Duration::from_secs(1);

/// The current values of a fixed set of keys. Cloning shares them.
#[derive(Clone, Debug, Default)]
pub struct DynamicConfig {
    values: Arc<RwLock<HashMap<String, String>>>,
    enabled: bool,
}

impl DynamicConfig {
    /// `enabled` is `DYNAMIC_CONFIG_ENABLED`; when false every read gives the default.
    pub fn new(enabled: bool) -> Self {
        Self {
            values: Arc::default(),
            enabled,
        }
    }

    /// The value of `key` parsed as `T`, or `default` when unset, unparsable or disabled.
    pub fn get<T: FromStr>(&self, key: &str, default: T) -> T {
        if !self.enabled {
            return default;
        }
        let values = self.values.read().unwrap_or_else(|p| p.into_inner());
        values
            .get(key)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(default)
    }

    /// Reads `keys` now.
    pub async fn refresh(
        &self,
        conn: &mut ConnectionManager,
        redis_keys: &RedisKeys,
        keys: &[&str],
    ) -> redis::RedisResult<()> {
        if !self.enabled || keys.is_empty() {
            return Ok(());
        }
        let full: Vec<String> = keys.iter().map(|k| redis_keys.config(k)).collect();
        let values: Vec<Option<String>> = redis::cmd("MGET").arg(&full).query_async(conn).await?;
        let fresh: HashMap<String, String> = keys
            .iter()
            .zip(values)
            .filter_map(|(k, v)| v.map(|v| ((*k).to_owned(), v)))
            .collect();
        *self.values.write().unwrap_or_else(|p| p.into_inner()) = fresh;
        Ok(())
    }

    /// Refreshes every [`REFRESH_INTERVAL`] until `shutdown`.
    pub async fn run(
        self,
        mut conn: ConnectionManager,
        redis_keys: RedisKeys,
        keys: &'static [&'static str],
        shutdown: CancellationToken,
    ) {
        if !self.enabled {
            return;
        }
        let mut tick = tokio::time::interval(REFRESH_INTERVAL);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            if let Err(error) = self.refresh(&mut conn, &redis_keys, keys).await {
                tracing::debug!(error = %error, "dynamic config refresh failed, keeping the last values");
            }
        }
    }
}
