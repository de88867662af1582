//! The `webui` subcommands that run once and exit: what the local stack, the Helm
//! migration hook and operators call.

use crate::service::keys;
use anyhow::Context;
use shared::config::{Env, EnvSource, WebuiConfig};
use shared::queue::dead_letter::{Dlq, DlqName};
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

#[derive(Clone, Debug, PartialEq, Eq, clap::Subcommand)]
pub enum SilencesCommand {
    /// Silences as JSON lines, active and upcoming first, then the expired newest first.
    List {
        /// active, upcoming or expired; all when omitted.
        #[arg(long)]
        state: Option<String>,
    },
    /// Make a silence and print it as JSON. Every matcher given must hold.
    Add {
        /// Exact, or a glob (core-rtr-*); case-insensitive.
        #[arg(long)]
        hostname: Option<String>,
        #[arg(long)]
        team: Option<String>,
        #[arg(long)]
        rule_id: Option<i32>,
        /// Case-insensitive regular expression searched for in the message.
        #[arg(long)]
        message_regex: Option<String>,
        /// RFC 3339; now when omitted.
        #[arg(long)]
        starts_at: Option<String>,
        /// RFC 3339; or give --duration-seconds.
        #[arg(long)]
        ends_at: Option<String>,
        #[arg(long)]
        duration_seconds: Option<i32>,
        #[arg(long)]
        reason: String,
    },
    /// Move the end of a silence that has not ended.
    Extend {
        id: i32,
        /// The new end, RFC 3339.
        #[arg(long)]
        ends_at: Option<String>,
        /// How much later than its current end.
        #[arg(long)]
        by_seconds: Option<i32>,
        #[arg(long)]
        reason: Option<String>,
    },
    /// End a silence now.
    Expire {
        id: i32,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Delete a silence (the audit rows of what it quieted keep its id).
    Delete {
        id: i32,
        #[arg(long)]
        reason: Option<String>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, clap::Subcommand)]
pub enum DlqCommand {
    /// Depth of every DLQ.
    Depths,
    /// Print items as JSON lines, oldest first.
    List {
        name: String,
        #[arg(long, default_value_t = 0)]
        offset: u64,
        #[arg(long, default_value_t = 20)]
        limit: u64,
    },
    /// Put the oldest items back on their queue (MAX_POISON_RETRIES caps repeats).
    Replay {
        name: String,
        /// How many; all when omitted.
        #[arg(long)]
        count: Option<u64>,
    },
    /// Delete every item of one DLQ.
    Purge { name: String },
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
        Command::Dlq(action) => dlq(action, &config).await?,
        Command::Silences(action) => silences(action, &config).await?,
        Command::Rules(action) => rules(action, &config).await?,
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

fn dlq_name(name: &str) -> anyhow::Result<DlqName> {
    DlqName::parse(name)
        .with_context(|| format!("unknown DLQ {name:?}: expected alerter, moog or dead"))
}

async fn dlq(action: DlqCommand, config: &WebuiConfig) -> anyhow::Result<()> {
    let mut conn = RedisConnector::connect(&config.redis)
        .await?
        .shared()
        .await?;
    let dlq = Dlq::new(&config.redis.keys);
    match action {
        DlqCommand::Depths => {
            for name in [DlqName::Alerter, DlqName::Moog, DlqName::Dead] {
                println!("{} {}", name.as_str(), dlq.depth(&mut conn, name).await?);
            }
        }
        DlqCommand::List {
            name,
            offset,
            limit,
        } => {
            for item in dlq.list(&mut conn, dlq_name(&name)?, offset, limit).await? {
                println!("{item}");
            }
        }
        DlqCommand::Replay { name, count } => {
            let report = dlq
                .replay(
                    &mut conn,
                    dlq_name(&name)?,
                    count,
                    config.remediation.max_poison_retries,
                )
                .await?;
            println!("replayed {} dead {}", report.replayed, report.dead);
        }
        DlqCommand::Purge { name } => {
            println!("purged {}", dlq.purge(&mut conn, dlq_name(&name)?).await?);
        }
    }
    Ok(())
}

async fn silences(action: SilencesCommand, config: &WebuiConfig) -> anyhow::Result<()> {
    use crate::service::fields::Fields;
    use crate::service::silences::{self, ExtendInput, SilenceInput};
    use serde_json::{Map, Value};

    let state = cli_state(config).await?;
    let caller = cli_caller();
    let failed = |e: crate::error::ApiError| anyhow::anyhow!("{e}");
    // The options as the API's body, so that they are checked exactly as the API checks it.
    let body = |pairs: Vec<(&str, Option<Value>)>| -> Map<String, Value> {
        pairs
            .into_iter()
            .filter_map(|(name, value)| value.map(|v| (name.to_owned(), v)))
            .collect()
    };
    let print = |silence: &shared::store::silences::SilenceRecord| -> anyhow::Result<()> {
        println!("{}", serde_json::to_string(silence)?);
        Ok(())
    };
    match action {
        SilencesCommand::List { state: wanted } => {
            let wanted = silences::state_of(wanted.as_deref()).map_err(failed)?;
            let mut page = crate::service::paging::Page {
                page: 1,
                limit: Some(crate::service::paging::MAX_LIMIT),
            };
            loop {
                let found = silences::list(&state, &caller, wanted, &page)
                    .await
                    .map_err(failed)?;
                found.silences.iter().try_for_each(print)?;
                if page.page >= found.pagination.pages {
                    break;
                }
                page.page += 1;
            }
        }
        SilencesCommand::Add {
            hostname,
            team,
            rule_id,
            message_regex,
            starts_at,
            ends_at,
            duration_seconds,
            reason,
        } => {
            let fields = Fields::of::<SilenceInput>(body(vec![
                ("hostname", hostname.map(Value::from)),
                ("team", team.map(Value::from)),
                ("rule_id", rule_id.map(Value::from)),
                ("message_regex", message_regex.map(Value::from)),
                ("starts_at", starts_at.map(Value::from)),
                ("ends_at", ends_at.map(Value::from)),
                ("duration_seconds", duration_seconds.map(Value::from)),
                ("reason", Some(Value::from(reason))),
            ]))
            .map_err(failed)?;
            let new = silences::new_silence_of(&fields, chrono::Utc::now()).map_err(failed)?;
            print(
                &silences::create(&state, &caller, &new)
                    .await
                    .map_err(failed)?,
            )?;
        }
        SilencesCommand::Extend {
            id,
            ends_at,
            by_seconds,
            reason,
        } => {
            let fields = Fields::of::<ExtendInput>(body(vec![
                ("ends_at", ends_at.map(Value::from)),
                ("by_seconds", by_seconds.map(Value::from)),
            ]))
            .map_err(failed)?;
            let end = |current| silences::new_end_of(&fields, current);
            let done = silences::extend(&state, &caller, id, end, reason.as_deref());
            print(&done.await.map_err(failed)?)?;
        }
        SilencesCommand::Expire { id, reason } => {
            let done = silences::expire(&state, &caller, id, reason.as_deref());
            print(&done.await.map_err(failed)?)?;
        }
        SilencesCommand::Delete { id, reason } => {
            let done = silences::delete(&state, &caller, id, reason.as_deref());
            print(&done.await.map_err(failed)?)?;
        }
    }
    Ok(())
}

async fn rules(action: RulesCommand, config: &WebuiConfig) -> anyhow::Result<()> {
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
