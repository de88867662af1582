//! Dynamic configuration: values operators change at run time in
//! `mutt:config:<key>`, read by services with a short local cache.
//!
//! Every key lives once, in [`DynamicSetting`]: a service names the settings it reads (a
//! typo does not compile, where a loose string silently fell back to the default); a
//! background task refreshes them all with one
//! `MGET` every second, so reading a value costs no round trip and a change takes effect
//! within a second (v2.5: 5 s cache plus Pub/Sub invalidation). Values that do not parse
//! fall back to the static default, as in v2.5.

use crate::redis::RedisConn;
use crate::redis::keys::RedisKeys;
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub const REFRESH_INTERVAL: Duration = Duration::from_secs(1);

/// A setting operators may change at run time, stored at `mutt:config:<key>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DynamicSetting {
    MaxIngestQueueSize,
    CacheReloadInterval,
    UnhandledThreshold,
    UnhandledExpirySeconds,
    AlerterQueueWarnThreshold,
    AlerterQueueShedThreshold,
    AlerterDeferSleepMs,
    MoogRateLimit,
    MoogRatePeriod,
}

impl DynamicSetting {
    /// v2.5's key name (the part after `mutt:config:`).
    pub const fn key(self) -> &'static str {
        match self {
            Self::MaxIngestQueueSize => "max_ingest_queue_size",
            Self::CacheReloadInterval => "cache_reload_interval",
            Self::UnhandledThreshold => "unhandled_threshold",
            Self::UnhandledExpirySeconds => "unhandled_expiry_seconds",
            Self::AlerterQueueWarnThreshold => "alerter_queue_warn_threshold",
            Self::AlerterQueueShedThreshold => "alerter_queue_shed_threshold",
            Self::AlerterDeferSleepMs => "alerter_defer_sleep_ms",
            Self::MoogRateLimit => "moog_rate_limit",
            Self::MoogRatePeriod => "moog_rate_period",
        }
    }
}

/// The current values of a fixed set of settings. Cloning shares them.
#[derive(Clone, Debug, Default)]
pub struct DynamicConfig {
    values: Arc<RwLock<HashMap<DynamicSetting, String>>>,
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

    /// The value of `setting` parsed as `T`, or `default` when unset, unparsable or
    /// disabled.
    pub fn get<T: FromStr>(&self, setting: DynamicSetting, default: T) -> T {
        if !self.enabled {
            return default;
        }
        let values = self.values.read().unwrap_or_else(|p| p.into_inner());
        values
            .get(&setting)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(default)
    }

    /// Reads `settings` now.
    pub async fn refresh(
        &self,
        conn: &mut RedisConn,
        redis_keys: &RedisKeys,
        settings: &[DynamicSetting],
    ) -> redis::RedisResult<()> {
        if !self.enabled || settings.is_empty() {
            return Ok(());
        }
        let full: Vec<String> = settings
            .iter()
            .map(|s| redis_keys.config(s.key()))
            .collect();
        let values: Vec<Option<String>> = redis::cmd("MGET").arg(&full).query_async(conn).await?;
        let fresh: HashMap<DynamicSetting, String> = settings
            .iter()
            .zip(values)
            .filter_map(|(s, v)| v.map(|v| (*s, v)))
            .collect();
        *self.values.write().unwrap_or_else(|p| p.into_inner()) = fresh;
        Ok(())
    }

    /// Refreshes every [`REFRESH_INTERVAL`] until `shutdown`.
    pub async fn run(
        self,
        mut conn: RedisConn,
        redis_keys: RedisKeys,
        settings: &'static [DynamicSetting],
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
            if let Err(error) = self.refresh(&mut conn, &redis_keys, settings).await {
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

/// One setting operators may set, what its value must be, and who reads it.
#[derive(Clone, Copy, Debug)]
pub struct Setting {
    pub setting: DynamicSetting,
    pub kind: ValueKind,
    pub read_by: &'static str,
    pub description: &'static str,
}

/// Every key some service reads (v2.5's table, without the keys nothing reads). The
/// web UI refuses any other key, and any value that the reader would not parse.
pub const SETTINGS: &[Setting] = &[
    Setting {
        setting: DynamicSetting::MaxIngestQueueSize,
        kind: ValueKind::PositiveInteger,
        read_by: "ingestor",
        description: "ingest queue depth at which the ingestor answers 503",
    },
    Setting {
        setting: DynamicSetting::CacheReloadInterval,
        kind: ValueKind::Seconds,
        read_by: "alerter",
        description: "safety-net reload of rules, dev hosts and teams",
    },
    Setting {
        setting: DynamicSetting::UnhandledThreshold,
        kind: ValueKind::PositiveInteger,
        read_by: "alerter",
        description: "identical unhandled events per host before one meta-alert",
    },
    Setting {
        setting: DynamicSetting::UnhandledExpirySeconds,
        kind: ValueKind::PositiveInteger,
        read_by: "alerter",
        description: "window of the unhandled-event count",
    },
    Setting {
        setting: DynamicSetting::AlerterQueueWarnThreshold,
        kind: ValueKind::Count,
        read_by: "alerter",
        description: "alert-queue depth that is logged as a warning",
    },
    Setting {
        setting: DynamicSetting::AlerterQueueShedThreshold,
        kind: ValueKind::Count,
        read_by: "alerter",
        description: "alert-queue depth above which the alerter defers",
    },
    Setting {
        setting: DynamicSetting::AlerterDeferSleepMs,
        kind: ValueKind::Count,
        read_by: "alerter",
        description: "milliseconds one deferral waits",
    },
    Setting {
        setting: DynamicSetting::MoogRateLimit,
        kind: ValueKind::PositiveInteger,
        read_by: "moog-forwarder",
        description: "webhook requests per moog_rate_period, all forwarders together",
    },
    Setting {
        setting: DynamicSetting::MoogRatePeriod,
        kind: ValueKind::Seconds,
        read_by: "moog-forwarder",
        description: "the period of moog_rate_limit",
    },
];

impl Setting {
    pub fn key(&self) -> &'static str {
        self.setting.key()
    }
}

/// The setting named `key`, if operators may set it.
pub fn setting(key: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.key() == key)
}

/// The value as stored (a string a reader parses), or why it is refused.
pub fn normalise(setting: &Setting, value: &serde_json::Value) -> Result<String, String> {
    let number = match value {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    let refuse = |what: &str| Err(format!("{} must be {what}", setting.key()));
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

#[cfg(test)]
mod setting_tests {
    use super::DynamicSetting::{self, *};
    use super::SETTINGS;

    /// Every variant, by an exhaustive match: a new one does not compile until listed here.
    fn all() -> Vec<DynamicSetting> {
        let all = vec![
            MaxIngestQueueSize,
            CacheReloadInterval,
            UnhandledThreshold,
            UnhandledExpirySeconds,
            AlerterQueueWarnThreshold,
            AlerterQueueShedThreshold,
            AlerterDeferSleepMs,
            MoogRateLimit,
            MoogRatePeriod,
        ];
        for s in &all {
            match s {
                MaxIngestQueueSize
                | CacheReloadInterval
                | UnhandledThreshold
                | UnhandledExpirySeconds
                | AlerterQueueWarnThreshold
                | AlerterQueueShedThreshold
                | AlerterDeferSleepMs
                | MoogRateLimit
                | MoogRatePeriod => {}
            }
        }
        all
    }

    #[test]
    fn every_setting_is_in_the_table_once_and_every_key_is_distinct() {
        for setting in all() {
            assert_eq!(
                SETTINGS.iter().filter(|s| s.setting == setting).count(),
                1,
                "{setting:?}"
            );
        }
        let mut keys: Vec<&str> = all().iter().map(|s| s.key()).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), all().len());
        assert_eq!(SETTINGS.len(), all().len());
    }
}
