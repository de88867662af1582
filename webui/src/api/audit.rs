//! The audit trails: `/audit-logs` (events, `event_audit_log`) and `/audit` and
//! `/config-audit` (configuration changes; the same filters, rows under `logs` and
//! `changes` respectively, as v2.5 and its documentation had them).
//!
//! The event audit can hold hundreds of millions of rows: it is never counted in full.
//! `total` counts at most [`COUNT_CAP`] matching rows, and `total_capped` says when it
//! stopped there.

use super::pagination::{Page, Pagination};
use crate::auth::authorize;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use shared::store::api_keys::Scope;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

pub const COUNT_CAP: i64 = 10_000;
pub const CONFIG_AUDIT_COLUMNS: &str = "id, changed_at, changed_by, operation, table_name, record_id, \
     old_values, new_values, reason, correlation_id";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/audit-logs", web::get().to(event_audit))
        .route(
            "/audit",
            web::get().to(|r, s, p, f| config_audit(r, s, p, f, "logs")),
        )
        .route(
            "/config-audit",
            web::get().to(|r, s, p, f| config_audit(r, s, p, f, "changes")),
        );
}

fn time(row: &Row, column: &str) -> String {
    row.get::<_, DateTime<Utc>>(column)
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// `2026-11-22` (midnight UTC) or an RFC 3339 time.
fn date(name: &str, text: &Option<String>) -> Result<Option<DateTime<Utc>>, ApiError> {
    let Some(text) = text.as_deref().filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(Some(t.with_timezone(&Utc)));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(|d| Some(d.and_hms_opt(0, 0, 0).expect("midnight").and_utc()))
        .map_err(|_| {
            ApiError::bad(format!(
                "{name} must be a date (2026-11-22) or an RFC 3339 time"
            ))
        })
}

/// A `WHERE` clause built from optional filters, with its parameters.
#[derive(Default)]
struct Filter {
    clauses: Vec<String>,
    params: Vec<Box<dyn ToSql + Sync + Send>>,
}

impl Filter {
    fn add(&mut self, clause: &str, param: impl ToSql + Sync + Send + 'static) {
        self.params.push(Box::new(param));
        self.clauses
            .push(clause.replace('?', &format!("${}", self.params.len())));
    }

    fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.clauses.join(" AND "))
        }
    }

    /// The filter's parameters followed by `extra`.
    fn params<'a>(&'a self, extra: &[&'a (dyn ToSql + Sync)]) -> Vec<&'a (dyn ToSql + Sync)> {
        self.params
            .iter()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .chain(extra.iter().copied())
            .collect()
    }

    fn next(&self, n: usize) -> String {
        format!("${}", self.params.len() + n)
    }
}

#[derive(Deserialize)]
pub(crate) struct EventFilters {
    hostname: Option<String>,
    rule_id: Option<i32>,
    start_date: Option<String>,
    end_date: Option<String>,
}

pub(crate) async fn event_audit(
    req: HttpRequest,
    state: web::Data<AppState>,
    page: web::Query<Page>,
    filters: web::Query<EventFilters>,
) -> ApiResult {
    authorize(&req, &state, Scope::Read).await?;
    let (limit, offset) = page.bounds(state.page_size)?;
    let mut filter = Filter::default();
    if let Some(host) = filters.hostname.clone().filter(|h| !h.is_empty()) {
        filter.add("hostname = ?", host);
    }
    if let Some(rule) = filters.rule_id {
        filter.add("matched_rule_id = ?", rule);
    }
    if let Some(start) = date("start_date", &filters.start_date)? {
        filter.add("event_timestamp >= ?", start);
    }
    if let Some(end) = date("end_date", &filters.end_date)? {
        filter.add("event_timestamp <= ?", end);
    }
    let conn = state.pool.get().await?;
    let rows = conn
        .query(
            &format!(
                "SELECT id, event_timestamp, hostname, matched_rule_id, handling_decision, forwarded_to_moog, \
                 raw_message, event_id FROM event_audit_log {} ORDER BY event_timestamp DESC, id DESC \
                 LIMIT {} OFFSET {}",
                filter.sql(),
                filter.next(1),
                filter.next(2)
            ),
            &filter.params(&[&limit, &offset]),
        )
        .await?;
    let total: i64 = conn
        .query_one(
            &format!(
                "SELECT count(*) FROM (SELECT 1 FROM event_audit_log {} LIMIT {}) capped",
                filter.sql(),
                filter.next(1)
            ),
            &filter.params(&[&COUNT_CAP]),
        )
        .await?
        .get(0);
    let logs: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "id": r.get::<_, i64>("id"),
                "event_timestamp": time(r, "event_timestamp"),
                "hostname": r.get::<_, String>("hostname"),
                "matched_rule_id": r.get::<_, Option<i32>>("matched_rule_id"),
                "handling_decision": r.get::<_, String>("handling_decision"),
                "forwarded_to_moog": r.get::<_, bool>("forwarded_to_moog"),
                "raw_message": r.get::<_, Option<String>>("raw_message"),
                "event_id": r.get::<_, Option<uuid::Uuid>>("event_id").map(|u| u.to_string()),
            })
        })
        .collect();
    let mut pagination =
        serde_json::to_value(Pagination::new(&page, limit, total)).expect("serialises");
    pagination["total_capped"] = (total >= COUNT_CAP).into();
    Ok(HttpResponse::Ok().json(json!({"logs": logs, "pagination": pagination})))
}

#[derive(Deserialize)]
pub struct ConfigFilters {
    changed_by: Option<String>,
    operation: Option<String>,
    table_name: Option<String>,
    record_id: Option<i32>,
    start_date: Option<String>,
    end_date: Option<String>,
}

pub fn config_audit_json(r: &Row) -> Value {
    json!({
        "id": r.get::<_, i64>("id"),
        "changed_at": time(r, "changed_at"),
        "changed_by": r.get::<_, String>("changed_by"),
        "operation": r.get::<_, String>("operation"),
        "table_name": r.get::<_, String>("table_name"),
        "record_id": r.get::<_, i32>("record_id"),
        "old_values": r.get::<_, Option<Value>>("old_values"),
        "new_values": r.get::<_, Option<Value>>("new_values"),
        "reason": r.get::<_, Option<String>>("reason"),
        "correlation_id": r.get::<_, Option<String>>("correlation_id"),
    })
}

pub(crate) async fn config_audit(
    req: HttpRequest,
    state: web::Data<AppState>,
    page: web::Query<Page>,
    filters: web::Query<ConfigFilters>,
    rows_key: &'static str,
) -> ApiResult {
    authorize(&req, &state, Scope::Read).await?;
    let (limit, offset) = page.bounds(state.page_size)?;
    let mut filter = Filter::default();
    if let Some(who) = filters.changed_by.clone().filter(|w| !w.is_empty()) {
        filter.add(
            "changed_by ILIKE ?",
            format!("%{}%", who.replace('%', "\\%").replace('_', "\\_")),
        );
    }
    if let Some(op) = filters.operation.as_deref().filter(|o| !o.is_empty()) {
        let op = op.to_ascii_uppercase();
        if !["CREATE", "UPDATE", "DELETE"].contains(&op.as_str()) {
            return Err(ApiError::bad("operation must be CREATE, UPDATE or DELETE"));
        }
        filter.add("operation = ?", op);
    }
    if let Some(table) = filters.table_name.clone().filter(|t| !t.is_empty()) {
        filter.add("table_name = ?", table);
    }
    if let Some(id) = filters.record_id {
        filter.add("record_id = ?", id);
    }
    if let Some(start) = date("start_date", &filters.start_date)? {
        filter.add("changed_at >= ?", start);
    }
    if let Some(end) = date("end_date", &filters.end_date)? {
        filter.add("changed_at <= ?", end);
    }
    let conn = state.pool.get().await?;
    let total: i64 = conn
        .query_one(
            &format!("SELECT count(*) FROM config_audit_log {}", filter.sql()),
            &filter.params(&[]),
        )
        .await?
        .get(0);
    let rows = conn
        .query(
            &format!(
                "SELECT {CONFIG_AUDIT_COLUMNS} FROM config_audit_log {} ORDER BY changed_at DESC, id DESC LIMIT {} OFFSET {}",
                filter.sql(),
                filter.next(1),
                filter.next(2)
            ),
            &filter.params(&[&limit, &offset]),
        )
        .await?;
    let changes: Vec<Value> = rows.iter().map(config_audit_json).collect();
    Ok(HttpResponse::Ok()
        .json(json!({rows_key: changes, "pagination": Pagination::new(&page, limit, total)})))
}
