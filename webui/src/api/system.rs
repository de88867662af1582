//! `/version` (no key, as v2.5) and `/partitions` (issue #9: every audit partition with
//! its range, size and row estimate).

use super::reader;
use crate::error::ApiResult;
use crate::service::AppState;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;
use shared::store;

pub const API_VERSION: &str = "2.5";
pub const SUPPORTED_VERSIONS: &str = "2.5, 2.0, 1.0";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/version", web::get().to(version))
        .route("/partitions", web::get().to(partitions))
        .route("/slo", web::get().to(slo));
}

/// The SLO report (`crate::service::slo`): v2.5's `slos` list and its documented
/// `components` together; 503 when Prometheus cannot be asked.
async fn slo(req: HttpRequest, state: web::Data<AppState>) -> ApiResult {
    reader(&req, &state).await?;
    match crate::service::slo::report(&state.http, &state.prometheus).await {
        Ok(report) => Ok(HttpResponse::Ok().json(report)),
        Err(unavailable) => {
            tracing::warn!(error = %unavailable, "SLO report without Prometheus");
            Ok(HttpResponse::ServiceUnavailable().json(json!({"error": unavailable.to_string()})))
        }
    }
}

async fn version() -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "current_version": API_VERSION,
        "default_version": API_VERSION,
        "supported_versions": ["2.5", "2.0", "1.0"],
        "version_history": {
            "2.5": {"released": "2025-11-10", "status": "current", "changes": [
                "X-API-Version and X-API-Supported-Versions on every response",
                "dynamic configuration with its history (/config, /config/history)",
                "mutt-rs: rule test with hit counts, dead-letter queues, audit partitions, named keys with scopes",
            ]},
            "2.0": {"released": "2025-11-10", "status": "supported", "changes": [
                "/api/v2 serves every /api/v1 route with the same bodies",
                "configuration audit at /config-audit, rows under `changes`",
            ]},
            "1.0": {"released": "2024-01-01", "status": "supported", "deprecated_in": "3.0", "removal_date": "2026-01-01", "changes": [
                "rules, dev hosts, teams, event audit, dashboard metrics",
            ]},
        },
        "server_version": shared::process::admin::VERSION,
    }))
}

async fn partitions(req: HttpRequest, state: web::Data<AppState>) -> ApiResult {
    reader(&req, &state).await?;
    let partitions = store::partition_health(&state.pool)
        .await
        .map_err(|e| crate::error::ApiError::Unavailable(e.to_string()))?;
    Ok(HttpResponse::Ok().json(json!({ "partitions": partitions })))
}
