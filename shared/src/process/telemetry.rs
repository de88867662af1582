//! Logging: `tracing` to stderr, one JSON object per line when `LOG_JSON_ENABLED=true`
//! (for log shippers), human-readable otherwise. `LOG_LEVEL` takes v2.5's names (`INFO`)
//! or a full `tracing` filter (`info,mutt=debug`).

use crate::config::TelemetryConfig;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. A second call (tests build many services in one
/// process) keeps the first.
pub fn init(config: &TelemetryConfig) {
    let level = match config.log_level.as_str() {
        "warning" => "warn",
        "critical" | "fatal" => "error",
        other => other,
    };
    let filter = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if config.log_json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init()
    } else {
        builder.try_init()
    };
}
