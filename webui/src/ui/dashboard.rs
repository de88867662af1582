//! `/`: the dashboard (v2.5's `/?api_key=…` bookmarks still sign in: `signin::key_in_query`) — ingest rates, queue depths, DLQ sizes, the Moog circuit breaker,
//! the last 24 hours by hour, and the audit partitions. It reloads itself every
//! [`REFRESH_SECONDS`] (a `<meta http-equiv="refresh">`, no script).

use super::session::Viewer;
use super::{Chrome, Notice, UiError, UiResult, cells, json_of, ok, text};
use crate::api;
use crate::state::AppState;
use actix_web::{HttpRequest, web};
use askama::Template;

pub const REFRESH_SECONDS: u32 = 15;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(show));
}

pub struct Hour {
    pub label: String,
    pub per_minute: f64,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct Dashboard {
    chrome: Chrome,
    refresh: u32,
    rates: Vec<(&'static str, String)>,
    queues: Vec<(&'static str, String)>,
    dlqs: Vec<(&'static str, String)>,
    breaker: String,
    hours: Vec<Hour>,
    busiest: f64,
    partitions: Vec<Vec<String>>,
    generated_at: String,
}

async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Result<Viewer, UiError>,
    notice: web::Query<Notice>,
) -> UiResult {
    if let Some(signed_in) = super::signin::key_in_query(&req, &state).await? {
        return Ok(signed_in);
    }
    let viewer = viewer?;
    viewer.reading(&req);
    let metrics = json_of(api::dashboard::metrics(req.clone(), state.clone()).await).await?;
    let partitions = json_of(api::system::partitions(req.clone(), state.clone()).await).await?;
    let q = &metrics["queues"];
    let s = &metrics["summary"];
    let hours: Vec<Hour> = metrics["chart_24h"]["labels"]
        .as_array()
        .into_iter()
        .flatten()
        .zip(
            metrics["chart_24h"]["data"]
                .as_array()
                .into_iter()
                .flatten(),
        )
        .map(|(label, value)| Hour {
            label: text(label),
            per_minute: value.as_f64().unwrap_or_default(),
        })
        .collect();
    let busiest = hours.iter().map(|h| h.per_minute).fold(1.0, f64::max);
    ok(&Dashboard {
        chrome: Chrome::new(&viewer, "dashboard", &notice),
        refresh: REFRESH_SECONDS,
        rates: vec![
            ("last minute", text(&s["current_rate_1m"])),
            ("last 15 minutes", text(&s["avg_rate_15m"])),
            ("last hour", text(&s["avg_rate_1h"])),
        ],
        queues: vec![
            ("ingest queue", text(&q["ingest_queue"])),
            ("alert queue", text(&q["alert_queue"])),
            ("Moog retries waiting", text(&q["moog_retry"])),
        ],
        dlqs: vec![
            ("alerter", text(&q["dlq_alerter"])),
            ("moog", text(&q["dlq_moog"])),
            ("dead", text(&q["dlq_dead"])),
        ],
        breaker: text(&metrics["circuit_breaker"]),
        hours,
        busiest,
        partitions: partitions["partitions"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| cells(p, &["name", "range", "size", "row_estimate"]))
            .collect(),
        generated_at: text(&metrics["generated_at"]),
    })
}
