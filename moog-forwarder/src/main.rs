//! `moog-forwarder`: configuration from the environment, then `Forwarder::build` and
//! `run_until` a signal.

use shared::config::{Env, ForwarderConfig, ProcessEnv};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = match ForwarderConfig::from_env(&Env::new(&ProcessEnv)) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("moog-forwarder: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    shared::process::telemetry::init(&config.telemetry);
    let registry = shared::process::metrics::new_registry();
    let result = async {
        let forwarder = moog_forwarder::Forwarder::build(config, &registry).await?;
        forwarder
            .run_until(shared::process::shutdown::on_signal())
            .await
    }
    .await;
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("moog-forwarder: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
