//! The audit trails: `/audit-logs` (events) and `/audit` and `/config-audit`
//! (configuration changes; the same filters, rows under `logs` and `changes`
//! respectively, as v2.5 and its documentation had them), over
//! [`crate::service::audit`].

use super::reader;
use crate::error::ApiResult;
use crate::service::AppState;
use crate::service::audit::{self, ConfigQuery, ConfigRecord, EventQuery, EventRecord, Found};
use crate::service::paging::{Page, Pagination};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use shared::process::admin::resource;
use utoipa::ToSchema;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/audit-logs", "GET").get(events))
        .service(resource("/audit", "GET").get(changes_as_logs))
        .service(resource("/config-audit", "GET").get(changes));
}

#[derive(Serialize, ToSchema)]
pub struct EventPage {
    /// Newest first.
    logs: Vec<EventRecord>,
    pagination: Pagination,
}

/// v2.5's `/audit`: configuration changes under `logs`.
#[derive(Serialize, ToSchema)]
pub struct ChangeLogPage {
    /// Newest first.
    logs: Vec<ConfigRecord>,
    pagination: Pagination,
}

/// v2.5's documented `/config-audit`: configuration changes under `changes`.
#[derive(Serialize, ToSchema)]
pub struct ChangePage {
    /// Newest first.
    changes: Vec<ConfigRecord>,
    pagination: Pagination,
}

/// The event audit: each event an alerter decided on.
#[utoipa::path(get, operation_id = "search_events", path = "/audit-logs", tag = "audit",
    params(Page, EventQuery),
    responses((status = 200, body = EventPage)),
    security(("api_key" = [])))]
pub(super) async fn events(
    req: HttpRequest,
    state: web::Data<AppState>,
    page: web::Query<Page>,
    query: web::Query<EventQuery>,
) -> ApiResult {
    reader(&req, &state).await?;
    let found = audit::events(&state, &page, &query).await?;
    Ok(HttpResponse::Ok().json(EventPage {
        logs: found.rows,
        pagination: found.pagination,
    }))
}

/// The configuration audit, rows under `logs` (v2.5's route).
#[utoipa::path(get, operation_id = "search_changes_as_logs", path = "/audit", tag = "audit",
    params(Page, ConfigQuery),
    responses((status = 200, body = ChangeLogPage)),
    security(("api_key" = [])))]
pub(super) async fn changes_as_logs(
    req: HttpRequest,
    state: web::Data<AppState>,
    page: web::Query<Page>,
    query: web::Query<ConfigQuery>,
) -> ApiResult {
    changes_as::<ChangeLogPage>(&req, &state, &page, &query).await
}

/// The configuration audit, rows under `changes` (v2.5's documented route).
#[utoipa::path(get, operation_id = "search_changes", path = "/config-audit", tag = "audit",
    params(Page, ConfigQuery),
    responses((status = 200, body = ChangePage)),
    security(("api_key" = [])))]
pub(super) async fn changes(
    req: HttpRequest,
    state: web::Data<AppState>,
    page: web::Query<Page>,
    query: web::Query<ConfigQuery>,
) -> ApiResult {
    changes_as::<ChangePage>(&req, &state, &page, &query).await
}

/// A page of the configuration audit, answered in the shape `P` (v2.5 had two).
async fn changes_as<P: From<Found<ConfigRecord>> + Serialize>(
    req: &HttpRequest,
    state: &AppState,
    page: &Page,
    query: &ConfigQuery,
) -> ApiResult {
    reader(req, state).await?;
    let found = audit::changes(state, page, query).await?;
    Ok(HttpResponse::Ok().json(P::from(found)))
}

impl From<Found<ConfigRecord>> for ChangeLogPage {
    fn from(found: Found<ConfigRecord>) -> Self {
        Self {
            logs: found.rows,
            pagination: found.pagination,
        }
    }
}

impl From<Found<ConfigRecord>> for ChangePage {
    fn from(found: Found<ConfigRecord>) -> Self {
        Self {
            changes: found.rows,
            pagination: found.pagination,
        }
    }
}
