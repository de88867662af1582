//! PostgreSQL: the connection pool, the embedded migrations of `sql/`, the schema-version
//! check every service runs at start-up, partitions ahead, retention of the audit tables,
//! and the v2.5 sample data. Each table's statements live in one module: `rules`
//! (`alert_rules`), `hosts` (`development_hosts`, `device_teams`), `audit`
//! (`event_audit_log`), `config_audit` (`config_audit_log`), `api_keys`, `silences`.

pub mod api_keys;
pub mod audit;
pub mod config_audit;
pub mod hosts;
mod migrations;
mod partitions;
mod pool;
pub mod retention;
pub mod rules;
mod search;
mod seed;
pub mod silences;
mod stamp;

pub use migrations::{
    MigrationReport, SchemaError, check_schema, latest_version, migrate, schema_version,
};
pub use partitions::{
    PartitionHealth, ensure_partitions, ensure_partitions_with, missing_partitions, month_starts,
    partition_health,
};
pub use pool::{PoolError, connect};
pub use seed::{SeedReport, seed_v25_samples};
pub use stamp::Stamp;

pub use deadpool_postgres::Pool;

/// A PostgreSQL error with the server's message, code and detail (its `Display` says only
/// "db error").
pub fn describe(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!(
            "{} ({}){}",
            db.message(),
            db.code().code(),
            db.detail().map(|d| format!(": {d}")).unwrap_or_default()
        ),
        None => error.to_string(),
    }
}
