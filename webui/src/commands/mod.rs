//! The `webui` subcommands that run once and exit: what the local stack, the Helm
//! migration hook and operators call.

mod dlq;
mod rules;
mod silences;

pub use dlq::DlqCommand;
pub use rules::RulesCommand;
pub use silences::SilencesCommand;

use crate::service::keys;
use anyhow::Context;
use shared::config::{Env, EnvSource, WebuiConfig};
use shared::queue::reshard::Reshard;
use shared::redis::connection::RedisConnector;
use shared::store;
use shared::store::api_keys::{KeyHolder, Scope};

/// What `webui` was asked to do.
#[derive(Clone, Debug, PartialEq, Eq, clap::Subcommand)]
pub enum Command {
    /// Serve the web UI and JSON API on SERVER_PORT_WEBUI until SIGTERM/SIGINT.
    Serve,
    /// Create a named API key and print it once, alone on stdout (audited).
    CreateKey {
        #[arg(long)]
        name: String,
        /// Comma-separated: ingest, read, admin.
        #[arg(long, value_delimiter = ',', required = true)]
        scopes: Vec<String>,
    },
    /// List, revoke or rotate the named API keys (audited; no key is ever shown again).
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Apply pending migrations, create audit partitions for this month and the next
    /// RETENTION_PRECREATE_MONTHS, then exit.
    Migrate,
    /// Insert MUTT v2.5's sample rules, development hosts and device teams where missing.
    Seed,
    /// Create audit partitions ahead (as `migrate` does), then list every partition with
    /// its range, size and row estimate, one JSON object per line.
    Partitions,
    /// Run partition upkeep and retention once (what a CronJob calls; the alerter also
    /// runs it every RETENTION_INTERVAL) and print what was done as JSON.
    Retention {
        /// Report what would happen, change nothing (also RETENTION_DRY_RUN=true).
        #[arg(long)]
        dry_run: bool,
    },
    /// Rules as code: export the active rules as YAML, or import a rules file.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// List, create, extend, expire or delete silences (maintenance windows; audited).
    #[command(subcommand)]
    Silences(SilencesCommand),
    /// Inspect and manage the dead-letter queues (alerter, moog, dead).
    #[command(subcommand)]
    Dlq(DlqCommand),
    /// Report whether this database and Redis, which MUTT v2.5 may still use, are ready for
    /// the next step of a swap; changes nothing; fails while an action is left.
    V25Check,
    /// Print the SLO report's SLOs (computed from PROMETHEUS_URL) as JSON; fail (exit 1)
    /// when any is critical or Prometheus cannot be asked.
    SloCheck,
    /// After QUEUE_SHARDS was changed and every service runs the new value: move what the
    /// old layout left (queues, retry sets, DLQs, the lists of workers that are gone) into
    /// the current one. Prints what it moved as JSON; fails while a worker of the old
    /// layout is still alive (run it again once it has stopped).
    Reshard {
        /// The QUEUE_SHARDS the site had before.
        #[arg(long)]
        from: usize,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, clap::Subcommand)]
pub enum KeysCommand {
    /// Every key, newest first, as JSON lines: name, scopes, created, creator, last use,
    /// when it stopped (or stops) working. Never the key.
    List,
    /// Stop every active key of this name now (a rotated one in its grace period too).
    Revoke {
        name: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Give the key a successor, printed once alone on stdout, that works at once; the old
    /// key keeps working for the grace period.
    Rotate {
        name: String,
        /// How long the old key keeps working (default 0: it stops now).
        #[arg(long, default_value_t = 0)]
        grace_seconds: u64,
        #[arg(long)]
        reason: Option<String>,
    },
}

/// Runs `command` with configuration from `env`. Results go to stdout, progress to stderr.
pub async fn run(command: Command, env: &dyn EnvSource) -> anyhow::Result<()> {
    let config = WebuiConfig::from_env(&Env::new(env))?;
    shared::process::telemetry::init(&config.telemetry);
    match command {
        Command::Serve => {
            let registry = shared::process::metrics::new_registry();
            let webui = crate::Webui::build(config, &registry).await?;
            webui
                .run_until(shared::process::shutdown::on_signal())
                .await?;
        }
        Command::CreateKey { name, scopes } => {
            let scopes = scopes
                .iter()
                .map(|s| {
                    Scope::parse(s.trim()).with_context(|| {
                        format!("unknown scope {s:?}: expected ingest, read, admin")
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let state = cli_state(&config).await?;
            // Mirrored to Redis at once: the ingestors take it within seconds.
            let made = keys::create(&state, &cli_caller(), &name, &scopes, None)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            eprintln!("created key {name:?} with scopes {scopes:?}; it is shown only now:");
            println!("{}", made.key);
        }
        Command::Keys(action) => {
            let state = cli_state(&config).await?;
            let caller = cli_caller();
            let failed = |e: crate::error::ApiError| anyhow::anyhow!("{e}");
            match action {
                KeysCommand::List => {
                    for key in keys::list(&state, &caller).await.map_err(failed)? {
                        println!("{}", serde_json::to_string(&key)?);
                    }
                }
                KeysCommand::Revoke { name, reason } => {
                    let revoked = keys::revoke(&state, &caller, &name, reason.as_deref())
                        .await
                        .map_err(failed)?;
                    eprintln!("revoked {} key(s) named {name:?}", revoked.len());
                }
                KeysCommand::Rotate {
                    name,
                    grace_seconds,
                    reason,
                } => {
                    let grace = std::time::Duration::from_secs(grace_seconds);
                    anyhow::ensure!(grace <= keys::MAX_GRACE, "--grace-seconds: at most 30 days");
                    let made = keys::rotate(&state, &caller, &name, grace, reason.as_deref())
                        .await
                        .map_err(failed)?;
                    if let Some(until) = made.old_key_until {
                        eprintln!(
                            "rotated {name:?}; the old key works until {until}; the new one is shown only now:"
                        );
                    }
                    println!("{}", made.key);
                }
            }
        }
        Command::Migrate => {
            let pool = store::connect(&config.db).await?;
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
            let pool = store::connect(&config.db).await?;
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
        Command::Partitions => {
            let pool = store::connect(&config.db).await?;
            store::check_schema(&pool).await?;
            store::ensure_partitions(&pool, chrono::Utc::now(), config.retention.precreate_months)
                .await
                .context("creating audit partitions")?;
            for partition in store::partition_health(&pool).await? {
                println!("{}", serde_json::to_string(&partition)?);
            }
        }
        Command::Retention { dry_run } => {
            let pool = store::connect(&config.db).await?;
            store::check_schema(&pool).await?;
            let mut redis = RedisConnector::connect(&config.redis)
                .await?
                .shared()
                .await?;
            let mut retention = config.retention.clone();
            retention.dry_run |= dry_run;
            let report = shared::lifecycle::run_once(
                &pool,
                &mut redis,
                &config.redis.keys,
                &retention,
                chrono::Utc::now(),
            )
            .await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
        Command::Dlq(action) => dlq::dlq(action, &config).await?,
        Command::Silences(action) => silences::silences(action, &config).await?,
        Command::Rules(action) => rules::rules(action, &config).await?,
        Command::SloCheck => {
            shared::tls::install_crypto_provider();
            let client = reqwest::Client::new();
            let report = crate::service::slo::report(&client, &config.prometheus_url).await?;
            println!("{}", serde_json::to_string_pretty(&report.slos)?);
            anyhow::ensure!(!report.any_critical(), "at least one SLO is critical");
        }
        Command::Reshard { from } => {
            let mut redis = RedisConnector::connect(&config.redis)
                .await?
                .shared()
                .await?;
            let old = config.redis.keys.with_shards(from);
            let report = Reshard {
                old: &old,
                new: &config.redis.keys,
            }
            .run(&mut redis)
            .await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            let live = &report.lists_of_live_workers;
            anyhow::ensure!(
                live.is_empty(),
                "{} worker(s) of the old layout still alive: run again once they have stopped",
                live.len()
            );
        }
        Command::V25Check => {
            let pool = store::connect(&config.db).await?;
            let mut redis = RedisConnector::connect(&config.redis)
                .await?
                .shared()
                .await?;
            let mut findings = crate::v25_check::database(&pool).await?;
            findings.extend(
                crate::v25_check::redis(
                    &mut redis,
                    &config.redis.keys,
                    config.redis.password.is_some(),
                )
                .await?,
            );
            for finding in &findings {
                let mark = if finding.fine { "ok    " } else { "ACTION" };
                println!("{mark} {}", finding.what);
            }
            let left = findings.iter().filter(|f| !f.fine).count();
            anyhow::ensure!(left == 0, "{left} action(s) left before the next step");
        }
    }
    Ok(())
}

/// The service layer's state for a one-off command.
async fn cli_state(config: &WebuiConfig) -> anyhow::Result<crate::service::AppState> {
    let pool = store::connect(&config.db).await?;
    store::check_schema(&pool).await?;
    let redis = RedisConnector::connect(&config.redis)
        .await?
        .shared()
        .await?;
    Ok(crate::service::AppState::new(config, pool, redis))
}

/// Who a command's audit rows name: the operator at the host, with the admin's rights the
/// host's configuration gives them anyway.
fn cli_caller() -> crate::service::Caller {
    crate::service::Caller::new(
        KeyHolder {
            name: CLI_CALLER.into(),
            scopes: vec![Scope::Admin],
        },
        shared::event::correlation_id(None),
    )
}

/// The name audits record for changes made with a `webui` subcommand.
pub const CLI_CALLER: &str = "webui-cli";
