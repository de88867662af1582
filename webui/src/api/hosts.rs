//! `/dev-hosts` and `/teams`: v2.5's routes and bodies, audited in the
//! same transaction (record_id 0, the hostname in the values), alerters told to reload.

use super::fields::Body;
use crate::auth::authorize;
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, correlation_id};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};
use shared::store::api_keys::Scope;
use shared::store::config_audit::{self, ConfigChange};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/dev-hosts", web::get().to(list_dev_hosts))
        .route("/dev-hosts", web::post().to(add_dev_host))
        .route("/dev-hosts/{hostname}", web::delete().to(delete_dev_host))
        .route("/teams", web::get().to(list_teams))
        .route("/teams", web::post().to(add_team))
        .route("/teams/{hostname}", web::put().to(update_team))
        .route("/teams/{hostname}", web::delete().to(delete_team));
}

/// Runs `change` and its audit row in one transaction, then announces it.
macro_rules! audited {
    ($req:expr, $state:expr, $caller:expr, $reason:expr, |$tx:ident| $change:expr) => {{
        let mut conn = $state.pool.get().await?;
        let $tx = conn.transaction().await?;
        let (operation, table_name, old_values, new_values): (
            &'static str,
            &'static str,
            Option<Value>,
            Option<Value>,
        ) = $change;
        config_audit::record(
            &*$tx,
            &ConfigChange {
                changed_by: &$caller.name,
                operation,
                table_name,
                record_id: 0,
                old_values,
                new_values,
                reason: $reason.as_deref(),
                correlation_id: Some(&correlation_id(&$req)),
            },
        )
        .await?;
        $tx.commit().await?;
        $state.announce_change().await;
    }};
}

fn is_unique_violation(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION)
}

pub(crate) async fn list_dev_hosts(req: HttpRequest, state: web::Data<AppState>) -> ApiResult {
    authorize(&req, &state, Scope::Read).await?;
    let conn = state.pool.get().await?;
    let hosts: Vec<Value> = conn
        .query(
            "SELECT hostname FROM development_hosts ORDER BY hostname",
            &[],
        )
        .await?
        .iter()
        .map(|r| json!({"hostname": r.get::<_, String>(0)}))
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "hosts": hosts })))
}

pub(crate) async fn add_dev_host(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<Map<String, Value>>,
) -> ApiResult {
    let caller = authorize(&req, &state, Scope::Admin).await?;
    let body = Body::new(body.into_inner(), &["hostname", "reason"])?;
    let hostname = body
        .required_text("hostname", 255, true)
        .map_err(|_| ApiError::bad("hostname is required"))?
        .unwrap_or_default();
    let reason = body.text("reason", 10_000)?.flatten();
    audited!(req, state, caller, reason, |tx| {
        match tx
            .execute(
                "INSERT INTO development_hosts (hostname) VALUES ($1)",
                &[&hostname],
            )
            .await
        {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(ApiError::Conflict("Hostname already exists".into()));
            }
            Err(e) => return Err(e.into()),
        }
        (
            "CREATE",
            "development_hosts",
            None,
            Some(json!({"hostname": hostname})),
        )
    });
    Ok(HttpResponse::Created().json(json!({"message": "Dev host added successfully"})))
}

pub(crate) async fn delete_dev_host(
    req: HttpRequest,
    state: web::Data<AppState>,
    hostname: web::Path<String>,
) -> ApiResult {
    let caller = authorize(&req, &state, Scope::Admin).await?;
    let reason: Option<String> = None;
    audited!(req, state, caller, reason, |tx| {
        let n = tx
            .execute(
                "DELETE FROM development_hosts WHERE hostname = $1",
                &[&*hostname],
            )
            .await?;
        if n == 0 {
            return Err(ApiError::NotFound("Hostname not found".into()));
        }
        (
            "DELETE",
            "development_hosts",
            Some(json!({"hostname": *hostname})),
            None,
        )
    });
    Ok(HttpResponse::Ok().json(json!({"message": "Dev host deleted successfully"})))
}

pub(crate) async fn list_teams(req: HttpRequest, state: web::Data<AppState>) -> ApiResult {
    authorize(&req, &state, Scope::Read).await?;
    let conn = state.pool.get().await?;
    let teams: Vec<Value> = conn
        .query(
            "SELECT hostname, team_assignment FROM device_teams ORDER BY hostname",
            &[],
        )
        .await?
        .iter()
        .map(|r| {
            json!({"hostname": r.get::<_, String>(0), "team_assignment": r.get::<_, String>(1)})
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "teams": teams })))
}

pub(crate) async fn add_team(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<Map<String, Value>>,
) -> ApiResult {
    let caller = authorize(&req, &state, Scope::Admin).await?;
    let body = Body::new(
        body.into_inner(),
        &["hostname", "team_assignment", "reason"],
    )?;
    let required = "hostname and team_assignment are required";
    let hostname = body
        .required_text("hostname", 255, true)
        .map_err(|_| ApiError::bad(required))?
        .unwrap_or_default();
    let team = body
        .required_text("team_assignment", 100, true)
        .map_err(|_| ApiError::bad(required))?
        .unwrap_or_default();
    let reason = body.text("reason", 10_000)?.flatten();
    audited!(req, state, caller, reason, |tx| {
        match tx
            .execute(
                "INSERT INTO device_teams (hostname, team_assignment) VALUES ($1, $2)",
                &[&hostname, &team],
            )
            .await
        {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(ApiError::Conflict(
                    "Hostname already has a team assignment".into(),
                ));
            }
            Err(e) => return Err(e.into()),
        }
        (
            "CREATE",
            "device_teams",
            None,
            Some(json!({"hostname": hostname, "team_assignment": team})),
        )
    });
    Ok(HttpResponse::Created().json(json!({"message": "Team mapping added successfully"})))
}

pub(crate) async fn update_team(
    req: HttpRequest,
    state: web::Data<AppState>,
    hostname: web::Path<String>,
    body: web::Json<Map<String, Value>>,
) -> ApiResult {
    let caller = authorize(&req, &state, Scope::Admin).await?;
    let body = Body::new(body.into_inner(), &["team_assignment", "reason"])?;
    let team = body
        .required_text("team_assignment", 100, true)
        .map_err(|_| ApiError::bad("team_assignment is required"))?
        .unwrap_or_default();
    let reason = body.text("reason", 10_000)?.flatten();
    audited!(req, state, caller, reason, |tx| {
        let old: String = tx
            .query_opt(
                "SELECT team_assignment FROM device_teams WHERE hostname = $1 FOR UPDATE",
                &[&*hostname],
            )
            .await?
            .ok_or_else(|| ApiError::NotFound("Hostname not found".into()))?
            .get(0);
        tx.execute(
            "UPDATE device_teams SET team_assignment = $2 WHERE hostname = $1",
            &[&*hostname, &team],
        )
        .await?;
        (
            "UPDATE",
            "device_teams",
            Some(json!({"hostname": *hostname, "team_assignment": old})),
            Some(json!({"hostname": *hostname, "team_assignment": team})),
        )
    });
    Ok(HttpResponse::Ok().json(json!({"message": "Team mapping updated successfully"})))
}

pub(crate) async fn delete_team(
    req: HttpRequest,
    state: web::Data<AppState>,
    hostname: web::Path<String>,
) -> ApiResult {
    let caller = authorize(&req, &state, Scope::Admin).await?;
    let reason: Option<String> = None;
    audited!(req, state, caller, reason, |tx| {
        let old: String = tx
            .query_opt(
                "DELETE FROM device_teams WHERE hostname = $1 RETURNING team_assignment",
                &[&*hostname],
            )
            .await?
            .ok_or_else(|| ApiError::NotFound("Hostname not found".into()))?
            .get(0);
        (
            "DELETE",
            "device_teams",
            Some(json!({"hostname": *hostname, "team_assignment": old})),
            None,
        )
    });
    Ok(HttpResponse::Ok().json(json!({"message": "Team mapping deleted successfully"})))
}
