//! `webui v25-check` (and `scripts/migrate-from-v25 --check`): is this PostgreSQL and
//! Redis, which a MUTT v2.5 site may still be using, ready for the next step of a swap
//! (docs/operations.md, "Migrating from MUTT v2.5")? It reads; it changes nothing.
//!
//! Each finding is either fine or an action for the operator; the command exits non-zero
//! while any action is left.

use redis::aio::ConnectionLike;
use shared::redis::keys::{RedisKeys, WorkerRole};
use shared::store::{self, Pool};

/// One line of the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// `false`: the operator has something to do before the next step.
    pub fine: bool,
    pub what: String,
}

impl Finding {
    fn fine(what: impl Into<String>) -> Self {
        Self {
            fine: true,
            what: what.into(),
        }
    }

    fn action(what: impl Into<String>) -> Self {
        Self {
            fine: false,
            what: what.into(),
        }
    }
}

/// The database: migrated, behind, or still v2.5's own.
pub async fn database(pool: &Pool) -> anyhow::Result<Vec<Finding>> {
    let has_tables: bool = pool
        .get()
        .await?
        .query_one("SELECT to_regclass('alert_rules') IS NOT NULL", &[])
        .await?
        .get(0);
    let latest = store::latest_version();
    let found = store::schema_version(pool).await?;
    let mut findings = Vec::new();
    match found {
        Some(version) if version >= latest => findings.push(Finding::fine(format!(
            "database schema at version {version}: mutt-rs services can use it"
        ))),
        Some(version) => findings.push(Finding::action(format!(
            "database schema at version {version}, this build needs {latest}: run `webui migrate`"
        ))),
        None if has_tables => findings.push(Finding::action(
            "a MUTT v2.5 database, not migrated yet: back it up, then run `webui migrate` \
             (in place, one transaction; v2.5's services keep working on the result)",
        )),
        None => findings.push(Finding::action("an empty database: run `webui migrate`")),
    }
    Ok(findings)
}

/// Redis: the password, the Moog limiter's kind, the queues' types, and the workers whose
/// processing lists are there.
pub async fn redis<C: ConnectionLike + Send>(
    conn: &mut C,
    keys: &RedisKeys,
    password_set: bool,
) -> anyhow::Result<Vec<Finding>> {
    let mut findings = vec![if password_set {
        Finding::fine("Redis reached with REDIS_PASS (v2.5 refuses to run without a password)")
    } else {
        Finding::action(
            "Redis reached without a password: v2.5 refuses to run without one, so a mixed \
             site needs REDIS_PASS set for every mutt-rs service",
        )
    }];
    let kind = |key: &str| redis::cmd("TYPE").arg(key.to_owned()).to_owned();
    let limiter: String = kind(&keys.moog_rate_limit).query_async(conn).await?;
    findings.push(match limiter.as_str() {
        "zset" => Finding::action(format!(
            "{} is v2.5's sliding log: a v2.5 forwarder uses it; run mutt-rs forwarders with \
             MOOG_RATE_LIMITER=v25_sliding_log until the last v2.5 forwarder is gone",
            keys.moog_rate_limit
        )),
        "hash" => Finding::fine(format!(
            "{} is mutt-rs's token bucket: no v2.5 forwarder has used it since; a v2.5 \
             forwarder must not be started while it is (or run MOOG_RATE_LIMITER=v25_sliding_log)",
            keys.moog_rate_limit
        )),
        "none" => Finding::fine(format!("{} is unused", keys.moog_rate_limit)),
        other => Finding::action(format!(
            "{} holds a {other}, neither limiter's type: delete it",
            keys.moog_rate_limit
        )),
    });
    for queue in [&keys.ingest_queue, &keys.alert_queue] {
        let found: String = kind(queue).query_async(conn).await?;
        findings.push(if found == "list" || found == "none" {
            Finding::fine(format!(
                "{queue} is a list (or empty), as both versions use it"
            ))
        } else {
            Finding::action(format!(
                "{queue} holds a {found}: neither version can use it"
            ))
        });
    }
    for role in [WorkerRole::Alerter, WorkerRole::Moog] {
        let prefix = format!("{}:", keys.processing_prefix(role));
        let mut cursor = 0u64;
        loop {
            let (next, lists): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(format!("{prefix}*"))
                .arg("COUNT")
                .arg(1000)
                .query_async(conn)
                .await?;
            for list in lists {
                let pod = list.strip_prefix(&prefix).unwrap_or(&list).to_owned();
                let (items, alive): (u64, bool) = redis::pipe()
                    .llen(&list)
                    .exists(keys.heartbeat(role, &pod))
                    .query_async(conn)
                    .await?;
                findings.push(Finding::fine(if alive {
                    format!("{list}: {items} items held by live worker {pod}")
                } else {
                    format!(
                        "{list}: {items} items of a worker without a heartbeat; any mutt-rs \
                         worker's janitor returns them to the queue"
                    )
                }));
            }
            if next == 0 {
                break;
            }
            cursor = next;
        }
    }
    Ok(findings)
}
