//! `/silences`: maintenance windows (read scope to list, admin to change), over
//! [`crate::service::silences`].

use super::{caller, optional_object};
use crate::error::{ApiResult, ErrorBody};
use crate::service::AppState;
use crate::service::fields::{Fields, Reason};
use crate::service::paging::Page;
use crate::service::silences::{self, ExtendInput, SilenceInput, SilenceList};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use shared::process::admin::resource;
use shared::store::api_keys::Scope;
use shared::store::silences::{SilenceRecord, SilenceState};
use utoipa::{IntoParams, ToSchema};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/silences", "GET, POST").get(list).post(create))
        .service(
            resource("/silences/{id}", "GET, DELETE")
                .get(get)
                .delete(delete),
        )
        .service(resource("/silences/{id}/extend", "POST").post(extend))
        .service(resource("/silences/{id}/expire", "POST").post(expire));
}

/// Which silences to list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StateQuery {
    /// Only those in this state; all when absent.
    state: Option<SilenceState>,
}

#[derive(Serialize, ToSchema)]
pub struct SilenceDeleted {
    /// The silence as it was.
    deleted: SilenceRecord,
}

/// Silences, active and upcoming first (read).
#[utoipa::path(get, operation_id = "list_silences", path = "/silences", tag = "silences",
    params(Page, StateQuery),
    responses((status = 200, body = SilenceList)),
    security(("api_key" = [])))]
pub(super) async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    page: web::Query<Page>,
    query: web::Query<StateQuery>,
) -> ApiResult {
    let caller = caller(&req, &state, Scope::Read).await?;
    let found = silences::list(&state, &caller, query.state, &page).await?;
    Ok(HttpResponse::Ok().json(found))
}

/// Makes a silence (admin): matching events are audited as `silenced` and not forwarded
/// from its start until its end; within a second of this answer.
#[utoipa::path(post, operation_id = "create_silence", path = "/silences", tag = "silences",
    request_body = SilenceInput,
    responses((status = 201, body = SilenceRecord)),
    security(("api_key" = [])))]
pub(super) async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<Map<String, Value>>,
) -> ApiResult {
    let caller = caller(&req, &state, Scope::Admin).await?;
    let fields = Fields::of::<SilenceInput>(body.into_inner())?;
    let new = silences::new_silence_of(&fields, chrono::Utc::now())?;
    let made = silences::create(&state, &caller, &new).await?;
    Ok(HttpResponse::Created().json(made))
}

/// One silence (read).
#[utoipa::path(get, operation_id = "get_silence", path = "/silences/{id}", tag = "silences",
    params(("id" = i32, Path)),
    responses((status = 200, body = SilenceRecord), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub(super) async fn get(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<i32>,
) -> ApiResult {
    let caller = caller(&req, &state, Scope::Read).await?;
    Ok(HttpResponse::Ok().json(silences::get(&state, &caller, *id).await?))
}

/// Moves the end of a silence that has not ended (admin). An expired one is a 409.
#[utoipa::path(post, operation_id = "extend_silence", path = "/silences/{id}/extend",
    tag = "silences",
    params(("id" = i32, Path)),
    request_body = ExtendInput,
    responses((status = 200, body = SilenceRecord), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)),
    security(("api_key" = [])))]
pub(super) async fn extend(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<i32>,
    body: web::Json<Map<String, Value>>,
) -> ApiResult {
    let caller = caller(&req, &state, Scope::Admin).await?;
    let fields = Fields::of::<ExtendInput>(body.into_inner())?;
    let reason = fields.reason()?;
    let end = |current| silences::new_end_of(&fields, current);
    let done = silences::extend(&state, &caller, *id, end, reason.as_deref()).await?;
    Ok(HttpResponse::Ok().json(done))
}

/// Ends a silence now (admin); an upcoming one never starts. The body is optional.
#[utoipa::path(post, operation_id = "expire_silence", path = "/silences/{id}/expire",
    tag = "silences",
    params(("id" = i32, Path)),
    request_body(content = Option<Reason>),
    responses((status = 200, body = SilenceRecord), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)),
    security(("api_key" = [])))]
pub(super) async fn expire(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<i32>,
    body: web::Bytes,
) -> ApiResult {
    let caller = caller(&req, &state, Scope::Admin).await?;
    let fields = Fields::of::<Reason>(optional_object(&body)?)?;
    let reason = fields.reason()?;
    let done = silences::expire(&state, &caller, *id, reason.as_deref()).await?;
    Ok(HttpResponse::Ok().json(done))
}

/// Deletes a silence (admin). Audit rows of the events it quieted keep its id. The body
/// is optional.
#[utoipa::path(delete, operation_id = "delete_silence", path = "/silences/{id}",
    tag = "silences",
    params(("id" = i32, Path)),
    request_body(content = Option<Reason>),
    responses((status = 200, body = SilenceDeleted), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub(super) async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<i32>,
    body: web::Bytes,
) -> ApiResult {
    let caller = caller(&req, &state, Scope::Admin).await?;
    let fields = Fields::of::<Reason>(optional_object(&body)?)?;
    let reason = fields.reason()?;
    let deleted = silences::delete(&state, &caller, *id, reason.as_deref()).await?;
    Ok(HttpResponse::Ok().json(SilenceDeleted { deleted }))
}
