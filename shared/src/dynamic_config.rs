//! Dynamic configuration: values operators change at run time in
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

/// What a dynamic-config value must look like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueKind {
    /// A whole number ≥ 1.
    PositiveInteger,
    /// A whole number ≥ 0.
    Count,
    /// A number of seconds > 0 (fractions allowed).
    Seconds,
}

/// One key operators may set, and who reads it.
#[derive(Clone, Copy, Debug)]
pub struct Setting {
    pub key: &'static str,
    pub kind: ValueKind,
    pub read_by: &'static str,
    pub description: &'static str,
}

/// Every key some service reads (v2.5's table, without the keys nothing reads). The
/// web UI refuses any other key, and any value that the reader would not parse.
pub const SETTINGS: &[Setting] = &[
    Setting {
        key: "max_ingest_queue_size",
        kind: ValueKind::PositiveInteger,
        read_by: "ingestor",
        description: "ingest queue depth at which the ingestor answers 503",
    },
    Setting {
        key: "cache_reload_interval",
        kind: ValueKind::Seconds,
        read_by: "alerter",
        description: "safety-net reload of rules, dev hosts and teams",
    },
    Setting {
        key: "unhandled_threshold",
        kind: ValueKind::PositiveInteger,
        read_by: "alerter",
        description: "identical unhandled events per host before one meta-alert",
    },
    Setting {
        key: "unhandled_expiry_seconds",
        kind: ValueKind::PositiveInteger,
        read_by: "alerter",
        description: "window of the unhandled-event count",
    },
    Setting {
        key: "alerter_queue_warn_threshold",
        kind: ValueKind::Count,
        read_by: "alerter",
        description: "alert-queue depth that is logged as a warning",
    },
    Setting {
        key: "alerter_queue_shed_threshold",
        kind: ValueKind::Count,
        read_by: "alerter",
        description: "alert-queue depth above which the alerter defers",
    },
    Setting {
        key: "alerter_defer_sleep_ms",
        kind: ValueKind::Count,
        read_by: "alerter",
        description: "milliseconds one deferral waits",
    },
    Setting {
        key: "moog_rate_limit",
        kind: ValueKind::PositiveInteger,
        read_by: "moog-forwarder",
        description: "webhook requests per moog_rate_period, all forwarders together",
    },
    Setting {
        key: "moog_rate_period",
        kind: ValueKind::Seconds,
        read_by: "moog-forwarder",
        description: "the period of moog_rate_limit",
    },
];

/// The setting named `key`, if operators may set it.
pub fn setting(key: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.key == key)
}

/// The value as stored (a string a reader parses), or why it is refused.
pub fn normalise(setting: &Setting, value: &serde_json::Value) -> Result<String, String> {
    let number = match value {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    let refuse = |what: &str| Err(format!("{} must be {what}", setting.key));
    match (setting.kind, number) {
        (ValueKind::PositiveInteger, Some(n))
            if n >= 1.0 && n.fract() == 0.0 && n <= u32::MAX as f64 =>
        {
            Ok((n as u64).to_string())
        }
        (ValueKind::PositiveInteger, _) => refuse("a whole number of at least 1"),
        (ValueKind::Count, Some(n)) if n >= 0.0 && n.fract() == 0.0 && n <= u32::MAX as f64 => {
            Ok((n as u64).to_string())
        }
        (ValueKind::Count, _) => refuse("a whole number of at least 0"),
        (ValueKind::Seconds, Some(n)) if n > 0.0 && n.is_finite() && n <= 86_400.0 * 365.0 => {
            Ok(n.to_string())
        }
        (ValueKind::Seconds, _) => refuse("a number of seconds greater than 0"),
    }
}
