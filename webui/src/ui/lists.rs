//! The two searchable trails: `/audit-logs` (events, over `GET /api/v2/audit-logs`) and
//! `/audit` (configuration changes, over `GET /api/v2/config-audit`; v2.5's config-audit
//! viewer had this path), one template, newest first, paged.

use super::session::Viewer;
use super::{Chrome, Notice, UiError, UiResult, cells, outcome, page};
use crate::api;
use crate::error::ApiError;
use crate::state::AppState;
use actix_web::{HttpRequest, web};
use askama::Template;
use serde::de::DeserializeOwned;
use serde_json::Value;
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

fn parse<T: DeserializeOwned>(q: &BTreeMap<String, String>) -> Result<web::Query<T>, String> {
    let text = serde_urlencoded::to_string(q).unwrap_or_default();
    web::Query::<T>::from_query(&text).map_err(|e| format!("invalid search: {e}"))
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
    rows_key: &'static str,
}

const EVENTS: Search = Search {
    title: "Event audit",
    action: "/audit-logs",
    filters: &[
        ("hostname", "Hostname (exact)"),
        ("rule_id", "Rule id"),
        ("start_date", "From (2026-11-22 or RFC 3339)"),
        ("end_date", "Until"),
    ],
    columns: &[
        "event_timestamp",
        "hostname",
        "matched_rule_id",
        "handling_decision",
        "forwarded_to_moog",
        "raw_message",
    ],
    rows_key: "logs",
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
    rows_key: "changes",
};

async fn render(
    search: &Search,
    chrome: Chrome,
    q: &BTreeMap<String, String>,
    answer: Result<Result<Value, String>, UiError>,
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
    let (body, error) = match answer? {
        Ok(body) => (body, None),
        Err(message) => (Value::Null, Some(message)),
    };
    let p = &body["pagination"];
    let (number, pages, total) = (
        p["page"].as_i64().unwrap_or(1),
        p["pages"].as_i64().unwrap_or(0),
        p["total"].as_i64().unwrap_or(0),
    );
    let capped = p["total_capped"].as_bool().unwrap_or_default();
    let summary = if error.is_some() {
        String::new()
    } else {
        format!(
            "{}{total} found; page {number} of {}",
            if capped { "at least " } else { "" },
            pages.max(1)
        )
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
            rows: body[search.rows_key]
                .as_array()
                .into_iter()
                .flatten()
                .map(|row| cells(row, search.columns))
                .collect(),
            summary,
            previous: (number > 1).then(|| page_link(search.action, q, number - 1)),
            next: (number < pages).then(|| page_link(search.action, q, number + 1)),
            error,
        },
    ))
}

/// Runs an API search, turning a query the API would refuse into a message.
async fn search<T: DeserializeOwned, F, Fut>(
    q: &BTreeMap<String, String>,
    call: F,
) -> Result<Result<Value, String>, UiError>
where
    F: FnOnce(web::Query<api::pagination::Page>, web::Query<T>) -> Fut,
    Fut: std::future::Future<Output = Result<actix_web::HttpResponse, ApiError>>,
{
    let (page, filters) = match (parse(q), parse(q)) {
        (Ok(page), Ok(filters)) => (page, filters),
        (Err(e), _) | (_, Err(e)) => return Ok(Err(e)),
    };
    outcome(call(page, filters).await).await
}

async fn events(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    raw: web::Query<BTreeMap<String, String>>,
) -> UiResult {
    viewer.reading(&req);
    let q = query(&raw);
    let answer = search(&q, |page, filters| {
        api::audit::event_audit(req.clone(), state.clone(), page, filters)
    })
    .await;
    render(
        &EVENTS,
        Chrome::new(&viewer, "events", &Notice::default()),
        &q,
        answer,
    )
    .await
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
    viewer.reading(&req);
    let mut q = query(&raw);
    q.remove("api_key");
    let answer = search(&q, |page, filters| {
        api::audit::config_audit(req.clone(), state.clone(), page, filters, "changes")
    })
    .await;
    render(
        &CHANGES,
        Chrome::new(&viewer, "audit", &Notice::default()),
        &q,
        answer,
    )
    .await
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
