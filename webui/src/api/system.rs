//! `/version` (no key, as v2.5) and `/partitions` (issue #9: every audit partition with
//! its range, size and row estimate).

use super::reader;
use crate::error::ApiResult;
use crate::error::ErrorBody;
use crate::service::AppState;
use crate::service::slo::SloReport;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use shared::process::admin::resource;
use shared::store;
use shared::store::PartitionHealth;
use std::collections::BTreeMap;
use utoipa::ToSchema;

pub const API_VERSION: &str = "2.5";
pub const SUPPORTED_VERSIONS: &str = "2.5, 2.0, 1.0";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/version", "GET").get(version))
        .service(resource("/partitions", "GET").get(partitions))
        .service(resource("/slo", "GET").get(slo));
}

/// The SLO report (`crate::service::slo`): v2.5's `slos` list and its documented
/// `components` together; 503 when Prometheus cannot be asked.
#[utoipa::path(get, operation_id = "get_slo", path = "/slo", tag = "system",
    responses((status = 200, body = SloReport),
        (status = 503, description = "Prometheus cannot be asked", body = ErrorBody)),
    security(("api_key" = [])))]
pub(super) async fn slo(req: HttpRequest, state: web::Data<AppState>) -> ApiResult {
    reader(&req, &state).await?;
    match crate::service::slo::report(&state.http, &state.prometheus).await {
        Ok(report) => Ok(HttpResponse::Ok().json(report)),
        Err(unavailable) => {
            tracing::warn!(error = %unavailable, "SLO report without Prometheus");
            Ok(HttpResponse::ServiceUnavailable().json(ErrorBody {
                error: unavailable.to_string(),
                problems: None,
            }))
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Version {
    current_version: &'static str,
    default_version: &'static str,
    supported_versions: Vec<&'static str>,
    version_history: BTreeMap<&'static str, Release>,
    /// This build of mutt-rs.
    server_version: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct Release {
    released: &'static str,
    /// `current` or `supported`.
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    deprecated_in: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    removal_date: Option<&'static str>,
    changes: Vec<&'static str>,
}

#[derive(Serialize, ToSchema)]
pub struct Partitions {
    partitions: Vec<PartitionHealth>,
}

/// The API versions this server speaks (no key needed, as in v2.5).
#[utoipa::path(get, operation_id = "get_version", path = "/version", tag = "system",
    responses((status = 200, body = Version)))]
pub(super) async fn version() -> HttpResponse {
    let release = |released, status, changes: &[&'static str]| Release {
        released,
        status,
        deprecated_in: None,
        removal_date: None,
        changes: changes.to_vec(),
    };
    let history = [
        (
            "2.5",
            release(
                "2025-11-10",
                "current",
                &[
                    "X-API-Version and X-API-Supported-Versions on every response",
                    "dynamic configuration with its history (/config, /config/history)",
                    "mutt-rs: rule test with hit counts, dead-letter queues, audit partitions, named keys with scopes",
                ],
            ),
        ),
        (
            "2.0",
            release(
                "2025-11-10",
                "supported",
                &[
                    "/api/v2 serves every /api/v1 route with the same bodies",
                    "configuration audit at /config-audit, rows under `changes`",
                ],
            ),
        ),
        (
            "1.0",
            Release {
                deprecated_in: Some("3.0"),
                removal_date: Some("2026-01-01"),
                ..release(
                    "2024-01-01",
                    "supported",
                    &["rules, dev hosts, teams, event audit, dashboard metrics"],
                )
            },
        ),
    ];
    HttpResponse::Ok().json(Version {
        current_version: API_VERSION,
        default_version: API_VERSION,
        supported_versions: vec!["2.5", "2.0", "1.0"],
        version_history: history.into_iter().collect(),
        server_version: shared::process::admin::VERSION,
    })
}

/// Every audit partition with its range, size and row estimate.
#[utoipa::path(get, operation_id = "get_partitions", path = "/partitions", tag = "system",
    responses((status = 200, body = Partitions)),
    security(("api_key" = [])))]
pub(super) async fn partitions(req: HttpRequest, state: web::Data<AppState>) -> ApiResult {
    reader(&req, &state).await?;
    let partitions = store::partition_health(&state.pool)
        .await
        .map_err(|e| crate::error::ApiError::Unavailable(e.to_string()))?;
    Ok(HttpResponse::Ok().json(Partitions { partitions }))
}
