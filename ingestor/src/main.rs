//! `ingestor`: configuration from the environment, then `Ingestor::build` and `run_until`
//! a signal.

use shared::config::{Env, IngestorConfig, ProcessEnv};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = match IngestorConfig::from_env(&Env::new(&ProcessEnv)) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("ingestor: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    shared::process::telemetry::init(&config.telemetry);
    let registry = shared::process::metrics::new_registry();
    let result = async {
        let ingestor = ingestor::Ingestor::build(config, &registry).await?;
        ingestor
            .run_until(shared::process::shutdown::on_signal())
            .await
    }
    .await;
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("ingestor: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
