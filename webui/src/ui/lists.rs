//! The two searchable trails: `/audit-logs` (events, over `GET /api/v2/audit-logs`) and
//! `/audit` (configuration changes, over `GET /api/v2/config-audit`; v2.5's config-audit
//! viewer had this path), one template, newest first, paged.

use super::session::Viewer;
use super::{Chrome, Notice, UiError, UiResult, cell, outcome, page};
use crate::error::ApiError;
use crate::service::AppState;
use crate::service::audit::{self, ConfigQuery, ConfigRecord, EventQuery, EventRecord, Found};
use crate::service::paging::Page;
use actix_web::{HttpRequest, web};
use askama::Template;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/audit-logs", web::get().to(events))
        .route("/audit", web::get().to(changes));
}

pub struct Filter {
    pub name: &'static str,
    pub label: &'static str,
    pub value: String,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    chrome: Chrome,
    title: &'static str,
    action: &'static str,
    filters: Vec<Filter>,
    columns: &'static [&'static str],
    rows: Vec<Vec<String>>,
    summary: String,
    previous: Option<String>,
    next: Option<String>,
    error: Option<String>,
}

/// The query without empty fields (an empty form field means "any").
fn query(raw: &web::Query<BTreeMap<String, String>>) -> BTreeMap<String, String> {
    raw.iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| (k.clone(), v.trim().to_owned()))
        .collect()
}

/// The search's page and filters from the query, or a 400 that says what is wrong.
fn parse<T: DeserializeOwned>(q: &BTreeMap<String, String>) -> Result<T, ApiError> {
    let text = serde_urlencoded::to_string(q).unwrap_or_default();
    web::Query::<T>::from_query(&text)
        .map(web::Query::into_inner)
        .map_err(|e| ApiError::bad(format!("invalid search: {e}")))
}

/// This page's link with `page` replaced.
fn page_link(action: &str, q: &BTreeMap<String, String>, page: i64) -> String {
    let mut q = q.clone();
    q.insert("page".into(), page.to_string());
    format!(
        "{action}?{}",
        serde_urlencoded::to_string(&q).unwrap_or_default()
    )
}

struct Search {
    title: &'static str,
    action: &'static str,
    filters: &'static [(&'static str, &'static str)],
    columns: &'static [&'static str],
}

/// A row as the search page's cells, in its `columns` order.
trait Cells {
    fn cells(&self) -> Vec<String>;
}

impl Cells for EventRecord {
    fn cells(&self) -> Vec<String> {
        vec![
            self.event_timestamp.to_string(),
            self.hostname.clone(),
            cell(&self.matched_rule_id),
            self.handling_decision.clone(),
            self.forwarded_to_moog.to_string(),
            cell(&self.silence_id),
            cell(&self.raw_message),
        ]
    }
}

impl Cells for ConfigRecord {
    fn cells(&self) -> Vec<String> {
        vec![
            self.changed_at.to_string(),
            self.changed_by.clone(),
            self.operation.clone(),
            self.table_name.clone(),
            self.record_id.to_string(),
            cell(&self.old_values),
            cell(&self.new_values),
            cell(&self.reason),
        ]
    }
}

const EVENTS: Search = Search {
    title: "Event audit",
    action: "/audit-logs",
    filters: &[
        ("hostname", "Hostname (exact)"),
        ("rule_id", "Rule id"),
        ("silence_id", "Silence id"),
        ("start_date", "From (2026-11-22 or RFC 3339)"),
        ("end_date", "Until"),
    ],
    columns: &[
        "event_timestamp",
        "hostname",
        "matched_rule_id",
        "handling_decision",
        "forwarded_to_moog",
        "silence_id",
        "raw_message",
    ],
};

const CHANGES: Search = Search {
    title: "Configuration changes",
    action: "/audit",
    filters: &[
        ("changed_by", "Changed by"),
        ("operation", "Operation (CREATE, UPDATE, DELETE)"),
        ("table_name", "Table"),
        ("record_id", "Record id"),
        ("start_date", "From"),
        ("end_date", "Until"),
    ],
    columns: &[
        "changed_at",
        "changed_by",
        "operation",
        "table_name",
        "record_id",
        "old_values",
        "new_values",
        "reason",
    ],
};

fn render<T: Cells>(
    search: &Search,
    chrome: Chrome,
    q: &BTreeMap<String, String>,
    answer: Result<Found<T>, ApiError>,
) -> UiResult {
    let filters = search
        .filters
        .iter()
        .map(|(name, label)| Filter {
            name,
            label,
            value: q.get(*name).cloned().unwrap_or_default(),
        })
        .collect();
    let (found, error) = match outcome(answer)? {
        Ok(found) => (Some(found), None),
        Err(message) => (None, Some(message)),
    };
    let (rows, summary, previous, next) = match &found {
        None => (Vec::new(), String::new(), None, None),
        Some(found) => {
            let p = &found.pagination;
            let summary = format!(
                "{}{} found; page {} of {}",
                if p.total_capped == Some(true) {
                    "at least "
                } else {
                    ""
                },
                p.total,
                p.page,
                p.pages.max(1)
            );
            (
                found.rows.iter().map(Cells::cells).collect(),
                summary,
                (p.page > 1).then(|| page_link(search.action, q, p.page - 1)),
                (p.page < p.pages).then(|| page_link(search.action, q, p.page + 1)),
            )
        }
    };
    let status = super::status_for(&error);
    Ok(page(
        status,
        &SearchPage {
            chrome,
            title: search.title,
            action: search.action,
            filters,
            columns: search.columns,
            rows,
            summary,
            previous,
            next,
            error,
        },
    ))
}

async fn events(
    state: web::Data<AppState>,
    viewer: Viewer,
    raw: web::Query<BTreeMap<String, String>>,
) -> UiResult {
    let q = query(&raw);
    let answer = async {
        let (page, filters): (Page, EventQuery) = (parse(&q)?, parse(&q)?);
        audit::events(&state, &page, &filters).await
    }
    .await;
    render(
        &EVENTS,
        Chrome::new(&viewer, "events", &Notice::default()),
        &q,
        answer,
    )
}

async fn changes(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Result<Viewer, UiError>,
    raw: web::Query<BTreeMap<String, String>>,
) -> UiResult {
    if let Some(signed_in) = super::signin::key_in_query(&req, &state).await? {
        return Ok(signed_in);
    }
    let viewer = viewer?;
    let mut q = query(&raw);
    q.remove("api_key");
    let answer = async {
        let (page, filters): (Page, ConfigQuery) = (parse(&q)?, parse(&q)?);
        audit::changes(&state, &page, &filters).await
    }
    .await;
    render(
        &CHANGES,
        Chrome::new(&viewer, "audit", &Notice::default()),
        &q,
        answer,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_fields_are_left_out_and_page_links_keep_the_filters() {
        let raw = web::Query::<BTreeMap<String, String>>::from_query(
            "hostname=r1&rule_id=&start_date=+&page=2",
        )
        .expect("query");
        let q = query(&raw);
        assert_eq!(q.len(), 2);
        assert_eq!(
            page_link("/audit-logs", &q, 3),
            "/audit-logs?hostname=r1&page=3"
        );
    }
}
