//! `webui`: see the library for what each subcommand does.

use clap::Parser;

#[derive(Parser)]
#[command(
    name = "webui",
    version,
    about = "MUTT web UI and database administration"
)]
struct Cli {
    #[command(subcommand)]
    command: webui::commands::Command,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match webui::commands::run(cli.command, &shared::config::ProcessEnv).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("webui: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
