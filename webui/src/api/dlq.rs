//! `/dlq`: the dead-letter queues, over [`crate::service::dlq`].

use super::{caller, reader};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::service::AppState;
use crate::service::dlq::{self, Listing, QueueDepth, ReplayInput};
use crate::service::fields::Fields;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use shared::process::admin::resource;
use shared::store::api_keys::Scope;
use utoipa::ToSchema;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/dlq", "GET").get(depths))
        .service(
            resource("/dlq/{name}", "GET, DELETE")
                .get(list)
                .delete(purge),
        )
        .service(resource("/dlq/{name}/replay", "POST").post(replay));
}

/// A dead-letter queue's name in a path.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)] // A schema: the path is read by `dlq::queue`.
pub enum QueueName {
    Alerter,
    Moog,
    Dead,
}

#[derive(Serialize, ToSchema)]
pub struct DlqDepths {
    dlqs: Vec<QueueDepth>,
}

#[derive(Serialize, ToSchema)]
pub struct Replayed {
    /// Items put back on their work queue.
    replayed: u64,
    /// Items moved to the `dead` queue (replayed too often).
    dead: u64,
}

#[derive(Serialize, ToSchema)]
pub struct Purged {
    purged: u64,
}

/// The depth of each dead-letter queue.
#[utoipa::path(get, operation_id = "list_dlqs", path = "/dlq", tag = "dlq",
    responses((status = 200, body = DlqDepths)),
    security(("api_key" = [])))]
pub(super) async fn depths(req: HttpRequest, state: web::Data<AppState>) -> ApiResult {
    reader(&req, &state).await?;
    let dlqs = dlq::depths(&state).await?;
    Ok(HttpResponse::Ok().json(DlqDepths { dlqs }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct Page {
    /// Items to skip, oldest first.
    #[serde(default)]
    #[param(minimum = 0)]
    offset: i64,
    /// Items to list, at most 200.
    #[serde(default = "default_limit")]
    #[param(minimum = 1, maximum = 200, default = 50)]
    limit: i64,
}

fn default_limit() -> i64 {
    50
}

/// A page of one queue's items, oldest first.
#[utoipa::path(get, operation_id = "list_dlq_items", path = "/dlq/{name}", tag = "dlq",
    params(("name" = inline(QueueName), Path), Page),
    responses((status = 200, body = Listing), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub(super) async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    page: web::Query<Page>,
) -> ApiResult {
    reader(&req, &state).await?;
    let name = dlq::queue(&path)?;
    // Signed, as the document says (`int64`): a larger offset is a 400, not a listing.
    let offset =
        u64::try_from(page.offset).map_err(|_| ApiError::bad("offset must be 0 or more"))?;
    let limit = u64::try_from(page.limit).unwrap_or(0);
    let listing = dlq::items(&state, name, offset, limit).await?;
    Ok(HttpResponse::Ok().json(listing))
}

/// Puts the oldest items back on their work queue (admin).
#[utoipa::path(post, operation_id = "replay_dlq", path = "/dlq/{name}/replay", tag = "dlq",
    params(("name" = inline(QueueName), Path)),
    request_body = ReplayInput,
    responses((status = 200, body = Replayed), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub(super) async fn replay(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<Map<String, Value>>,
) -> ApiResult {
    let caller = caller(&req, &state, Scope::Admin).await?;
    let name = dlq::queue(&path)?;
    let fields = Fields::of::<ReplayInput>(body.into_inner())?;
    let count = dlq::replay_count(&fields)?;
    let report = dlq::replay(&state, &caller, name, count).await?;
    Ok(HttpResponse::Ok().json(Replayed {
        replayed: report.replayed,
        dead: report.dead,
    }))
}

/// Empties a queue (admin).
#[utoipa::path(delete, operation_id = "purge_dlq", path = "/dlq/{name}", tag = "dlq",
    params(("name" = inline(QueueName), Path)),
    responses((status = 200, body = Purged), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub(super) async fn purge(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult {
    let caller = caller(&req, &state, Scope::Admin).await?;
    let name = dlq::queue(&path)?;
    let purged = dlq::purge(&state, &caller, name).await?;
    Ok(HttpResponse::Ok().json(Purged { purged }))
}
