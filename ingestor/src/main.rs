//! `ingestor`: configuration from the environment, then `Ingestor::build` and `run_until`
//! a signal.

use shared::config::IngestorConfig;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    shared::process::service::run_service(
        "ingestor",
        IngestorConfig::from_env,
        |config| &config.telemetry,
        async |config, registry, shutdown| {
            let ingestor = ingestor::Ingestor::build(config, &registry).await?;
            ingestor.run_until(shutdown).await
        },
    )
    .await
}
