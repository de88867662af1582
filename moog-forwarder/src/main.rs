//! `moog-forwarder`: configuration from the environment, then `Forwarder::build` and
//! `run_until` a signal.

use shared::config::ForwarderConfig;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    shared::process::service::run_service(
        "moog-forwarder",
        ForwarderConfig::from_env,
        |config| &config.telemetry,
        async |config, registry, shutdown| {
            let forwarder = moog_forwarder::Forwarder::build(config, &registry).await?;
            forwarder.run_until(shutdown).await
        },
    )
    .await
}
