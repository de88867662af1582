//! What a service's `main` does, in one place: read its configuration from the
//! environment (a bad value names the variable and the service does not start), start
//! logging and its metrics registry, then build it and run it until SIGTERM or SIGINT.
//! Any error ends the process with status 1 and the error on stderr.

use crate::config::{ConfigError, Env, ProcessEnv, TelemetryConfig};
use prometheus::Registry;
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;

/// Runs the service `name`: `run` builds it from its configuration and the registry, and
/// serves until the token is cancelled.
pub async fn run_service<C>(
    name: &str,
    from_env: impl FnOnce(&Env) -> Result<C, ConfigError>,
    telemetry: impl FnOnce(&C) -> &TelemetryConfig,
    run: impl AsyncFnOnce(C, Registry, CancellationToken) -> anyhow::Result<()>,
) -> ExitCode {
    let config = match from_env(&Env::new(&ProcessEnv)) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("{name}: {error}");
            return ExitCode::FAILURE;
        }
    };
    super::telemetry::init(telemetry(&config));
    let registry = super::metrics::new_registry();
    match run(config, registry, super::shutdown::on_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{name}: {error:#}");
            ExitCode::FAILURE
        }
    }
}
