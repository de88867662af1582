//! The audit trails: `/audit-logs` (events) and `/audit` and `/config-audit`
//! (configuration changes; the same filters, rows under `logs` and `changes`
//! respectively, as v2.5 and its documentation had them), over
//! [`crate::service::audit`].

use super::reader;
use crate::error::ApiResult;
use crate::service::AppState;
use crate::service::audit::{self, ConfigQuery, EventQuery};
use crate::service::paging::Page;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/audit-logs", web::get().to(events))
        .route(
            "/audit",
            web::get().to(|r, s, p, f| changes(r, s, p, f, "logs")),
        )
        .route(
            "/config-audit",
            web::get().to(|r, s, p, f| changes(r, s, p, f, "changes")),
        );
}

async fn events(
    req: HttpRequest,
    state: web::Data<AppState>,
    page: web::Query<Page>,
    query: web::Query<EventQuery>,
) -> ApiResult {
    reader(&req, &state).await?;
    let found = audit::events(&state, &page, &query).await?;
    Ok(HttpResponse::Ok().json(json!({"logs": found.rows, "pagination": found.pagination})))
}

async fn changes(
    req: HttpRequest,
    state: web::Data<AppState>,
    page: web::Query<Page>,
    query: web::Query<ConfigQuery>,
    rows_key: &'static str,
) -> ApiResult {
    reader(&req, &state).await?;
    let found = audit::changes(&state, &page, &query).await?;
    Ok(HttpResponse::Ok().json(json!({rows_key: found.rows, "pagination": found.pagination})))
}
