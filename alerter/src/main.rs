//! `alerter`: configuration from the environment, then `Alerter::build` and `run_until`
//! a signal.

use shared::config::AlerterConfig;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    shared::process::service::run_service(
        "alerter",
        AlerterConfig::from_env,
        |config| &config.telemetry,
        async |config, registry, shutdown| {
            let alerter = alerter::Alerter::build(config, &registry).await?;
            alerter.run_until(shutdown).await
        },
    )
    .await
}
