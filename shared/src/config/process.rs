//! What every service process is besides its connections: its logging, its identity as
//! a worker, and whether it honours dynamic settings.

use super::reader::{ConfigError, Env};

/// `LOG_LEVEL` and `LOG_JSON_ENABLED`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TelemetryConfig {
    pub log_level: String,
    pub log_json: bool,
}

impl TelemetryConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            log_level: env.string("LOG_LEVEL", "INFO").to_ascii_lowercase(),
            log_json: env.bool("LOG_JSON_ENABLED", false)?,
        })
    }
}

/// Who this worker is: `POD_NAME`, which names its processing list and heartbeat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerIdentity {
    pub pod_name: String,
}

impl WorkerIdentity {
    /// `POD_NAME`, or `<role>-<hostname>-<6 hex>` so that two processes on one host differ.
    pub fn from_env(env: &Env, role: &str) -> Self {
        let pod_name = env.opt_string("POD_NAME").unwrap_or_else(|| {
            let host = hostname::get()
                .ok()
                .and_then(|h| h.into_string().ok())
                .unwrap_or_default();
            let suffix = &uuid::Uuid::new_v4().simple().to_string()[..6];
            if host.is_empty() {
                format!("{role}-{suffix}")
            } else {
                format!("{role}-{host}-{suffix}")
            }
        });
        Self { pod_name }
    }
}

/// `DYNAMIC_CONFIG_ENABLED`: whether `mutt:config:*` overrides are honoured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DynamicConfigSwitch(pub bool);

impl DynamicConfigSwitch {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self(env.bool("DYNAMIC_CONFIG_ENABLED", false)?))
    }
}
