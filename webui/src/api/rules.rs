//! `/rules` (v2.5's routes and bodies) and `POST /rules/test`, over
//! [`crate::service::rules`] and [`crate::service::trial`].

use super::{caller, optional_object, reader};
use crate::error::ApiResult;
use crate::service::AppState;
use crate::service::fields::{Fields, Reason};
use crate::service::rules::{self, NewRule, RuleDraft, RuleFields, RuleWithHits};
use crate::service::trial::{self, TestEvent, Trial};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use serde_json::{Map, Value};
use shared::process::admin::resource;
use shared::store::api_keys::Scope;
use utoipa::ToSchema;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/rules", "GET, POST").get(list).post(create))
        .service(resource("/rules/test", "POST").post(test))
        .service(
            resource("/rules/{id}", "GET, PUT, DELETE")
                .get(get)
                .put(update)
                .delete(delete),
        );
}

#[derive(Serialize, ToSchema)]
pub struct RuleList {
    /// By priority, then id.
    rules: Vec<RuleWithHits>,
}

#[derive(Serialize, ToSchema)]
pub struct RuleCreated {
    id: i32,
    message: &'static str,
    rule: RuleWithHits,
}

#[derive(Serialize, ToSchema)]
pub struct RuleUpdated {
    message: &'static str,
    rule: RuleWithHits,
}

#[derive(Serialize, ToSchema)]
pub struct RuleRemoved {
    message: &'static str,
    /// True when audit rows point at the rule: it was deactivated, not deleted.
    deactivated: bool,
}

/// Every rule, with the alerter's hit counts.
#[utoipa::path(get, operation_id = "list_rules", path = "/rules", tag = "rules",
    responses((status = 200, body = RuleList)),
    security(("api_key" = [])))]
pub(super) async fn list(req: HttpRequest, state: web::Data<AppState>) -> ApiResult {
    reader(&req, &state).await?;
    let rules = rules::list(&state).await?;
    Ok(HttpResponse::Ok().json(RuleList { rules }))
}

/// One rule.
#[utoipa::path(get, operation_id = "get_rule", path = "/rules/{id}", tag = "rules",
    params(("id" = i32, Path)),
    responses((status = 200, body = RuleWithHits), (status = 404, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub(super) async fn get(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<i32>,
) -> ApiResult {
    reader(&req, &state).await?;
    Ok(HttpResponse::Ok().json(rules::get(&state, *id).await?))
}

/// Creates a rule (admin). Its regex must compile, and it needs `match_string` or
/// `trap_oid`.
#[utoipa::path(post, operation_id = "create_rule", path = "/rules", tag = "rules",
    request_body = NewRule,
    responses((status = 201, body = RuleCreated)),
    security(("api_key" = [])))]
pub(super) async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<Map<String, Value>>,
) -> ApiResult {
    let caller = caller(&req, &state, Scope::Admin).await?;
    let fields = Fields::of::<NewRule>(body.into_inner())?;
    let draft = RuleDraft::new_rule(&fields)?;
    let reason = fields.reason()?;
    let rule = rules::create(&state, &caller, draft, reason.as_deref()).await?;
    Ok(HttpResponse::Created().json(RuleCreated {
        id: rule.rule.id,
        message: "Rule created successfully",
        rule,
    }))
}

/// Changes the fields given (admin); at least one besides `reason`.
#[utoipa::path(put, operation_id = "update_rule", path = "/rules/{id}", tag = "rules",
    params(("id" = i32, Path)),
    request_body = RuleFields,
    responses((status = 200, body = RuleUpdated), (status = 404, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub(super) async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<i32>,
    body: web::Json<Map<String, Value>>,
) -> ApiResult {
    let caller = caller(&req, &state, Scope::Admin).await?;
    let fields = Fields::of::<RuleFields>(body.into_inner())?;
    let reason = fields.reason()?;
    let rule = rules::update(&state, &caller, *id, &fields, reason.as_deref()).await?;
    Ok(HttpResponse::Ok().json(RuleUpdated {
        message: "Rule updated successfully",
        rule,
    }))
}

/// Deletes a rule (admin), or deactivates it when audit rows point at it. The body is
/// optional.
#[utoipa::path(delete, operation_id = "delete_rule", path = "/rules/{id}", tag = "rules",
    params(("id" = i32, Path)),
    request_body(content = Option<Reason>),
    responses((status = 200, body = RuleRemoved), (status = 404, body = crate::error::ErrorBody)),
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
    let removal = rules::remove(&state, &caller, *id, reason.as_deref()).await?;
    Ok(HttpResponse::Ok().json(RuleRemoved {
        message: removal.message(),
        deactivated: removal == rules::Removal::Deactivated,
    }))
}

/// What the alerter would decide for an event over the rules stored now.
#[utoipa::path(post, operation_id = "test_event", path = "/rules/test", tag = "rules",
    request_body = TestEvent,
    responses((status = 200, body = Trial)),
    security(("api_key" = [])))]
pub(super) async fn test(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<Value>,
) -> ApiResult {
    reader(&req, &state).await?;
    let event = trial::event_of(body.into_inner())?;
    Ok(HttpResponse::Ok().json(trial::run(&state, &event).await?))
}
