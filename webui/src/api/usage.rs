//! v2.5's web UI metrics, so that a dashboard built on them keeps working:
//! `mutt_webui_api_requests_total{endpoint,status}` and
//! `mutt_webui_api_latency_seconds{endpoint}`, for v2.5's endpoints (`metrics`, `rules`,
//! `audit`; `slo` once it is served), counted by one middleware around the API.
//!
//! `status`, as v2.5 named its outcomes: `success`; `success_cached` (dashboard figures
//! served from the cache); `fail_redis` (Redis did not answer); `fail_unknown` (any other
//! server-side failure); `error_invalid` (the request was refused: 400, 404, 409, 413,
//! 422); `error` (not allowed: 401, 403).

use crate::error::Marked;
use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};
use shared::process::metrics::register;
use std::time::Instant;

#[derive(Clone)]
pub struct ApiUsage {
    requests: IntCounterVec,
    latency: HistogramVec,
}

impl ApiUsage {
    pub fn new(registry: &Registry) -> Self {
        Self {
            requests: register(
                registry,
                &IntCounterVec::new(
                    Opts::new(
                        "mutt_webui_api_requests_total",
                        "Management API requests by v2.5 endpoint and outcome",
                    ),
                    &["endpoint", "status"],
                )
                .expect("valid metric"),
            ),
            latency: register(
                registry,
                &HistogramVec::new(
                    HistogramOpts::new(
                        "mutt_webui_api_latency_seconds",
                        "Management API request time by v2.5 endpoint",
                    )
                    .buckets(vec![0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5]),
                    &["endpoint"],
                )
                .expect("valid metric"),
            ),
        }
    }
}

/// v2.5's endpoint label for an API path (`/api/v1/…` or `/api/v2/…`), if it had one.
pub fn endpoint(path: &str) -> Option<&'static str> {
    let rest = path
        .strip_prefix("/api/v1/")
        .or_else(|| path.strip_prefix("/api/v2/"))?;
    let first = rest.split('/').next().unwrap_or_default();
    match first {
        "metrics" => Some("metrics"),
        "slo" => Some("slo"),
        "rules" => Some("rules"),
        "audit" | "audit-logs" | "config-audit" => Some("audit"),
        _ => None,
    }
}

/// The `status` label of an answer.
pub fn outcome(status: u16, marked: Option<Marked>) -> &'static str {
    match (status, marked) {
        (200..=299, Some(Marked::Cached)) => "success_cached",
        (200..=299, _) => "success",
        (500..=599, Some(Marked::RedisDown)) => "fail_redis",
        (500..=599, _) => "fail_unknown",
        (401 | 403, _) => "error",
        _ => "error_invalid",
    }
}

/// The middleware: counts and times every request to one of v2.5's endpoints.
pub async fn count(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let usage = req
        .app_data::<actix_web::web::Data<ApiUsage>>()
        .map(|u| u.get_ref().clone());
    let endpoint = endpoint(req.path());
    let started = Instant::now();
    let res = next.call(req).await?;
    if let (Some(usage), Some(endpoint)) = (usage, endpoint) {
        let marked = res.response().extensions().get::<Marked>().copied();
        let status = outcome(res.status().as_u16(), marked);
        usage.requests.with_label_values(&[endpoint, status]).inc();
        usage
            .latency
            .with_label_values(&[endpoint])
            .observe(started.elapsed().as_secs_f64());
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_get_v25s_endpoint_labels() {
        assert_eq!(endpoint("/api/v1/metrics"), Some("metrics"));
        assert_eq!(endpoint("/api/v2/rules/12"), Some("rules"));
        assert_eq!(endpoint("/api/v2/config-audit"), Some("audit"));
        assert_eq!(endpoint("/api/v1/audit-logs"), Some("audit"));
        assert_eq!(endpoint("/api/v2/dev-hosts"), None);
        assert_eq!(endpoint("/metrics"), None);
    }

    #[test]
    fn answers_get_v25s_status_labels() {
        assert_eq!(outcome(200, None), "success");
        assert_eq!(outcome(200, Some(Marked::Cached)), "success_cached");
        assert_eq!(outcome(503, Some(Marked::RedisDown)), "fail_redis");
        assert_eq!(outcome(503, None), "fail_unknown");
        assert_eq!(outcome(500, None), "fail_unknown");
        assert_eq!(outcome(400, None), "error_invalid");
        assert_eq!(outcome(404, None), "error_invalid");
        assert_eq!(outcome(401, None), "error");
        assert_eq!(outcome(403, None), "error");
    }
}
