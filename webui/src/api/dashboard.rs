//! `GET /metrics` (under `/api/…`): the dashboard's figures
//! ([`crate::service::dashboard`]).

use super::reader;
use crate::error::ApiResult;
use crate::service::AppState;
use crate::service::dashboard;
use actix_web::{HttpRequest, HttpResponse, web};
use shared::process::admin::resource;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/metrics", "GET").get(metrics));
}

/// The dashboard's figures: event rates, the last 24 hours, queue depths and the
/// forwarders' circuit breaker.
#[utoipa::path(get, operation_id = "get_dashboard", path = "/metrics", tag = "dashboard",
    responses((status = 200, body = dashboard::Dashboard)),
    security(("api_key" = [])))]
pub(super) async fn metrics(req: HttpRequest, state: web::Data<AppState>) -> ApiResult {
    reader(&req, &state).await?;
    let (figures, cached) = dashboard::figures(&state).await?;
    let mut response = HttpResponse::Ok().json(figures);
    if cached {
        response
            .extensions_mut()
            .insert(crate::error::Marked::Cached);
    }
    Ok(response)
}
