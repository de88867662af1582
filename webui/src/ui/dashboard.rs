//! `/`: the dashboard (v2.5's `/?api_key=…` bookmarks still sign in: `signin::key_in_query`) — ingest rates, queue depths, DLQ sizes, the Moog circuit breaker,
//! the active and upcoming silences, storm control, and the audit partitions, with SVG
//! charts drawn on the server (`super::chart`): events per minute over 24 hours, queue
//! depths and DLQ sizes over the last hour, and events accepted, audited, delivered,
//! coalesced and refused per minute over the last hour. It reloads itself every
//! [`REFRESH_SECONDS`] (a `<meta http-equiv="refresh">`, no script).

use super::chart::{BarChart, LineChart};
use super::session::Viewer;
use super::{Chrome, Notice, UiError, UiResult, ok};
use crate::error::ApiError;
use crate::service::AppState;
use crate::service::dashboard::{self, History};
use crate::service::paging::Page;
use crate::service::silences;
use actix_web::{HttpRequest, web};
use askama::Template;
use shared::redis::activity::Activity;
use shared::store::silences::{SilenceRecord, SilenceState};

pub const REFRESH_SECONDS: u32 = 15;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(show));
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
    day: BarChart,
    depths: LineChart,
    activity: LineChart,
    silences_active: Vec<SilenceRecord>,
    silences_upcoming: i64,
    /// Alerts folded by storm control in the last 15 and 60 minutes.
    coalesced: (u64, u64),
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
    let day: Vec<(String, f64)> = figures
        .chart_24h
        .labels
        .iter()
        .cloned()
        .zip(figures.chart_24h.data.iter().copied())
        .collect();
    let history = dashboard::history(&state).await?;
    let caller = viewer.reading(&req);
    let page = Page {
        page: 1,
        limit: Some(crate::service::paging::MAX_LIMIT),
    };
    let active = silences::list(&state, &caller, Some(SilenceState::Active), &page).await?;
    let upcoming = silences::list(&state, &caller, Some(SilenceState::Upcoming), &page).await?;
    let coalesced = &history.activity[&Activity::Coalesced];
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
        day: BarChart::new(
            "Events ingested per minute, last 24 hours (hourly average, UTC)",
            &day,
            3,
        ),
        depths: depths_chart(&history),
        activity: activity_chart(&history),
        silences_active: active.silences,
        silences_upcoming: upcoming.pagination.total,
        coalesced: (
            coalesced.iter().rev().take(15).sum(),
            coalesced.iter().sum(),
        ),
        partitions: partitions
            .into_iter()
            .map(|p| vec![p.name, p.range, p.size, p.row_estimate.to_string()])
            .collect(),
        generated_at: figures.generated_at,
    })
}

fn depths_chart(history: &History) -> LineChart {
    let series = |pick: fn(&dashboard::Queues) -> u64| -> Vec<Option<f64>> {
        history
            .depths
            .iter()
            .map(|d| d.as_ref().map(|q| pick(q) as f64))
            .collect()
    };
    LineChart::new(
        "Queue depths and DLQ sizes, last hour (sampled each minute)",
        &history.minutes,
        10,
        vec![
            ("ingest queue", "s0", series(|q| q.ingest_queue)),
            ("alert queue", "s1", series(|q| q.alert_queue)),
            ("Moog retries", "s2", series(|q| q.moog_retry)),
            ("DLQ alerter", "s3", series(|q| q.dlq_alerter)),
            ("DLQ moog", "s4", series(|q| q.dlq_moog)),
            ("DLQ dead", "s5", series(|q| q.dlq_dead)),
        ],
    )
}

fn activity_chart(history: &History) -> LineChart {
    let counts =
        |values: &[u64]| -> Vec<Option<f64>> { values.iter().map(|v| Some(*v as f64)).collect() };
    let of = |kind| counts(&history.activity[&kind]);
    LineChart::new(
        "Per minute, last hour: accepted, audited, delivered to Moog, coalesced, refused",
        &history.minutes,
        10,
        vec![
            ("accepted", "s0", counts(&history.accepted)),
            ("audited", "s1", of(Activity::Audited)),
            ("delivered", "s2", of(Activity::Delivered)),
            ("coalesced", "s4", of(Activity::Coalesced)),
            ("refused", "s3", of(Activity::Rejected)),
        ],
    )
}
