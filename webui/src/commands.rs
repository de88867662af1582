//! The `webui` subcommands that run once and exit: what the local stack, the Helm
//! migration hook and operators call.

use anyhow::Context;
use shared::config::{Env, EnvSource, WebuiConfig};
use shared::store;

/// What `webui` was asked to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::Subcommand)]
pub enum Command {
    /// Apply pending migrations, create audit partitions for this month and the next
    /// RETENTION_PRECREATE_MONTHS, then exit.
    Migrate,
    /// Insert MUTT v2.5's sample rules, development hosts and device teams where missing.
    Seed,
}

/// Runs `command` with configuration from `env`. Progress goes to the log (stderr).
pub async fn run(command: Command, env: &dyn EnvSource) -> anyhow::Result<()> {
    let config = WebuiConfig::from_env(&Env::new(env))?;
    shared::telemetry::init(&config.telemetry);
    let pool = store::connect(&config.db).await?;
    match command {
        Command::Migrate => {
            let report = store::migrate(&pool).await.context("applying migrations")?;
            let created = store::ensure_partitions(
                &pool,
                chrono::Utc::now(),
                config.retention.precreate_months,
            )
            .await
            .context("creating audit partitions")?;
            tracing::info!(applied = ?report.applied, version = report.version, partitions_created = ?created, "database is migrated");
        }
        Command::Seed => {
            store::check_schema(&pool).await?;
            let report = store::seed_v25_samples(&pool)
                .await
                .context("seeding sample data")?;
            tracing::info!(
                rules = report.rules,
                dev_hosts = report.dev_hosts,
                teams = report.teams,
                "sample data seeded"
            );
        }
    }
    Ok(())
}
