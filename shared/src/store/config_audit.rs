//! `config_audit_log`: every configuration change writes one row in the same transaction
//! as the change, so there is never a change without its audit row or an audit row without
//! its change; operators search the rows.

use super::Stamp;
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use serde_json::Value;

/// What changed, by whom, and why.
#[derive(Clone, Debug)]
pub struct ConfigChange<'a> {
    /// The key's or user's name (never key material).
    pub changed_by: &'a str,
    /// `CREATE`, `UPDATE` or `DELETE`.
    pub operation: &'static str,
    pub table_name: &'static str,
    /// The row's id; 0 for tables keyed by hostname (the hostname is in the values).
    pub record_id: i32,
    pub old_values: Option<Value>,
    pub new_values: Option<Value>,
    pub reason: Option<&'a str>,
    pub correlation_id: Option<&'a str>,
}

pub async fn record(
    client: &impl GenericClient,
    change: &ConfigChange<'_>,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            "INSERT INTO config_audit_log (changed_by, operation, table_name, record_id, old_values, new_values, reason, correlation_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &change.changed_by,
                &change.operation,
                &change.table_name,
                &change.record_id,
                &change.old_values,
                &change.new_values,
                &change.reason,
                &change.correlation_id,
            ],
        )
        .await?;
    Ok(())
}

/// A row of the configuration audit, as operators see it.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ConfigRecord {
    pub id: i64,
    pub changed_at: Stamp,
    pub changed_by: String,
    pub operation: String,
    pub table_name: String,
    pub record_id: i32,
    pub old_values: Option<Value>,
    pub new_values: Option<Value>,
    pub reason: Option<String>,
    pub correlation_id: Option<String>,
}

/// What a search matches; every filter optional.
#[derive(Clone, Debug, Default)]
pub struct ChangeFilter {
    /// Part of the name, any case.
    pub changed_by: Option<String>,
    pub operation: Option<String>,
    pub table_name: Option<String>,
    pub record_id: Option<i32>,
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// A page of the changes `filter` matches, newest first, and how many match.
pub async fn search(
    client: &impl GenericClient,
    filter: &ChangeFilter,
    limit: i64,
    offset: i64,
) -> Result<(Vec<ConfigRecord>, i64), tokio_postgres::Error> {
    let mut sql = super::search::Filter::default();
    if let Some(who) = &filter.changed_by {
        sql.add(
            "changed_by ILIKE ?",
            format!("%{}%", who.replace('%', "\\%").replace('_', "\\_")),
        );
    }
    if let Some(op) = filter.operation.clone() {
        sql.add("operation = ?", op);
    }
    if let Some(table) = filter.table_name.clone() {
        sql.add("table_name = ?", table);
    }
    if let Some(id) = filter.record_id {
        sql.add("record_id = ?", id);
    }
    if let Some(from) = filter.from {
        sql.add("changed_at >= ?", from);
    }
    if let Some(until) = filter.until {
        sql.add("changed_at <= ?", until);
    }
    let total: i64 = client
        .query_one(
            &format!("SELECT count(*) FROM config_audit_log {}", sql.sql()),
            &sql.params(&[]),
        )
        .await?
        .get(0);
    let rows = client
        .query(
            &format!(
                "SELECT id, changed_at, changed_by, operation, table_name, record_id, old_values, \
                 new_values, reason, correlation_id FROM config_audit_log {} \
                 ORDER BY changed_at DESC, id DESC LIMIT {} OFFSET {}",
                sql.sql(),
                sql.next(1),
                sql.next(2)
            ),
            &sql.params(&[&limit, &offset]),
        )
        .await?;
    let records = rows
        .iter()
        .map(|r| ConfigRecord {
            id: r.get("id"),
            changed_at: Stamp(r.get("changed_at")),
            changed_by: r.get("changed_by"),
            operation: r.get("operation"),
            table_name: r.get("table_name"),
            record_id: r.get("record_id"),
            old_values: r.get("old_values"),
            new_values: r.get("new_values"),
            reason: r.get("reason"),
            correlation_id: r.get("correlation_id"),
        })
        .collect();
    Ok((records, total))
}
