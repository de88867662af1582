//! `/dev-hosts` and `/teams`: v2.5's routes and bodies, over [`crate::service::hosts`].

use super::{caller, reader};
use crate::error::ApiResult;
use crate::service::AppState;
use crate::service::fields::Fields;
use crate::service::hosts;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};
use shared::store::api_keys::Scope;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/dev-hosts", web::get().to(list_dev_hosts))
        .route("/dev-hosts", web::post().to(add_dev_host))
        .route("/dev-hosts/{hostname}", web::delete().to(delete_dev_host))
        .route("/teams", web::get().to(list_teams))
        .route("/teams", web::post().to(add_team))
        .route("/teams/{hostname}", web::put().to(update_team))
        .route("/teams/{hostname}", web::delete().to(delete_team));
}

async fn list_dev_hosts(req: HttpRequest, state: web::Data<AppState>) -> ApiResult {
    reader(&req, &state).await?;
    let hosts = hosts::dev_hosts(&state).await?;
    Ok(HttpResponse::Ok().json(json!({ "hosts": hosts })))
}

async fn add_dev_host(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<Map<String, Value>>,
) -> ApiResult {
    let caller = caller(&req, &state, Scope::Admin).await?;
    let fields = Fields::new(body.into_inner(), &["hostname", "reason"])?;
    let host = hosts::dev_host_of(&fields)?;
    let reason = fields.reason()?;
    hosts::add_dev_host(&state, &caller, host, reason.as_deref()).await?;
    Ok(HttpResponse::Created().json(json!({"message": "Dev host added successfully"})))
}

async fn delete_dev_host(
    req: HttpRequest,
    state: web::Data<AppState>,
    hostname: web::Path<String>,
) -> ApiResult {
    let caller = caller(&req, &state, Scope::Admin).await?;
    hosts::remove_dev_host(&state, &caller, &hostname).await?;
    Ok(HttpResponse::Ok().json(json!({"message": "Dev host deleted successfully"})))
}

async fn list_teams(req: HttpRequest, state: web::Data<AppState>) -> ApiResult {
    reader(&req, &state).await?;
    let teams = hosts::teams(&state).await?;
    Ok(HttpResponse::Ok().json(json!({ "teams": teams })))
}

async fn add_team(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<Map<String, Value>>,
) -> ApiResult {
    let caller = caller(&req, &state, Scope::Admin).await?;
    let fields = Fields::new(
        body.into_inner(),
        &["hostname", "team_assignment", "reason"],
    )?;
    let mapping = hosts::mapping_of(&fields)?;
    let reason = fields.reason()?;
    hosts::add_team(&state, &caller, mapping, reason.as_deref()).await?;
    Ok(HttpResponse::Created().json(json!({"message": "Team mapping added successfully"})))
}

async fn update_team(
    req: HttpRequest,
    state: web::Data<AppState>,
    hostname: web::Path<String>,
    body: web::Json<Map<String, Value>>,
) -> ApiResult {
    let caller = caller(&req, &state, Scope::Admin).await?;
    let fields = Fields::new(body.into_inner(), &["team_assignment", "reason"])?;
    let team = hosts::team_of(&fields)?;
    let reason = fields.reason()?;
    hosts::set_team(&state, &caller, &hostname, team, reason.as_deref()).await?;
    Ok(HttpResponse::Ok().json(json!({"message": "Team mapping updated successfully"})))
}

async fn delete_team(
    req: HttpRequest,
    state: web::Data<AppState>,
    hostname: web::Path<String>,
) -> ApiResult {
    let caller = caller(&req, &state, Scope::Admin).await?;
    hosts::remove_team(&state, &caller, &hostname).await?;
    Ok(HttpResponse::Ok().json(json!({"message": "Team mapping deleted successfully"})))
}
