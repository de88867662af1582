//! Reading what the alerter caches: active rules, development hosts, device teams.

use crate::event::Severity;
pub use crate::rules::RoutingData;
use crate::rules::{MatchType, Rule};
use deadpool_postgres::Pool;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("reading rules: {0}")]
    Query(#[from] tokio_postgres::Error),
    #[error("reading rules: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("rule {id} has an unknown match_type {match_type:?}")]
    MatchType { id: i32, match_type: String },
}

/// Everything the alerter routes with, read in one transaction so the three agree.
pub async fn load_routing(pool: &Pool) -> Result<RoutingData, LoadError> {
    let mut conn = pool.get().await?;
    let tx = conn.build_transaction().read_only(true).start().await?;
    let rows = tx
        .query(
            "SELECT id, match_string, trap_oid, syslog_severity, match_type, priority, prod_handling, \
             dev_handling, team_assignment, is_active FROM alert_rules WHERE is_active ORDER BY priority, id",
            &[],
        )
        .await?;
    let mut rules = Vec::with_capacity(rows.len());
    for row in rows {
        let id: i32 = row.get("id");
        let match_type: String = row.get("match_type");
        let match_type = MatchType::parse(&match_type).ok_or_else(|| LoadError::MatchType {
            id,
            match_type: match_type.clone(),
        })?;
        let severity: Option<i32> = row.get("syslog_severity");
        rules.push(Rule {
            id,
            match_string: row.get("match_string"),
            trap_oid: row.get("trap_oid"),
            syslog_severity: severity
                .and_then(|s| u8::try_from(s).ok())
                .and_then(Severity::new),
            match_type,
            priority: row.get("priority"),
            prod_handling: row.get("prod_handling"),
            dev_handling: row.get("dev_handling"),
            team_assignment: row.get("team_assignment"),
            is_active: row.get("is_active"),
        });
    }
    let dev_hosts = tx
        .query("SELECT hostname FROM development_hosts", &[])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let teams = tx
        .query("SELECT hostname, team_assignment FROM device_teams", &[])
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    tx.commit().await?;
    Ok(RoutingData {
        rules,
        dev_hosts,
        teams,
    })
}
