//! `alerter`: configuration from the environment, then `Alerter::build` and `run_until`
//! a signal.

use shared::config::{AlerterConfig, Env, ProcessEnv};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = match AlerterConfig::from_env(&Env::new(&ProcessEnv)) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("alerter: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    shared::process::telemetry::init(&config.telemetry);
    let registry = shared::process::metrics::new_registry();
    let result = async {
        let alerter = alerter::Alerter::build(config, &registry).await?;
        alerter
            .run_until(shared::process::shutdown::on_signal())
            .await
    }
    .await;
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("alerter: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
