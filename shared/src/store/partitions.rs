//! Monthly partitions of `event_audit_log`, created ahead of time.
//!
//! The work is done by the SQL function `mutt_ensure_audit_partition` (sql/V1), which
//! serialises concurrent callers with an advisory lock and moves rows that landed in the
//! DEFAULT partition into the month's new partition.

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use deadpool_postgres::Pool;

/// The first day of the month of `now` and of each of the `ahead` months after it.
pub fn month_starts(now: DateTime<Utc>, ahead: u32) -> Vec<NaiveDate> {
    let first =
        NaiveDate::from_ymd_opt(now.year(), now.month(), 1).expect("day 1 exists in every month");
    (0..=ahead)
        .filter_map(|i| first.checked_add_months(Months::new(i)))
        .collect()
}

fn partition_name(month: NaiveDate) -> String {
    format!("event_audit_log_{}", month.format("%Y_%m"))
}

/// Ensures partitions exist for the month of `now` and `ahead` months after it. Returns
/// the names of the partitions it created (empty when all existed).
pub async fn ensure_partitions(
    pool: &Pool,
    now: DateTime<Utc>,
    ahead: u32,
) -> Result<Vec<String>, super::SchemaError> {
    let conn = pool.get().await?;
    Ok(ensure_partitions_with(&conn, now, ahead).await?)
}

/// [`ensure_partitions`] on a connection the caller holds.
pub async fn ensure_partitions_with(
    client: &tokio_postgres::Client,
    now: DateTime<Utc>,
    ahead: u32,
) -> Result<Vec<String>, tokio_postgres::Error> {
    let mut created = Vec::new();
    for month in month_starts(now, ahead) {
        let row = client
            .query_one("SELECT mutt_ensure_audit_partition($1)", &[&month])
            .await?;
        if row.get::<_, bool>(0) {
            created.push(partition_name(month));
        }
    }
    if !created.is_empty() {
        tracing::info!(partitions = ?created, "created audit partitions");
    }
    Ok(created)
}

/// The partitions [`ensure_partitions`] would create now (for dry runs).
pub async fn missing_partitions(
    client: &tokio_postgres::Client,
    now: DateTime<Utc>,
    ahead: u32,
) -> Result<Vec<String>, tokio_postgres::Error> {
    let mut missing = Vec::new();
    for month in month_starts(now, ahead) {
        let name = partition_name(month);
        let row = client
            .query_one("SELECT to_regclass($1) IS NULL", &[&name])
            .await?;
        if row.get::<_, bool>(0) {
            missing.push(name);
        }
    }
    Ok(missing)
}

/// One row of `partition_health_summary`: a partition of `event_audit_log`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct PartitionHealth {
    pub name: String,
    pub range: String,
    pub size: String,
    pub row_estimate: i64,
}

/// Every partition of `event_audit_log` with its range, size and row estimate.
pub async fn partition_health(pool: &Pool) -> Result<Vec<PartitionHealth>, super::SchemaError> {
    let conn = pool.get().await?;
    let rows = conn
        .query(
            "SELECT partition_name, partition_range, partition_size, row_count_estimate
             FROM partition_health_summary",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| PartitionHealth {
            name: row.get(0),
            range: row.get(1),
            size: row.get(2),
            row_estimate: row.get(3),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn month_starts_cross_the_year_without_drifting() {
        let now = Utc
            .with_ymd_and_hms(2026, 11, 30, 23, 59, 0)
            .single()
            .expect("valid");
        let months: Vec<String> = month_starts(now, 3).iter().map(|d| d.to_string()).collect();
        assert_eq!(
            months,
            ["2026-11-01", "2026-12-01", "2027-01-01", "2027-02-01"]
        );
    }
}
