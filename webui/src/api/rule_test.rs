//! `POST /rules/test`: which active rule an event would match, and why, decided by the
//! alerter's own code (`shared::rules::routing`) over the rules as stored now.

use crate::auth::authorize;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};
use shared::event::Event;
use shared::rules::routing::{Decision, Environment, Snapshot, decide};
use shared::rules::{MatchType, Rule};
use shared::store::api_keys::Scope;
use shared::store::rules::{LoadError, load_routing};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/rules/test", web::post().to(test));
}

/// Why `rule` matched `event`, in words.
fn why(rule: &Rule, event: &Event) -> String {
    let criterion = match rule.match_type {
        MatchType::Contains => format!(
            "the message contains {:?} (ignoring case)",
            rule.match_string.as_deref().unwrap_or_default()
        ),
        MatchType::Regex => format!(
            "the message matches the regex {:?} (ignoring case, anywhere in the message)",
            rule.match_string.as_deref().unwrap_or_default()
        ),
        MatchType::OidPrefix => format!(
            "trap_oid {:?} starts with {:?} on whole arcs",
            event.trap_oid.as_deref().unwrap_or_default(),
            rule.trap_oid.as_deref().unwrap_or_default()
        ),
    };
    let severity = rule
        .syslog_severity
        .map(|s| format!(", its syslog_severity is {}", s.level()))
        .unwrap_or_default();
    format!(
        "rule {} matches: {criterion}{severity}; of the matching active rules it has the lowest priority ({}), ties going to the lowest id",
        rule.id, rule.priority
    )
}

pub(crate) async fn test(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<Value>,
) -> ApiResult {
    authorize(&req, &state, Scope::Read).await?;
    let mut value = body.into_inner();
    let object = value
        .as_object_mut()
        .ok_or_else(|| ApiError::bad("send an event: a JSON object"))?;
    // A test event needs no time of its own.
    object
        .entry("timestamp")
        .or_insert_with(|| chrono::Utc::now().to_rfc3339().into());
    let event: Event =
        serde_json::from_value(value).map_err(|e| ApiError::bad(format!("not an event: {e}")))?;
    let data = load_routing(&state.pool).await.map_err(|e| match e {
        LoadError::MatchType { .. } => ApiError::Internal(e.to_string()),
        other => ApiError::Unavailable(other.to_string()),
    })?;
    let snapshot =
        Snapshot::compile(data).map_err(|e| ApiError::Internal(format!("stored rules: {e}")))?;
    let environment = if snapshot.dev_hosts.contains(&event.hostname) {
        Environment::Dev
    } else {
        Environment::Prod
    };
    let answer = match decide(&snapshot, &event) {
        Decision::Handled {
            rule,
            environment,
            handling,
            forward,
        } => {
            let stored = super::rules::fetch(&state, rule.id).await?;
            json!({
                "matched": true,
                "rule": stored,
                "environment": environment.as_str(),
                "handling": handling,
                "forward": forward,
                "team": rule.team_assignment,
                "why": why(rule, &event),
            })
        }
        Decision::Unhandled => json!({
            "matched": false,
            "rule": null,
            "environment": environment.as_str(),
            "handling": null,
            "forward": false,
            "why": "no active rule matches: the alerter would count it as unhandled",
        }),
    };
    Ok(HttpResponse::Ok().json(answer))
}
