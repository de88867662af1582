//! `webui dlq`: inspect and manage the dead-letter queues.

use anyhow::Context;
use shared::config::WebuiConfig;
use shared::queue::dead_letter::{Dlq, DlqName};
use shared::redis::connection::RedisConnector;

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

fn dlq_name(name: &str) -> anyhow::Result<DlqName> {
    DlqName::parse(name)
        .with_context(|| format!("unknown DLQ {name:?}: expected alerter, moog or dead"))
}

pub async fn dlq(action: DlqCommand, config: &WebuiConfig) -> anyhow::Result<()> {
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
