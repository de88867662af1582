//! Retention of the audit tables, by partition rather than by row.
//!
//! v2.5 deleted old audit rows a thousand at a time (slow, bloats the table, and its
//! archive function could not run at all). Here a month whose every row is past
//! `EVENT_RETENTION_DAYS` is detached from `event_audit_log` as a whole, then either
//! dropped, or copied into `event_audit_log_archive` in id order, a bounded batch per
//! statement, and dropped once every row is there. A detached month left behind by a
//! crash is found by name on the next run and finished from the highest id archived, so
//! nothing is lost or copied twice. Rows that sit in the DEFAULT partition with old
//! timestamps are moved (delete and insert in one statement per batch) or deleted.
//!
//! The archive keeps `EVENT_ARCHIVE_RETENTION_YEARS`, `config_audit_log` keeps
//! `CONFIG_AUDIT_RETENTION_DAYS`; both are trimmed in batches (their rows are not
//! partitioned). "Now" is a parameter, so tests move time instead of waiting for it.

use chrono::{DateTime, Months, NaiveDate, TimeZone, Utc};
use serde::Serialize;
use tokio_postgres::GenericClient;

/// What to keep, and how to retire what is older.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRetention {
    pub event_days: u32,
    pub archive_years: u32,
    pub config_audit_days: u32,
    /// Archive retired months (`true`) or drop them.
    pub archive: bool,
    pub batch_size: u32,
    pub dry_run: bool,
}

/// One retired (or, in a dry run, retirable) month.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RetiredPartition {
    pub name: String,
    pub rows: u64,
    /// `archived`, `dropped`, or in a dry run `would archive` / `would drop`.
    pub action: String,
}

/// What a run did (or would do).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AuditRetentionReport {
    pub event_cutoff: Option<DateTime<Utc>>,
    pub partitions: Vec<RetiredPartition>,
    /// Old rows found in the DEFAULT partition (archived or deleted like a month's).
    pub default_rows: u64,
    /// Rows moved into the archive.
    pub archived: u64,
    /// Audit rows removed for good: dropped months and DEFAULT rows when not archiving.
    pub deleted: u64,
    pub archive_rows_deleted: u64,
    pub config_audits_deleted: u64,
}

/// The month partitions (attached or left detached) in the current schema, by name.
async fn month_tables<C: GenericClient>(
    client: &C,
) -> Result<Vec<(String, NaiveDate, bool)>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT c.relname::text,
                    EXISTS (SELECT 1 FROM pg_inherits i
                            WHERE i.inhrelid = c.oid AND i.inhparent = 'event_audit_log'::regclass)
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = current_schema() AND c.relkind = 'r'
               AND c.relname ~ '^event_audit_log_[0-9]{4}_[0-9]{2}$'
             ORDER BY c.relname",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .filter_map(|row| {
            let name: String = row.get(0);
            let month = NaiveDate::parse_from_str(
                &format!("{}_01", name.trim_start_matches("event_audit_log_")),
                "%Y_%m_%d",
            )
            .ok()?;
            Some((name, month, row.get(1)))
        })
        .collect())
}

fn utc(date: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).expect("midnight exists"))
}

/// `INSERT INTO event_audit_log_archive … SELECT …` of audit rows that came from `table`;
/// the caller appends the `FROM`.
fn archive_insert(table: &str) -> String {
    format!(
        "INSERT INTO event_audit_log_archive
             (event_timestamp, hostname, matched_rule_id, handling_decision, forwarded_to_moog,
              raw_message, archived_from_partition, original_id, original_partition_timestamp, event_id,
              silence_id)
         SELECT event_timestamp, hostname, matched_rule_id, handling_decision, forwarded_to_moog,
                raw_message, '{table}', id,
                date_trunc('month', event_timestamp AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', event_id,
                silence_id"
    )
}

/// Moves up to `batch` rows of the live `table` older than `cutoff` into the archive in
/// one statement (delete and insert together, so a crash between batches neither loses
/// nor duplicates); returns how many.
async fn archive_batch<C: GenericClient>(
    client: &C,
    table: &str,
    cutoff: DateTime<Utc>,
    batch: i64,
) -> Result<u64, tokio_postgres::Error> {
    let sql = format!(
        "WITH moved AS (
             DELETE FROM {table}
             WHERE ctid = ANY (ARRAY(SELECT ctid FROM {table} WHERE event_timestamp < $2 LIMIT $1))
             RETURNING *)
         {}
         FROM moved",
        archive_insert(table)
    );
    client.execute(&sql, &[&batch, &cutoff]).await
}

/// Copies a detached month into the archive in id order, `batch` rows per statement,
/// resuming after the highest id a previous (crashed) run archived; returns how many rows
/// it copied. Nothing is deleted: the month is dropped whole once it is all archived.
async fn archive_month<C: GenericClient>(
    client: &C,
    table: &str,
    batch: i64,
) -> Result<u64, tokio_postgres::Error> {
    let mut last: i64 = client
        .query_one(
            "SELECT coalesce(max(original_id), -1) FROM event_audit_log_archive
             WHERE archived_from_partition = $1",
            &[&table],
        )
        .await?
        .get(0);
    let sql = format!(
        "WITH batch AS (SELECT * FROM {table} WHERE id > $1 ORDER BY id LIMIT $2),
              copied AS ({} FROM batch)
         SELECT count(*), coalesce(max(id), $1) FROM batch",
        archive_insert(table)
    );
    let mut total = 0;
    loop {
        let row = client.query_one(&sql, &[&last, &batch]).await?;
        let (copied, max_id): (i64, i64) = (row.get(0), row.get(1));
        total += copied as u64;
        last = max_id;
        if copied < batch {
            return Ok(total);
        }
    }
}

/// Whether every row of a detached month is in the archive (checked before dropping it).
async fn fully_archived<C: GenericClient>(
    client: &C,
    table: &str,
) -> Result<bool, tokio_postgres::Error> {
    let sql = format!(
        "SELECT NOT EXISTS (
             SELECT 1 FROM {table} t
             WHERE NOT EXISTS (SELECT 1 FROM event_audit_log_archive a
                               WHERE a.archived_from_partition = $1 AND a.original_id = t.id))"
    );
    Ok(client.query_one(&sql, &[&table]).await?.get(0))
}

/// Deletes up to `batch` rows of `table` whose `column` is before `cutoff`.
async fn delete_batch<C: GenericClient>(
    client: &C,
    table: &str,
    column: &str,
    cutoff: DateTime<Utc>,
    batch: i64,
) -> Result<u64, tokio_postgres::Error> {
    let sql = format!(
        "DELETE FROM {table}
         WHERE ctid = ANY (ARRAY(SELECT ctid FROM {table} WHERE {column} < $2 LIMIT $1))"
    );
    client.execute(&sql, &[&batch, &cutoff]).await
}

/// Repeats a batch until it comes back short; returns the total.
macro_rules! in_batches {
    ($batch:expr, $step:expr) => {{
        let mut total = 0u64;
        loop {
            let n = $step.await?;
            total += n;
            if n < $batch as u64 {
                break total;
            }
        }
    }};
}

async fn count<C: GenericClient>(
    client: &C,
    table: &str,
    column: &str,
    cutoff: DateTime<Utc>,
) -> Result<u64, tokio_postgres::Error> {
    let sql = format!("SELECT count(*) FROM {table} WHERE {column} < $1");
    let n: i64 = client.query_one(&sql, &[&cutoff]).await?.get(0);
    Ok(n as u64)
}

/// Applies `policy` as of `now`. Callers serialise runs (see `crate::lifecycle`).
pub async fn enforce<C: GenericClient>(
    client: &C,
    policy: &AuditRetention,
    now: DateTime<Utc>,
) -> Result<AuditRetentionReport, tokio_postgres::Error> {
    let batch = i64::from(policy.batch_size.max(1));
    let event_cutoff = now - chrono::Duration::days(i64::from(policy.event_days));
    let archive_cutoff = now
        .checked_sub_months(Months::new(12 * policy.archive_years))
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    let config_cutoff = now - chrono::Duration::days(i64::from(policy.config_audit_days));
    let mut report = AuditRetentionReport {
        event_cutoff: Some(event_cutoff),
        ..Default::default()
    };
    let verb = |archive: bool| match (archive, policy.dry_run) {
        (true, false) => "archived",
        (false, false) => "dropped",
        (true, true) => "would archive",
        (false, true) => "would drop",
    };

    // Whole months past the cut-off: detach, then archive or drop.
    for (name, month, attached) in month_tables(client).await? {
        let month_end = month.checked_add_months(Months::new(1)).map(utc);
        if month_end.is_none_or(|end| end > event_cutoff) {
            continue;
        }
        let rows: i64 = client
            .query_one(&format!("SELECT count(*) FROM {name}"), &[])
            .await?
            .get(0);
        let rows = rows as u64;
        report.partitions.push(RetiredPartition {
            name: name.clone(),
            rows,
            action: verb(policy.archive).into(),
        });
        if policy.dry_run {
            continue;
        }
        if attached {
            client
                .batch_execute(&format!(
                    "ALTER TABLE event_audit_log DETACH PARTITION {name}"
                ))
                .await?;
        }
        if policy.archive {
            report.archived += archive_month(client, &name, batch).await?;
            if !fully_archived(client, &name).await? {
                // Cannot happen unless someone wrote into the detached table; keep it.
                tracing::error!(partition = %name, "not every row reached the archive; the month is kept");
                continue;
            }
        } else {
            report.deleted += rows;
        }
        // Detached, so nothing can insert into it any more: it holds exactly what was
        // counted above, all of it archived when archiving.
        client.batch_execute(&format!("DROP TABLE {name}")).await?;
        tracing::info!(partition = %name, rows, action = verb(policy.archive), "retired audit partition");
    }

    // Old rows that landed in DEFAULT (months that never had a partition of their own).
    const DEFAULT: &str = "event_audit_log_default";
    report.default_rows = count(client, DEFAULT, "event_timestamp", event_cutoff).await?;
    if !policy.dry_run && report.default_rows > 0 {
        if policy.archive {
            report.archived +=
                in_batches!(batch, archive_batch(client, DEFAULT, event_cutoff, batch));
        } else {
            report.deleted += in_batches!(
                batch,
                delete_batch(client, DEFAULT, "event_timestamp", event_cutoff, batch)
            );
        }
    }

    const ARCHIVE: &str = "event_audit_log_archive";
    const CONFIG: &str = "config_audit_log";
    if policy.dry_run {
        report.archive_rows_deleted =
            count(client, ARCHIVE, "event_timestamp", archive_cutoff).await?;
        report.config_audits_deleted = count(client, CONFIG, "changed_at", config_cutoff).await?;
    } else {
        report.archive_rows_deleted = in_batches!(
            batch,
            delete_batch(client, ARCHIVE, "event_timestamp", archive_cutoff, batch)
        );
        report.config_audits_deleted = in_batches!(
            batch,
            delete_batch(client, CONFIG, "changed_at", config_cutoff, batch)
        );
    }
    Ok(report)
}
