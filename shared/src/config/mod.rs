//! Configuration from the environment into typed structs, read once at start-up.
//!
//! Names and defaults are MUTT v2.5's. Everything is read through
//! [`EnvSource`] so that tests pass a `HashMap` instead of mutating the process
//! environment; nothing else in mutt-rs reads environment variables. A bad value is an
//! error that names the variable, and the service refuses to start with it.

mod connections;
mod process;
mod reader;
mod services;

pub use connections::{DbConfig, RedisConfig, Replication, SentinelConfig};
pub use process::{DynamicConfigSwitch, TelemetryConfig, WorkerIdentity};
pub use reader::{ConfigError, Env, EnvSource, ProcessEnv};
pub use services::{
    AlerterConfig, ForwarderConfig, IngestLimits, IngestorConfig, RemediationConfig,
    RetentionConfig, SyslogTls, WebuiConfig,
};

#[cfg(test)]
mod tests;
