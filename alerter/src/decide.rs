//! The alerts the alerter produces, without IO. Which rule
//! and handling apply is `shared::rules::routing` (shared with the web UI's rule test).

use serde_json::{Map, Value};
use shared::event::{Alert, Event, EventId, MoogSeverity};
use shared::redis::keys::RedisKeys;
use shared::rules::Rule;
pub use shared::rules::routing::{Decision, Environment, decide, forwards};

fn severity(event: &Event) -> MoogSeverity {
    event
        .syslog_severity
        .map_or(MoogSeverity::Warning, |s| s.moog_severity())
}

/// The alert for a handled event.
pub fn alert_for(event: &Event, event_id: EventId, rule: &Rule, raw: &Value) -> Alert {
    Alert {
        hostname: event.hostname.clone(),
        team_assignment: rule.team_assignment.clone(),
        severity: severity(event),
        message_body: event.message.clone(),
        raw_json: raw.clone(),
        correlation_id: event
            .correlation_id
            .clone()
            .unwrap_or_else(|| "unknown".into()),
        event_id: Some(event_id),
        rule_id: Some(rule.id),
        moog_retry_count: 0,
        extra: Map::new(),
    }
}

/// The meta-alert for a host that sent the same unhandled message `threshold` times.
/// `hostname` stays v2.5's `MUTT_Alerter`; the source host is in `raw_json` and in
/// `source_hostname`, so the forwarder can give each host its own signature.
pub fn meta_alert(
    event: &Event,
    event_id: EventId,
    team: &str,
    threshold: u64,
    expiry_secs: u64,
    raw: &Value,
) -> Alert {
    let sample: String = event.message.chars().take(200).collect();
    let mut extra = Map::new();
    extra.insert("source_hostname".into(), event.hostname.clone().into());
    Alert {
        hostname: "MUTT_Alerter".into(),
        team_assignment: team.to_owned(),
        severity: MoogSeverity::Warning,
        message_body: format!(
            "[MUTT] Detected {threshold} unhandled messages in {expiry_secs}s from '{}'. Sample message: {sample}",
            event.hostname
        ),
        raw_json: raw.clone(),
        correlation_id: event
            .correlation_id
            .clone()
            .unwrap_or_else(|| "unknown".into()),
        event_id: Some(event_id),
        rule_id: None,
        moog_retry_count: 0,
        extra,
    }
}

/// v2.5's counter key: `mutt:unhandled:<hostname>:<first 16 hex of SHA-1(message)>`.
pub fn unhandled_key(keys: &RedisKeys, hostname: &str, message: &str) -> String {
    let digest = sha1_smol::Sha1::from(message.as_bytes())
        .digest()
        .to_string();
    format!("{}:{hostname}:{}", keys.unhandled_prefix, &digest[..16])
}

#[cfg(test)]
mod tests;
