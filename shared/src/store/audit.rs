//! Writing `event_audit_log`: one statement per batch, idempotent on `event_id`.
//!
//! A batch is a single `INSERT … SELECT FROM UNNEST(arrays) ON CONFLICT DO NOTHING`: one
//! round trip whatever the batch size, and an event processed twice (after a crash, or a
//! janitor returning a live worker's list) is written once.

use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use tokio_postgres::error::SqlState;
use uuid::Uuid;

/// One audit row.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditRow {
    pub event_id: Uuid,
    pub event_timestamp: DateTime<Utc>,
    pub hostname: String,
    /// `None` for an unhandled event audited with `AUDIT_UNHANDLED`.
    pub matched_rule_id: Option<i32>,
    pub handling_decision: String,
    pub forwarded_to_moog: bool,
    pub raw_message: String,
    /// The silence that quieted the event (its decision is then `silenced`).
    pub silence_id: Option<i32>,
}

/// Why a write failed, as the worker must treat it.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// PostgreSQL is unreachable, restarting, out of connections…: retry the same batch.
    #[error("postgresql unavailable: {0}")]
    Transient(String),
    /// PostgreSQL refused the data (a value it cannot store, a rule deleted meanwhile):
    /// retrying the same rows will fail again.
    #[error("postgresql refused the rows: {0}")]
    Refused(String),
}

impl From<deadpool_postgres::PoolError> for AuditError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        AuditError::Transient(e.to_string())
    }
}

impl From<tokio_postgres::Error> for AuditError {
    fn from(e: tokio_postgres::Error) -> Self {
        // SQLSTATE classes 22 (data exception) and 23 (integrity constraint) mean the rows
        // themselves are the problem; everything else (no code: the connection broke; 08,
        // 53, 57: connection, resources, shutdown) is worth retrying.
        let refused = e.code().is_some_and(|c| {
            let code = c.code();
            code.starts_with("22")
                || code.starts_with("23")
                || *c == SqlState::CHARACTER_NOT_IN_REPERTOIRE
        });
        if refused {
            AuditError::Refused(e.to_string())
        } else {
            AuditError::Transient(e.to_string())
        }
    }
}

const INSERT: &str = "INSERT INTO event_audit_log \
    (event_id, event_timestamp, hostname, matched_rule_id, handling_decision, forwarded_to_moog, raw_message, silence_id) \
    SELECT * FROM UNNEST($1::uuid[], $2::timestamptz[], $3::varchar[], $4::int[], $5::varchar[], $6::bool[], $7::text[], $8::int[]) \
    ON CONFLICT (event_id, event_timestamp) DO NOTHING";

/// Writes `rows` in one statement; returns how many were new.
pub async fn insert_batch(pool: &Pool, rows: &[AuditRow]) -> Result<u64, AuditError> {
    if rows.is_empty() {
        return Ok(0);
    }
    let conn = pool.get().await?;
    let statement = conn.prepare_cached(INSERT).await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.event_id).collect();
    let times: Vec<DateTime<Utc>> = rows.iter().map(|r| r.event_timestamp).collect();
    let hosts: Vec<&str> = rows.iter().map(|r| r.hostname.as_str()).collect();
    let rules: Vec<Option<i32>> = rows.iter().map(|r| r.matched_rule_id).collect();
    let decisions: Vec<&str> = rows.iter().map(|r| r.handling_decision.as_str()).collect();
    let forwarded: Vec<bool> = rows.iter().map(|r| r.forwarded_to_moog).collect();
    let raw: Vec<&str> = rows.iter().map(|r| r.raw_message.as_str()).collect();
    let silences: Vec<Option<i32>> = rows.iter().map(|r| r.silence_id).collect();
    Ok(conn
        .execute(
            &statement,
            &[
                &ids, &times, &hosts, &rules, &decisions, &forwarded, &raw, &silences,
            ],
        )
        .await?)
}

/// A row of the event audit, as operators see it.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct EventRecord {
    pub id: i64,
    pub event_timestamp: super::Stamp,
    pub hostname: String,
    pub matched_rule_id: Option<i32>,
    pub handling_decision: String,
    pub forwarded_to_moog: bool,
    pub raw_message: Option<String>,
    pub event_id: Option<Uuid>,
    /// The silence that quieted the event.
    pub silence_id: Option<i32>,
}

/// What an event search matches; every filter optional.
#[derive(Clone, Debug, Default)]
pub struct EventFilter {
    pub hostname: Option<String>,
    pub rule_id: Option<i32>,
    pub silence_id: Option<i32>,
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// A page of the events `filter` matches, newest first, and how many match, counted up
/// to `count_cap` (the table can hold hundreds of millions of rows: it is never counted
/// in full).
pub async fn search(
    client: &impl deadpool_postgres::GenericClient,
    filter: &EventFilter,
    limit: i64,
    offset: i64,
    count_cap: i64,
) -> Result<(Vec<EventRecord>, i64), tokio_postgres::Error> {
    let mut sql = super::search::Filter::default();
    if let Some(host) = filter.hostname.clone() {
        sql.add("hostname = ?", host);
    }
    if let Some(rule) = filter.rule_id {
        sql.add("matched_rule_id = ?", rule);
    }
    if let Some(silence) = filter.silence_id {
        sql.add("silence_id = ?", silence);
    }
    if let Some(from) = filter.from {
        sql.add("event_timestamp >= ?", from);
    }
    if let Some(until) = filter.until {
        sql.add("event_timestamp <= ?", until);
    }
    let rows = client
        .query(
            &format!(
                "SELECT id, event_timestamp, hostname, matched_rule_id, handling_decision, forwarded_to_moog, \
                 raw_message, event_id, silence_id FROM event_audit_log {} ORDER BY event_timestamp DESC, id DESC \
                 LIMIT {} OFFSET {}",
                sql.sql(),
                sql.next(1),
                sql.next(2)
            ),
            &sql.params(&[&limit, &offset]),
        )
        .await?;
    let total: i64 = client
        .query_one(
            &format!(
                "SELECT count(*) FROM (SELECT 1 FROM event_audit_log {} LIMIT {}) capped",
                sql.sql(),
                sql.next(1)
            ),
            &sql.params(&[&count_cap]),
        )
        .await?
        .get(0);
    let records = rows
        .iter()
        .map(|r| EventRecord {
            id: r.get("id"),
            event_timestamp: super::Stamp(r.get("event_timestamp")),
            hostname: r.get("hostname"),
            matched_rule_id: r.get("matched_rule_id"),
            handling_decision: r.get("handling_decision"),
            forwarded_to_moog: r.get("forwarded_to_moog"),
            raw_message: r.get("raw_message"),
            event_id: r.get("event_id"),
            silence_id: r.get("silence_id"),
        })
        .collect();
    Ok((records, total))
}

/// Whether any audit row names rule `id` (such a rule cannot be deleted: the foreign key
/// is `ON DELETE RESTRICT`).
pub async fn refers_to_rule(
    client: &impl deadpool_postgres::GenericClient,
    id: i32,
) -> Result<bool, tokio_postgres::Error> {
    Ok(client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM event_audit_log WHERE matched_rule_id = $1)",
            &[&id],
        )
        .await?
        .get(0))
}
