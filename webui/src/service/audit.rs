//! The two audit trails, searched (through `shared::store::audit` and
//! `shared::store::config_audit`): events, written by the alerters, and configuration
//! changes, written by every change of this service. Newest first, paged, with v2.5's
//! query parameters checked here.
//!
//! The event audit can hold hundreds of millions of rows: it is never counted in full.
//! Its `total` counts at most [`COUNT_CAP`] matching rows, and `total_capped` says when it
//! stopped there.

use super::AppState;
use super::paging::{Page, Pagination};
use crate::error::ApiError;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
pub use shared::store::audit::EventRecord;
use shared::store::audit::{self, EventFilter};
pub use shared::store::config_audit::ConfigRecord;
use shared::store::config_audit::{self, ChangeFilter};

pub const COUNT_CAP: i64 = 10_000;

/// One page of a search.
#[derive(Clone, Debug, Serialize)]
pub struct Found<T> {
    pub rows: Vec<T>,
    pub pagination: Pagination,
}

/// The event search's query parameters, each optional.
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventQuery {
    /// Events from this host only.
    pub hostname: Option<String>,
    /// Events this rule matched only.
    pub rule_id: Option<i32>,
    /// Events this silence quieted only.
    pub silence_id: Option<i32>,
    /// From this time: a date (`2026-11-22`, midnight UTC) or an RFC 3339 time.
    pub start_date: Option<String>,
    /// Up to this time, in the same forms.
    pub end_date: Option<String>,
}

/// The configuration search's query parameters, each optional.
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConfigQuery {
    /// Changes by this key name only.
    pub changed_by: Option<String>,
    /// `CREATE`, `UPDATE` or `DELETE` (any case).
    pub operation: Option<String>,
    /// Changes to this table only (`alert_rules`, `development_hosts`, …).
    pub table_name: Option<String>,
    /// Changes to this row only.
    pub record_id: Option<i32>,
    /// From this time: a date (`2026-11-22`, midnight UTC) or an RFC 3339 time.
    pub start_date: Option<String>,
    /// Up to this time, in the same forms.
    pub end_date: Option<String>,
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

/// An empty parameter means "any".
fn given(text: &Option<String>) -> Option<String> {
    text.clone().filter(|t| !t.is_empty())
}

/// Audited events matching `query`, newest first.
pub async fn events(
    state: &AppState,
    page: &Page,
    query: &EventQuery,
) -> Result<Found<EventRecord>, ApiError> {
    let (limit, offset) = page.bounds(state.page_size)?;
    let filter = EventFilter {
        hostname: given(&query.hostname),
        rule_id: query.rule_id,
        silence_id: query.silence_id,
        from: date("start_date", &query.start_date)?,
        until: date("end_date", &query.end_date)?,
    };
    let conn = state.pool.get().await?;
    let (rows, total) = audit::search(&conn, &filter, limit, offset, COUNT_CAP).await?;
    let mut pagination = Pagination::new(page, limit, total);
    pagination.total_capped = Some(total >= COUNT_CAP);
    Ok(Found { rows, pagination })
}

/// Configuration changes matching `query`, newest first.
pub async fn changes(
    state: &AppState,
    page: &Page,
    query: &ConfigQuery,
) -> Result<Found<ConfigRecord>, ApiError> {
    let (limit, offset) = page.bounds(state.page_size)?;
    let operation = given(&query.operation).map(|op| op.to_ascii_uppercase());
    if let Some(op) = &operation
        && !["CREATE", "UPDATE", "DELETE"].contains(&op.as_str())
    {
        return Err(ApiError::bad("operation must be CREATE, UPDATE or DELETE"));
    }
    let filter = ChangeFilter {
        changed_by: given(&query.changed_by),
        operation,
        table_name: given(&query.table_name),
        record_id: query.record_id,
        from: date("start_date", &query.start_date)?,
        until: date("end_date", &query.end_date)?,
    };
    let conn = state.pool.get().await?;
    let (rows, total) = config_audit::search(&conn, &filter, limit, offset).await?;
    Ok(Found {
        rows,
        pagination: Pagination::new(page, limit, total),
    })
}
