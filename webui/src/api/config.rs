//! `/config`: the dynamic settings, over [`crate::service::config`].

use super::{caller, reader};
use crate::error::{ApiError, ApiResult};
use crate::service::AppState;
use crate::service::audit::ConfigRecord;
use crate::service::config::{self, SettingChange, SettingInput, SettingKey, SettingValue};
use crate::service::fields::Fields;
use crate::service::paging::{Page, Pagination};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use serde_json::{Map, Value};
use shared::process::admin::resource;
use shared::store::api_keys::Scope;
use std::collections::BTreeMap;
use utoipa::ToSchema;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/config", "GET").get(list))
        .service(resource("/config/history", "GET").get(history))
        .service(resource("/config/{key}", "PUT").put(set));
}

#[derive(Serialize, ToSchema)]
pub struct Settings {
    /// The settings that have a value (v2.5's map).
    config: BTreeMap<&'static str, String>,
    /// Every setting, with what reads it.
    settings: Vec<SettingValue>,
}

#[derive(Serialize, ToSchema)]
pub struct SettingHistory {
    /// Newest first.
    history: Vec<ConfigRecord>,
    pagination: Pagination,
}

/// The dynamic settings.
#[utoipa::path(get, operation_id = "get_config", path = "/config", tag = "config",
    responses((status = 200, body = Settings)),
    security(("api_key" = [])))]
pub(super) async fn list(req: HttpRequest, state: web::Data<AppState>) -> ApiResult {
    reader(&req, &state).await?;
    let settings = config::settings(&state).await?;
    let config = settings
        .iter()
        .filter_map(|s| Some((s.key, s.value.clone()?)))
        .collect();
    Ok(HttpResponse::Ok().json(Settings { config, settings }))
}

/// Sets a setting (admin), checked as its readers parse it; services see it within a
/// second.
#[utoipa::path(put, operation_id = "set_config", path = "/config/{key}", tag = "config",
    params(("key" = inline(SettingKey), Path, description = "A setting's name, as `GET /config` lists them")),
    request_body = SettingInput,
    responses((status = 200, body = SettingChange)),
    security(("api_key" = [])))]
pub(super) async fn set(
    req: HttpRequest,
    state: web::Data<AppState>,
    key: web::Path<String>,
    body: web::Json<Map<String, Value>>,
) -> ApiResult {
    let caller = caller(&req, &state, Scope::Admin).await?;
    let fields = Fields::of::<SettingInput>(body.into_inner())?;
    let value = fields
        .raw("value")
        .ok_or_else(|| ApiError::bad("Missing 'value' in request body"))?;
    let reason = fields.reason()?;
    let change = config::set(&state, &caller, &key, value, reason.as_deref()).await?;
    Ok(HttpResponse::Ok().json(change))
}

/// Every change of a setting.
#[utoipa::path(get, operation_id = "get_config_history", path = "/config/history", tag = "config",
    params(Page),
    responses((status = 200, body = SettingHistory)),
    security(("api_key" = [])))]
pub(super) async fn history(
    req: HttpRequest,
    state: web::Data<AppState>,
    page: web::Query<Page>,
) -> ApiResult {
    reader(&req, &state).await?;
    let found = config::history(&state, &page).await?;
    Ok(HttpResponse::Ok().json(SettingHistory {
        history: found.rows,
        pagination: found.pagination,
    }))
}
