//! `/dlq`: the dead-letter queues, over [`crate::service::dlq`].

use super::{caller, reader};
use crate::error::ApiResult;
use crate::service::AppState;
use crate::service::dlq;
use crate::service::fields::Fields;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use shared::store::api_keys::Scope;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/dlq", web::get().to(depths))
        .route("/dlq/{name}", web::get().to(list))
        .route("/dlq/{name}", web::delete().to(purge))
        .route("/dlq/{name}/replay", web::post().to(replay));
}

async fn depths(req: HttpRequest, state: web::Data<AppState>) -> ApiResult {
    reader(&req, &state).await?;
    let queues = dlq::depths(&state).await?;
    Ok(HttpResponse::Ok().json(json!({ "dlqs": queues })))
}

#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    offset: u64,
    #[serde(default = "default_limit")]
    limit: u64,
}

fn default_limit() -> u64 {
    50
}

async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    page: web::Query<Page>,
) -> ApiResult {
    reader(&req, &state).await?;
    let name = dlq::queue(&path)?;
    let listing = dlq::items(&state, name, page.offset, page.limit).await?;
    Ok(HttpResponse::Ok().json(listing))
}

async fn replay(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<Map<String, Value>>,
) -> ApiResult {
    let caller = caller(&req, &state, Scope::Admin).await?;
    let name = dlq::queue(&path)?;
    let fields = Fields::new(body.into_inner(), &["count", "all"])?;
    let count = dlq::replay_count(&fields)?;
    let report = dlq::replay(&state, &caller, name, count).await?;
    Ok(HttpResponse::Ok().json(json!({"replayed": report.replayed, "dead": report.dead})))
}

async fn purge(req: HttpRequest, state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let caller = caller(&req, &state, Scope::Admin).await?;
    let name = dlq::queue(&path)?;
    let purged = dlq::purge(&state, &caller, name).await?;
    Ok(HttpResponse::Ok().json(json!({ "purged": purged })))
}
