//! Testing an event against the rules: which active rule it would match, and why,
//! decided by the alerter's own code (`shared::rules::routing`) over the rules as stored
//! now.

use super::AppState;
use super::rules::{self, RuleWithHits};
use crate::error::ApiError;
use serde::Serialize;
use serde_json::Value;
use shared::event::Event;
use shared::rules::routing::{Decision, Environment, Snapshot, decide, silenced_by};
use shared::rules::{MatchType, Rule};
use shared::store::rules::{LoadError, load_routing};

/// `POST /rules/test`'s body: an event as the ingest API takes it, any other fields kept
/// (fields starting with `_` belong to the system and are dropped, as the ingestor does).
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[allow(dead_code)] // A schema: the event is read as `shared::event::Event`.
pub struct TestEvent {
    hostname: String,
    message: String,
    /// RFC 3339 text or epoch seconds/milliseconds; now when absent.
    timestamp: Option<Value>,
    /// A level 0 to 7, or a syslog severity name such as `error`.
    syslog_severity: Option<Value>,
    trap_oid: Option<String>,
}

/// What the alerter would do with the event.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Trial {
    pub matched: bool,
    /// The stored rule that matched.
    pub rule: Option<RuleWithHits>,
    pub environment: &'static str,
    pub handling: Option<String>,
    pub forward: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// The active silence that would quiet it (then it is not forwarded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub silenced_by: Option<i32>,
    pub why: String,
}

/// The event a JSON object describes; a test event needs no time of its own.
pub fn event_of(mut value: Value) -> Result<Event, ApiError> {
    let object = value
        .as_object_mut()
        .ok_or_else(|| ApiError::bad("send an event: a JSON object"))?;
    object.retain(|name, _| !name.starts_with('_'));
    object
        .entry("timestamp")
        .or_insert_with(|| chrono::Utc::now().to_rfc3339().into());
    serde_json::from_value(value).map_err(|e| ApiError::bad(format!("not an event: {e}")))
}

/// What the alerter would decide for `event` over the rules stored now.
pub async fn run(state: &AppState, event: &Event) -> Result<Trial, ApiError> {
    let data = load_routing(&state.pool).await.map_err(|e| match e {
        LoadError::MatchType { .. } => ApiError::Internal(e.to_string()),
        other => ApiError::Unavailable(other.to_string()),
    })?;
    let snapshot =
        Snapshot::compile(data).map_err(|e| ApiError::Internal(format!("stored rules: {e}")))?;
    let decision = decide(&snapshot, event);
    let silence = silenced_by(&snapshot, event, &decision, chrono::Utc::now());
    let mut trial = match decision {
        Decision::Handled {
            rule,
            environment,
            handling,
            forward,
        } => Trial {
            matched: true,
            rule: Some(rules::get(state, rule.id).await?),
            environment: environment.as_str(),
            handling: Some(handling.to_owned()),
            forward,
            team: Some(rule.team_assignment.clone()),
            silenced_by: None,
            why: why(rule, event),
        },
        Decision::Unhandled => Trial {
            matched: false,
            rule: None,
            environment: if snapshot.dev_hosts.contains(&event.hostname) {
                Environment::Dev
            } else {
                Environment::Prod
            }
            .as_str(),
            handling: None,
            forward: false,
            team: None,
            silenced_by: None,
            why: "no active rule matches: the alerter would count it as unhandled".into(),
        },
    };
    if let Some(id) = silence {
        trial.forward = false;
        trial.silenced_by = Some(id);
        trial.why = format!(
            "silence {id} is active and matches it: it would be audited as silenced, not \
             forwarded nor counted as unhandled (without it: {})",
            trial.why
        );
    }
    Ok(trial)
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
