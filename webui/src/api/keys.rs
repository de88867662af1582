//! `/keys` (admin scope): list, create, revoke and rotate named API keys, over
//! [`crate::service::keys`]. No answer carries a key's text except the one that made it.

use super::caller;
use crate::error::ApiResult;
use crate::service::AppState;
use crate::service::fields::Fields;
use crate::service::keys;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};
use shared::store::api_keys::Scope;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/keys", web::get().to(list))
        .route("/keys", web::post().to(create))
        .route("/keys/{name}", web::delete().to(revoke))
        .route("/keys/{name}/rotate", web::post().to(rotate));
}

async fn list(req: HttpRequest, state: web::Data<AppState>) -> ApiResult {
    let caller = caller(&req, &state, Scope::Admin).await?;
    let keys = keys::list(&state, &caller).await?;
    Ok(HttpResponse::Ok().json(json!({ "keys": keys })))
}

async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<Map<String, Value>>,
) -> ApiResult {
    let caller = caller(&req, &state, Scope::Admin).await?;
    let fields = Fields::new(body.into_inner(), &["name", "scopes", "reason"])?;
    let (name, scopes) = keys::new_key_of(&fields)?;
    let reason = fields.reason()?;
    let made = keys::create(&state, &caller, &name, &scopes, reason.as_deref()).await?;
    Ok(HttpResponse::Created().json(made))
}

/// The body is optional: `{"reason": "…"}`.
async fn revoke(
    req: HttpRequest,
    state: web::Data<AppState>,
    name: web::Path<String>,
    body: Option<web::Json<Map<String, Value>>>,
) -> ApiResult {
    let caller = caller(&req, &state, Scope::Admin).await?;
    let fields = Fields::new(
        body.map(|b| b.into_inner()).unwrap_or_default(),
        &["reason"],
    )?;
    let reason = fields.reason()?;
    let revoked = keys::revoke(&state, &caller, &name, reason.as_deref()).await?;
    Ok(HttpResponse::Ok().json(json!({ "revoked": revoked })))
}

async fn rotate(
    req: HttpRequest,
    state: web::Data<AppState>,
    name: web::Path<String>,
    body: Option<web::Json<Map<String, Value>>>,
) -> ApiResult {
    let caller = caller(&req, &state, Scope::Admin).await?;
    let fields = Fields::new(
        body.map(|b| b.into_inner()).unwrap_or_default(),
        &["grace_seconds", "reason"],
    )?;
    let grace = keys::grace_of(&fields)?;
    let reason = fields.reason()?;
    let made = keys::rotate(&state, &caller, &name, grace, reason.as_deref()).await?;
    Ok(HttpResponse::Created().json(made))
}
