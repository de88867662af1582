//! `webui rules`: rules as code from the command line (export, import with a dry run).

use super::{cli_caller, cli_state};
use anyhow::Context;
use shared::config::WebuiConfig;

#[derive(Clone, Debug, PartialEq, Eq, clap::Subcommand)]
pub enum RulesCommand {
    /// Print the active rules as a rules file (YAML).
    Export,
    /// Apply a rules file in one transaction, audited as one change: create the new rules,
    /// change those that differ, deactivate the active rules it leaves out. Prints what it
    /// did as JSON; a file with problems changes nothing and each problem is printed as
    /// FILE:LINE: message (exit 1).
    Import {
        file: std::path::PathBuf,
        /// Only print what it would do.
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        reason: Option<String>,
    },
}

pub async fn rules(action: RulesCommand, config: &WebuiConfig) -> anyhow::Result<()> {
    use crate::error::ApiError;
    use crate::service::rule_file;

    let state = cli_state(config).await?;
    let caller = cli_caller();
    match action {
        RulesCommand::Export => {
            let text = rule_file::export(&state, &caller)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            print!("{text}");
        }
        RulesCommand::Import {
            file,
            dry_run,
            reason,
        } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            match rule_file::import(&state, &caller, &text, dry_run, reason.as_deref()).await {
                Ok(report) => println!("{}", serde_json::to_string_pretty(&report)?),
                Err(ApiError::Invalid(problems)) => {
                    for problem in &problems {
                        eprintln!("{}:{}: {}", file.display(), problem.line, problem.message);
                    }
                    anyhow::bail!(
                        "{}: {} problem(s); nothing was changed",
                        file.display(),
                        problems.len()
                    );
                }
                Err(e) => anyhow::bail!("{e}"),
            }
        }
    }
    Ok(())
}
