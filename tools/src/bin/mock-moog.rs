//! `mock-moog`: the local webhook receiver as a process (see `mutt_tools::receiver`).

use clap::Parser;
use std::net::SocketAddr;

#[derive(Parser)]
#[command(
    name = "mock-moog",
    about = "Local stand-in for the Moogsoft webhook: records and logs what it receives"
)]
struct Cli {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:18083")]
    listen: SocketAddr,
    /// The default logs every request it receives; `warn` keeps benchmarks quiet.
    #[arg(
        long,
        env = "LOG_LEVEL",
        default_value = "info,mutt_tools::receiver=debug"
    )]
    log_level: String,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    shared::process::telemetry::init(&shared::config::TelemetryConfig {
        log_level: cli.log_level.clone(),
        log_json: false,
    });
    let receiver = match mutt_tools::receiver::Receiver::bind(cli.listen) {
        Ok(receiver) => receiver,
        Err(error) => {
            eprintln!("mock-moog: cannot listen on {}: {error}", cli.listen);
            return std::process::ExitCode::FAILURE;
        }
    };
    tracing::info!(addr = %receiver.addr, "mock moog webhook listening; GET /_mock/received lists what arrived");
    match receiver
        .run_until(shared::process::shutdown::on_signal())
        .await
    {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("mock-moog: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
