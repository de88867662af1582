//! `/keys` (admin scope): list, create, revoke and rotate named API keys, over
//! [`crate::service::keys`]. No answer carries a key's text except the one that made it.

use super::{caller, optional_object};
use crate::error::{ApiResult, ErrorBody};
use crate::service::AppState;
use crate::service::fields::{Fields, Reason};
use crate::service::keys::{self, KeyInput, NewKey, RotateInput};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use serde_json::{Map, Value};
use shared::process::admin::resource;
use shared::store::api_keys::{KeyInfo, Scope};
use utoipa::ToSchema;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/keys", "GET, POST").get(list).post(create))
        .service(resource("/keys/{name}", "DELETE").delete(revoke))
        .service(resource("/keys/{name}/rotate", "POST").post(rotate));
}

#[derive(Serialize, ToSchema)]
pub struct KeyList {
    /// Newest first, without key material.
    keys: Vec<KeyInfo>,
}

#[derive(Serialize, ToSchema)]
pub struct KeyRevoked {
    /// Every key of that name that was still working.
    revoked: Vec<KeyInfo>,
}

/// Every named key (admin).
#[utoipa::path(get, operation_id = "list_keys", path = "/keys", tag = "keys",
    responses((status = 200, body = KeyList)),
    security(("api_key" = [])))]
pub(super) async fn list(req: HttpRequest, state: web::Data<AppState>) -> ApiResult {
    let caller = caller(&req, &state, Scope::Admin).await?;
    let keys = keys::list(&state, &caller).await?;
    Ok(HttpResponse::Ok().json(KeyList { keys }))
}

/// Makes a key (admin); its text is in this answer only.
#[utoipa::path(post, operation_id = "create_key", path = "/keys", tag = "keys",
    request_body = KeyInput,
    responses((status = 201, body = NewKey), (status = 409, body = ErrorBody)),
    security(("api_key" = [])))]
pub(super) async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<Map<String, Value>>,
) -> ApiResult {
    let caller = caller(&req, &state, Scope::Admin).await?;
    let fields = Fields::of::<KeyInput>(body.into_inner())?;
    let (name, scopes) = keys::new_key_of(&fields)?;
    let reason = fields.reason()?;
    let made = keys::create(&state, &caller, &name, &scopes, reason.as_deref()).await?;
    Ok(HttpResponse::Created().json(made))
}

/// Revokes a key (admin): it stops working within seconds everywhere. The body is
/// optional.
#[utoipa::path(delete, operation_id = "revoke_key", path = "/keys/{name}", tag = "keys",
    params(("name" = String, Path)),
    request_body(content = Option<Reason>),
    responses((status = 200, body = KeyRevoked), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub(super) async fn revoke(
    req: HttpRequest,
    state: web::Data<AppState>,
    name: web::Path<String>,
    body: web::Bytes,
) -> ApiResult {
    let caller = caller(&req, &state, Scope::Admin).await?;
    let fields = Fields::of::<Reason>(optional_object(&body)?)?;
    let reason = fields.reason()?;
    let revoked = keys::revoke(&state, &caller, &name, reason.as_deref()).await?;
    Ok(HttpResponse::Ok().json(KeyRevoked { revoked }))
}

/// Gives a key a successor (admin), which works at once; the old key keeps working for
/// `grace_seconds`. The body is optional.
#[utoipa::path(post, operation_id = "rotate_key", path = "/keys/{name}/rotate", tag = "keys",
    params(("name" = String, Path)),
    request_body(content = Option<RotateInput>),
    responses((status = 201, body = NewKey), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub(super) async fn rotate(
    req: HttpRequest,
    state: web::Data<AppState>,
    name: web::Path<String>,
    body: web::Bytes,
) -> ApiResult {
    let caller = caller(&req, &state, Scope::Admin).await?;
    let fields = Fields::of::<RotateInput>(optional_object(&body)?)?;
    let grace = keys::grace_of(&fields)?;
    let reason = fields.reason()?;
    let made = keys::rotate(&state, &caller, &name, grace, reason.as_deref()).await?;
    Ok(HttpResponse::Created().json(made))
}
