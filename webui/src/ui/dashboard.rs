//! `/`: the dashboard (v2.5's `/?api_key=…` bookmarks still sign in: `signin::key_in_query`) — ingest rates, queue depths, DLQ sizes, the Moog circuit breaker,
//! the last 24 hours by hour, and the audit partitions. It reloads itself every
//! [`REFRESH_SECONDS`] (a `<meta http-equiv="refresh">`, no script).

use super::session::Viewer;
use super::{Chrome, Notice, UiError, UiResult, ok};
use crate::error::ApiError;
use crate::service::AppState;
use crate::service::dashboard;
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
    let (figures, _) = dashboard::figures(&state).await?;
    let partitions = shared::store::partition_health(&state.pool)
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    let (q, s) = (&figures.queues, &figures.summary);
    let hours: Vec<Hour> = figures
        .chart_24h
        .labels
        .iter()
        .zip(&figures.chart_24h.data)
        .map(|(label, per_minute)| Hour {
            label: label.clone(),
            per_minute: *per_minute,
        })
        .collect();
    let busiest = hours.iter().map(|h| h.per_minute).fold(1.0, f64::max);
    ok(&Dashboard {
        chrome: Chrome::new(&viewer, "dashboard", &notice),
        refresh: REFRESH_SECONDS,
        rates: vec![
            ("last minute", s.current_rate_1m.to_string()),
            ("last 15 minutes", s.avg_rate_15m.to_string()),
            ("last hour", s.avg_rate_1h.to_string()),
        ],
        queues: vec![
            ("ingest queue", q.ingest_queue.to_string()),
            ("alert queue", q.alert_queue.to_string()),
            ("Moog retries waiting", q.moog_retry.to_string()),
        ],
        dlqs: vec![
            ("alerter", q.dlq_alerter.to_string()),
            ("moog", q.dlq_moog.to_string()),
            ("dead", q.dlq_dead.to_string()),
        ],
        breaker: figures.circuit_breaker,
        hours,
        busiest,
        partitions: partitions
            .into_iter()
            .map(|p| vec![p.name, p.range, p.size, p.row_estimate.to_string()])
            .collect(),
        generated_at: figures.generated_at,
    })
}
