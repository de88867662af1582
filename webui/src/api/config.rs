//! `/config`: the dynamic settings, over [`crate::service::config`].

use super::{caller, reader};
use crate::error::{ApiError, ApiResult};
use crate::service::AppState;
use crate::service::config;
use crate::service::fields::Fields;
use crate::service::paging::Page;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};
use shared::store::api_keys::Scope;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/config", web::get().to(list))
        .route("/config/history", web::get().to(history))
        .route("/config/{key}", web::put().to(set));
}

/// `config`: the settings that have a value (v2.5's map); `settings`: every setting.
async fn list(req: HttpRequest, state: web::Data<AppState>) -> ApiResult {
    reader(&req, &state).await?;
    let settings = config::settings(&state).await?;
    let values: Map<String, Value> = settings
        .iter()
        .filter_map(|s| Some((s.key.to_owned(), s.value.clone()?.into())))
        .collect();
    Ok(HttpResponse::Ok().json(json!({"config": values, "settings": settings})))
}

async fn set(
    req: HttpRequest,
    state: web::Data<AppState>,
    key: web::Path<String>,
    body: web::Json<Map<String, Value>>,
) -> ApiResult {
    let caller = caller(&req, &state, Scope::Admin).await?;
    let fields = Fields::new(body.into_inner(), &["value", "reason"])?;
    let value = fields
        .raw("value")
        .ok_or_else(|| ApiError::bad("Missing 'value' in request body"))?;
    let reason = fields.reason()?;
    let change = config::set(&state, &caller, &key, value, reason.as_deref()).await?;
    Ok(HttpResponse::Ok().json(change))
}

async fn history(
    req: HttpRequest,
    state: web::Data<AppState>,
    page: web::Query<Page>,
) -> ApiResult {
    reader(&req, &state).await?;
    let found = config::history(&state, &page).await?;
    Ok(HttpResponse::Ok().json(json!({"history": found.rows, "pagination": found.pagination})))
}
