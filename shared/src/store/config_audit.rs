//! `config_audit_log` rows: every configuration change writes one in the
//! same transaction as the change, so there is never a change without its audit row or an
//! audit row without its change.

use serde_json::Value;
use tokio_postgres::GenericClient;

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

pub async fn record<C: GenericClient>(
    client: &C,
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
