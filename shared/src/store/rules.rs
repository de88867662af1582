//! `alert_rules`: every statement on the table. The alerter reads the active rules (with
//! the dev hosts and teams, [`load_routing`]); the web UI lists and changes them.

use super::Stamp;
use super::hosts;
use crate::event::Severity;
pub use crate::rules::RoutingData;
use crate::rules::{MatchType, Rule};
use deadpool_postgres::{GenericClient, Pool};
use serde::Serialize;
use tokio_postgres::{Error, Row};

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("reading rules: {0}")]
    Query(#[from] tokio_postgres::Error),
    #[error("reading rules: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("rule {id} has an unknown match_type {match_type:?}")]
    MatchType { id: i32, match_type: String },
}

/// Everything the alerter routes with, read in one transaction so that all of it agrees.
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
    let dev_hosts = hosts::dev_hosts(&tx)
        .await?
        .into_iter()
        .map(|h| h.hostname)
        .collect();
    let teams = hosts::teams(&tx)
        .await?
        .into_iter()
        .map(|t| (t.hostname, t.team_assignment))
        .collect();
    let silences = super::silences::pending(&tx).await?;
    tx.commit().await?;
    Ok(RoutingData {
        rules,
        dev_hosts,
        teams,
        silences,
    })
}

const COLUMNS: &str = "id, name, description, match_string, trap_oid, syslog_severity, match_type, \
     priority, prod_handling, dev_handling, team_assignment, is_active, created_at, updated_at";

/// Every column a client may set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RuleValues {
    pub name: Option<String>,
    pub description: Option<String>,
    pub match_string: Option<String>,
    pub trap_oid: Option<String>,
    pub syslog_severity: Option<i32>,
    pub match_type: String,
    pub priority: i32,
    pub prod_handling: String,
    pub dev_handling: String,
    pub team_assignment: String,
    pub is_active: bool,
}

/// A stored rule, as operators see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct StoredRule {
    pub id: i32,
    #[serde(flatten)]
    pub values: RuleValues,
    pub created_at: Stamp,
    pub updated_at: Stamp,
}

impl StoredRule {
    fn from_row(row: &Row) -> Self {
        Self {
            id: row.get("id"),
            values: RuleValues {
                name: row.get("name"),
                description: row.get("description"),
                match_string: row.get("match_string"),
                trap_oid: row.get("trap_oid"),
                syslog_severity: row.get("syslog_severity"),
                match_type: row.get("match_type"),
                priority: row.get("priority"),
                prod_handling: row.get("prod_handling"),
                dev_handling: row.get("dev_handling"),
                team_assignment: row.get("team_assignment"),
                is_active: row.get("is_active"),
            },
            created_at: Stamp(row.get("created_at")),
            updated_at: Stamp(row.get("updated_at")),
        }
    }
}

/// Every rule, by priority then id.
pub async fn all(client: &impl GenericClient) -> Result<Vec<StoredRule>, Error> {
    let rows = client
        .query(
            &format!("SELECT {COLUMNS} FROM alert_rules ORDER BY priority, id"),
            &[],
        )
        .await?;
    Ok(rows.iter().map(StoredRule::from_row).collect())
}

/// Rule `id`, if there is one.
pub async fn get(client: &impl GenericClient, id: i32) -> Result<Option<StoredRule>, Error> {
    let row = client
        .query_opt(
            &format!("SELECT {COLUMNS} FROM alert_rules WHERE id = $1"),
            &[&id],
        )
        .await?;
    Ok(row.as_ref().map(StoredRule::from_row))
}

/// Rule `id`, locked until the transaction ends (to change it).
pub async fn lock(client: &impl GenericClient, id: i32) -> Result<Option<StoredRule>, Error> {
    let row = client
        .query_opt(
            &format!("SELECT {COLUMNS} FROM alert_rules WHERE id = $1 FOR UPDATE"),
            &[&id],
        )
        .await?;
    Ok(row.as_ref().map(StoredRule::from_row))
}

pub async fn insert(client: &impl GenericClient, v: &RuleValues) -> Result<StoredRule, Error> {
    let row = client
        .query_one(
            &format!(
                "INSERT INTO alert_rules (name, description, match_string, trap_oid, syslog_severity, \
                 match_type, priority, prod_handling, dev_handling, team_assignment, is_active) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING {COLUMNS}"
            ),
            &[
                &v.name, &v.description, &v.match_string, &v.trap_oid, &v.syslog_severity,
                &v.match_type, &v.priority, &v.prod_handling, &v.dev_handling,
                &v.team_assignment, &v.is_active,
            ],
        )
        .await?;
    Ok(StoredRule::from_row(&row))
}

/// Inserts a rule unless one with its name exists (the sample rules); its id when it did.
pub async fn insert_unless_named(
    client: &impl GenericClient,
    v: &RuleValues,
) -> Result<Option<i32>, Error> {
    let row = client
        .query_opt(
            "INSERT INTO alert_rules (name, description, match_string, trap_oid, syslog_severity, \
             match_type, priority, prod_handling, dev_handling, team_assignment, is_active) \
             SELECT $1::varchar, $2::text, $3::varchar, $4::varchar, $5::int, $6::varchar, $7::int, \
             $8::varchar, $9::varchar, $10::varchar, $11::bool \
             WHERE NOT EXISTS (SELECT 1 FROM alert_rules WHERE name = $1::varchar) RETURNING id",
            &[
                &v.name, &v.description, &v.match_string, &v.trap_oid, &v.syslog_severity,
                &v.match_type, &v.priority, &v.prod_handling, &v.dev_handling,
                &v.team_assignment, &v.is_active,
            ],
        )
        .await?;
    Ok(row.map(|r| r.get(0)))
}

pub async fn update(
    client: &impl GenericClient,
    id: i32,
    v: &RuleValues,
) -> Result<StoredRule, Error> {
    let row = client
        .query_one(
            &format!(
                "UPDATE alert_rules SET name = $2, description = $3, match_string = $4, trap_oid = $5, \
                 syslog_severity = $6, match_type = $7, priority = $8, prod_handling = $9, \
                 dev_handling = $10, team_assignment = $11, is_active = $12, updated_at = now() \
                 WHERE id = $1 RETURNING {COLUMNS}"
            ),
            &[
                &id, &v.name, &v.description, &v.match_string, &v.trap_oid, &v.syslog_severity,
                &v.match_type, &v.priority, &v.prod_handling, &v.dev_handling,
                &v.team_assignment, &v.is_active,
            ],
        )
        .await?;
    Ok(StoredRule::from_row(&row))
}

pub async fn deactivate(client: &impl GenericClient, id: i32) -> Result<StoredRule, Error> {
    let row = client
        .query_one(
            &format!(
                "UPDATE alert_rules SET is_active = false, updated_at = now() \
                 WHERE id = $1 RETURNING {COLUMNS}"
            ),
            &[&id],
        )
        .await?;
    Ok(StoredRule::from_row(&row))
}

pub async fn delete(client: &impl GenericClient, id: i32) -> Result<(), Error> {
    client
        .execute("DELETE FROM alert_rules WHERE id = $1", &[&id])
        .await?;
    Ok(())
}
