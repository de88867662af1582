//! `/dlq`: the dead-letter queues for operators, through `shared::dlq`. Reading
//! needs `read`; replay and purge need `admin`.

use super::fields::Body;
use crate::auth::authorize;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use shared::dlq::{Dlq, DlqError, DlqName};
use shared::store::api_keys::Scope;

/// Most items one page lists.
const MAX_LIMIT: u64 = 200;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/dlq", web::get().to(depths))
        .route("/dlq/{name}", web::get().to(list))
        .route("/dlq/{name}", web::delete().to(purge))
        .route("/dlq/{name}/replay", web::post().to(replay));
}

fn name(text: &str) -> Result<DlqName, ApiError> {
    DlqName::parse(text).ok_or_else(|| {
        ApiError::NotFound(format!(
            "unknown DLQ {text:?}: expected alerter, moog or dead"
        ))
    })
}

pub(crate) async fn depths(req: HttpRequest, state: web::Data<AppState>) -> ApiResult {
    authorize(&req, &state, Scope::Read).await?;
    let dlq = Dlq::new(&state.keys);
    let mut redis = state.redis.clone();
    let mut queues = Vec::new();
    for name in DlqName::ALL {
        let depth = dlq.depth(&mut redis, name).await?;
        queues.push(json!({"name": name.as_str(), "depth": depth}));
    }
    Ok(HttpResponse::Ok().json(json!({ "dlqs": queues })))
}

#[derive(Deserialize)]
pub(crate) struct Page {
    #[serde(default)]
    pub offset: u64,
    #[serde(default = "default_limit")]
    pub limit: u64,
}

fn default_limit() -> u64 {
    50
}

pub(crate) async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    page: web::Query<Page>,
) -> ApiResult {
    authorize(&req, &state, Scope::Read).await?;
    let name = name(&path)?;
    if page.limit == 0 || page.limit > MAX_LIMIT {
        return Err(ApiError::bad(format!("limit must be 1 to {MAX_LIMIT}")));
    }
    let dlq = Dlq::new(&state.keys);
    let mut redis = state.redis.clone();
    let depth = dlq.depth(&mut redis, name).await?;
    let items = dlq.list(&mut redis, name, page.offset, page.limit).await?;
    Ok(HttpResponse::Ok().json(json!({
        "name": name.as_str(), "depth": depth, "offset": page.offset, "limit": page.limit, "items": items,
    })))
}

pub(crate) async fn replay(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<Map<String, Value>>,
) -> ApiResult {
    authorize(&req, &state, Scope::Admin).await?;
    let name = name(&path)?;
    let body = Body::new(body.into_inner(), &["count", "all"])?;
    let count = match (body.integer("count")?, body.boolean("all")?) {
        (Some(n), None | Some(false)) if n > 0 => Some(n as u64),
        (None, Some(true)) => None,
        _ => {
            return Err(ApiError::bad(
                "send {\"count\": N} with N ≥ 1, or {\"all\": true}",
            ));
        }
    };
    let report = Dlq::new(&state.keys)
        .replay(
            &mut state.redis.clone(),
            name,
            count,
            state.max_poison_retries,
        )
        .await
        .map_err(|e| match e {
            DlqError::NotReplayable => ApiError::bad(format!(
                "the {} DLQ cannot be replayed; inspect or purge it",
                name.as_str()
            )),
            other => ApiError::Unavailable(other.to_string()),
        })?;
    Ok(HttpResponse::Ok().json(json!({"replayed": report.replayed, "dead": report.dead})))
}

pub(crate) async fn purge(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult {
    authorize(&req, &state, Scope::Admin).await?;
    let name = name(&path)?;
    let purged = Dlq::new(&state.keys)
        .purge(&mut state.redis.clone(), name)
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "purged": purged })))
}
