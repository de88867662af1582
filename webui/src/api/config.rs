//! `/config`: dynamic configuration with a schema. Only keys some service
//! reads may be set, and only to values it parses (v2.5 stored anything, `true` as
//! `"True"`). A change is audited (`table_name` `dynamic_config`) and published on
//! `mutt:config:updates`; services see it within a second.
//!
//! Redis and PostgreSQL cannot share a transaction: the audit row is written in a
//! transaction that commits only after Redis took the value, and a failed commit puts
//! the old value back, so a change and its audit row stand or fall together.

use super::fields::Body;
use super::pagination::{Page, Pagination};
use crate::auth::authorize;
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, correlation_id};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};
use shared::dynamic_config::{SETTINGS, normalise, setting};
use shared::store::api_keys::Scope;
use shared::store::config_audit::{self, ConfigChange};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/config", web::get().to(list))
        .route("/config/history", web::get().to(history))
        .route("/config/{key}", web::put().to(set));
}

pub(crate) async fn current(state: &AppState) -> Result<Vec<Option<String>>, ApiError> {
    let keys: Vec<String> = SETTINGS
        .iter()
        .map(|s| state.keys.config(s.key()))
        .collect();
    Ok(redis::cmd("MGET")
        .arg(&keys)
        .query_async(&mut state.redis.clone())
        .await?)
}

pub(crate) async fn list(req: HttpRequest, state: web::Data<AppState>) -> ApiResult {
    authorize(&req, &state, Scope::Read).await?;
    let values = current(&state).await?;
    let mut config = Map::new();
    let mut settings = Vec::new();
    for (s, value) in SETTINGS.iter().zip(values) {
        if let Some(v) = &value {
            config.insert(s.key().into(), v.clone().into());
        }
        settings.push(json!({"key": s.key(), "value": value, "read_by": s.read_by, "description": s.description}));
    }
    Ok(HttpResponse::Ok().json(json!({"config": config, "settings": settings})))
}

pub(crate) async fn set(
    req: HttpRequest,
    state: web::Data<AppState>,
    key: web::Path<String>,
    body: web::Json<Map<String, Value>>,
) -> ApiResult {
    let caller = authorize(&req, &state, Scope::Admin).await?;
    let setting = setting(&key).ok_or_else(|| {
        ApiError::bad(format!(
            "unknown configuration key {:?}; known: {}",
            *key,
            SETTINGS
                .iter()
                .map(|s| s.key())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    let body = Body::new(body.into_inner(), &["value", "reason"])?;
    let value = body
        .raw("value")
        .ok_or_else(|| ApiError::bad("Missing 'value' in request body"))?;
    let new_value = normalise(setting, value).map_err(ApiError::BadRequest)?;
    let reason = body.text("reason", 10_000)?.flatten();
    let redis_key = state.keys.config(setting.key());
    let mut redis = state.redis.clone();

    let mut conn = state.pool.get().await?;
    let tx = conn.transaction().await?;
    let old_value: Option<String> = redis::cmd("GET")
        .arg(&redis_key)
        .query_async(&mut redis)
        .await?;
    config_audit::record(
        &*tx,
        &ConfigChange {
            changed_by: &caller.name,
            operation: if old_value.is_some() {
                "UPDATE"
            } else {
                "CREATE"
            },
            table_name: "dynamic_config",
            record_id: 0,
            old_values: old_value
                .as_ref()
                .map(|v| json!({"key": setting.key(), "value": v})),
            new_values: Some(json!({"key": setting.key(), "value": new_value})),
            reason: reason.as_deref(),
            correlation_id: Some(&correlation_id(&req)),
        },
    )
    .await?;
    let _: () = redis::cmd("SET")
        .arg(&redis_key)
        .arg(&new_value)
        .query_async(&mut redis)
        .await?;
    if let Err(error) = tx.commit().await {
        let mut undo = redis::cmd("DEL");
        if let Some(old) = &old_value {
            undo = redis::cmd("SET");
            undo.arg(&redis_key).arg(old);
        } else {
            undo.arg(&redis_key);
        }
        let _: Result<(), _> = undo.query_async(&mut redis).await;
        return Err(error.into());
    }
    let _: Result<i64, _> = redis::cmd("PUBLISH")
        .arg(state.keys.config_updates_channel())
        .arg(setting.key())
        .query_async(&mut redis)
        .await;
    Ok(HttpResponse::Ok()
        .json(json!({"key": setting.key(), "old_value": old_value, "new_value": new_value})))
}

pub(crate) async fn history(
    req: HttpRequest,
    state: web::Data<AppState>,
    page: web::Query<Page>,
) -> ApiResult {
    authorize(&req, &state, Scope::Read).await?;
    let (limit, offset) = page.bounds(state.page_size)?;
    let conn = state.pool.get().await?;
    let total: i64 = conn
        .query_one(
            "SELECT count(*) FROM config_audit_log WHERE table_name = 'dynamic_config'",
            &[],
        )
        .await?
        .get(0);
    let rows = conn
        .query(
            &format!(
                "SELECT {} FROM config_audit_log WHERE table_name = 'dynamic_config' \
                 ORDER BY changed_at DESC, id DESC LIMIT $1 OFFSET $2",
                super::audit::CONFIG_AUDIT_COLUMNS
            ),
            &[&limit, &offset],
        )
        .await?;
    let history: Vec<Value> = rows.iter().map(super::audit::config_audit_json).collect();
    Ok(HttpResponse::Ok().json(json!({
        "history": history,
        "pagination": Pagination::new(&page, limit, total),
    })))
}
