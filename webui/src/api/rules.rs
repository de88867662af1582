//! `/rules` (v2.5's routes and bodies) and `POST /rules/test`, over
//! [`crate::service::rules`] and [`crate::service::trial`].

use super::{caller, reader};
use crate::error::ApiResult;
use crate::service::AppState;
use crate::service::fields::Fields;
use crate::service::rules::{self, RULE_FIELDS, RuleDraft};
use crate::service::trial;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};
use shared::store::api_keys::Scope;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/rules", web::get().to(list))
        .route("/rules", web::post().to(create))
        .route("/rules/test", web::post().to(test))
        .route("/rules/{id}", web::get().to(get))
        .route("/rules/{id}", web::put().to(update))
        .route("/rules/{id}", web::delete().to(delete));
}

fn known_fields() -> Vec<&'static str> {
    RULE_FIELDS.iter().copied().chain(["reason"]).collect()
}

async fn list(req: HttpRequest, state: web::Data<AppState>) -> ApiResult {
    reader(&req, &state).await?;
    let rules = rules::list(&state).await?;
    Ok(HttpResponse::Ok().json(json!({ "rules": rules })))
}

async fn get(req: HttpRequest, state: web::Data<AppState>, id: web::Path<i32>) -> ApiResult {
    reader(&req, &state).await?;
    Ok(HttpResponse::Ok().json(rules::get(&state, *id).await?))
}

async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<Map<String, Value>>,
) -> ApiResult {
    let caller = caller(&req, &state, Scope::Admin).await?;
    let fields = Fields::new(body.into_inner(), &known_fields())?;
    let draft = RuleDraft::new_rule(&fields)?;
    let reason = fields.reason()?;
    let rule = rules::create(&state, &caller, draft, reason.as_deref()).await?;
    Ok(HttpResponse::Created()
        .json(json!({"id": rule.rule.id, "message": "Rule created successfully", "rule": rule})))
}

async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<i32>,
    body: web::Json<Map<String, Value>>,
) -> ApiResult {
    let caller = caller(&req, &state, Scope::Admin).await?;
    let fields = Fields::new(body.into_inner(), &known_fields())?;
    let reason = fields.reason()?;
    let rule = rules::update(&state, &caller, *id, &fields, reason.as_deref()).await?;
    Ok(HttpResponse::Ok().json(json!({"message": "Rule updated successfully", "rule": rule})))
}

async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<i32>,
    body: Option<web::Json<Map<String, Value>>>,
) -> ApiResult {
    let caller = caller(&req, &state, Scope::Admin).await?;
    let fields = Fields::new(
        body.map(|b| b.into_inner()).unwrap_or_default(),
        &["reason"],
    )?;
    let reason = fields.reason()?;
    let removal = rules::remove(&state, &caller, *id, reason.as_deref()).await?;
    Ok(HttpResponse::Ok().json(json!({
        "message": removal.message(),
        "deactivated": removal == rules::Removal::Deactivated,
    })))
}

async fn test(req: HttpRequest, state: web::Data<AppState>, body: web::Json<Value>) -> ApiResult {
    reader(&req, &state).await?;
    let event = trial::event_of(body.into_inner())?;
    Ok(HttpResponse::Ok().json(trial::run(&state, &event).await?))
}
