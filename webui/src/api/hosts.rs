//! `/dev-hosts` and `/teams`: v2.5's routes and bodies, over [`crate::service::hosts`].

use super::{Message, caller, reader};
use crate::error::{ApiResult, ErrorBody};
use crate::service::AppState;
use crate::service::fields::Fields;
use crate::service::hosts::{self, DevHost, DevHostInput, TeamInput, TeamMapping, TeamUpdate};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use serde_json::{Map, Value};
use shared::process::admin::resource;
use shared::store::api_keys::Scope;
use utoipa::ToSchema;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/dev-hosts", "GET, POST")
            .get(list_dev_hosts)
            .post(add_dev_host),
    )
    .service(resource("/dev-hosts/{hostname}", "DELETE").delete(delete_dev_host))
    .service(
        resource("/teams", "GET, POST")
            .get(list_teams)
            .post(add_team),
    )
    .service(
        resource("/teams/{hostname}", "PUT, DELETE")
            .put(update_team)
            .delete(delete_team),
    );
}

#[derive(Serialize, ToSchema)]
pub struct DevHostList {
    hosts: Vec<DevHost>,
}

#[derive(Serialize, ToSchema)]
pub struct TeamList {
    teams: Vec<TeamMapping>,
}

/// The development hosts: their events get a rule's dev handling.
#[utoipa::path(get, operation_id = "list_dev_hosts", path = "/dev-hosts", tag = "hosts",
    responses((status = 200, body = DevHostList)),
    security(("api_key" = [])))]
pub(super) async fn list_dev_hosts(req: HttpRequest, state: web::Data<AppState>) -> ApiResult {
    reader(&req, &state).await?;
    let hosts = hosts::dev_hosts(&state).await?;
    Ok(HttpResponse::Ok().json(DevHostList { hosts }))
}

/// Adds a development host (admin).
#[utoipa::path(post, operation_id = "add_dev_host", path = "/dev-hosts", tag = "hosts",
    request_body = DevHostInput,
    responses((status = 201, body = Message), (status = 409, body = ErrorBody)),
    security(("api_key" = [])))]
pub(super) async fn add_dev_host(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<Map<String, Value>>,
) -> ApiResult {
    let caller = caller(&req, &state, Scope::Admin).await?;
    let fields = Fields::of::<DevHostInput>(body.into_inner())?;
    let host = hosts::dev_host_of(&fields)?;
    let reason = fields.reason()?;
    hosts::add_dev_host(&state, &caller, host, reason.as_deref()).await?;
    Ok(HttpResponse::Created().json(Message::new("Dev host added successfully")))
}

/// Removes a development host (admin).
#[utoipa::path(delete, operation_id = "delete_dev_host", path = "/dev-hosts/{hostname}", tag = "hosts",
    params(("hostname" = String, Path)),
    responses((status = 200, body = Message), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub(super) async fn delete_dev_host(
    req: HttpRequest,
    state: web::Data<AppState>,
    hostname: web::Path<String>,
) -> ApiResult {
    let caller = caller(&req, &state, Scope::Admin).await?;
    hosts::remove_dev_host(&state, &caller, &hostname).await?;
    Ok(HttpResponse::Ok().json(Message::new("Dev host deleted successfully")))
}

/// The device → team mappings.
#[utoipa::path(get, operation_id = "list_teams", path = "/teams", tag = "hosts",
    responses((status = 200, body = TeamList)),
    security(("api_key" = [])))]
pub(super) async fn list_teams(req: HttpRequest, state: web::Data<AppState>) -> ApiResult {
    reader(&req, &state).await?;
    let teams = hosts::teams(&state).await?;
    Ok(HttpResponse::Ok().json(TeamList { teams }))
}

/// Maps a device to a team (admin).
#[utoipa::path(post, operation_id = "add_team", path = "/teams", tag = "hosts",
    request_body = TeamInput,
    responses((status = 201, body = Message), (status = 409, body = ErrorBody)),
    security(("api_key" = [])))]
pub(super) async fn add_team(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<Map<String, Value>>,
) -> ApiResult {
    let caller = caller(&req, &state, Scope::Admin).await?;
    let fields = Fields::of::<TeamInput>(body.into_inner())?;
    let mapping = hosts::mapping_of(&fields)?;
    let reason = fields.reason()?;
    hosts::add_team(&state, &caller, mapping, reason.as_deref()).await?;
    Ok(HttpResponse::Created().json(Message::new("Team mapping added successfully")))
}

/// Changes a device's team (admin).
#[utoipa::path(put, operation_id = "update_team", path = "/teams/{hostname}", tag = "hosts",
    params(("hostname" = String, Path)),
    request_body = TeamUpdate,
    responses((status = 200, body = Message), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub(super) async fn update_team(
    req: HttpRequest,
    state: web::Data<AppState>,
    hostname: web::Path<String>,
    body: web::Json<Map<String, Value>>,
) -> ApiResult {
    let caller = caller(&req, &state, Scope::Admin).await?;
    let fields = Fields::of::<TeamUpdate>(body.into_inner())?;
    let team = hosts::team_of(&fields)?;
    let reason = fields.reason()?;
    hosts::set_team(&state, &caller, &hostname, team, reason.as_deref()).await?;
    Ok(HttpResponse::Ok().json(Message::new("Team mapping updated successfully")))
}

/// Removes a device's team mapping (admin).
#[utoipa::path(delete, operation_id = "delete_team", path = "/teams/{hostname}", tag = "hosts",
    params(("hostname" = String, Path)),
    responses((status = 200, body = Message), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub(super) async fn delete_team(
    req: HttpRequest,
    state: web::Data<AppState>,
    hostname: web::Path<String>,
) -> ApiResult {
    let caller = caller(&req, &state, Scope::Admin).await?;
    hosts::remove_team(&state, &caller, &hostname).await?;
    Ok(HttpResponse::Ok().json(Message::new("Team mapping deleted successfully")))
}
