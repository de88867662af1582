//! What to do with one event, without IO (reference §4.4–4.5, SPEC §4–5): which rule,
//! which environment, which handling, whether to forward; and the alert it produces.

use crate::cache::Snapshot;
use serde_json::{Map, Value};
use shared::event::{Alert, Event, EventId, MoogSeverity};
use shared::keys::RedisKeys;
use shared::rules::{EventView, Rule, Verdict};

/// The handlings that send an alert to Moog (compared case-insensitively).
const FORWARDING_HANDLINGS: [&str; 3] = ["page_and_ticket", "page_only", "ticket_only"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    Prod,
    Dev,
}

impl Environment {
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Prod => "prod",
            Environment::Dev => "dev",
        }
    }
}

/// The routing decision for one event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision<'s> {
    Handled {
        rule: &'s Rule,
        environment: Environment,
        handling: &'s str,
        forward: bool,
    },
    Unhandled,
}

/// Whether a handling text means "send to Moog".
pub fn forwards(handling: &str) -> bool {
    FORWARDING_HANDLINGS
        .iter()
        .any(|h| h.eq_ignore_ascii_case(handling.trim()))
}

pub fn decide<'s>(snapshot: &'s Snapshot, event: &Event) -> Decision<'s> {
    let view = EventView {
        message: &event.message,
        trap_oid: event.trap_oid.as_deref(),
        syslog_severity: event.syslog_severity,
    };
    match snapshot.rules.evaluate(&view) {
        Verdict::Unmatched => Decision::Unhandled,
        Verdict::Matched(rule) => {
            // v2.5: exact, case-sensitive hostname comparison.
            let environment = if snapshot.dev_hosts.contains(&event.hostname) {
                Environment::Dev
            } else {
                Environment::Prod
            };
            let handling = match environment {
                Environment::Dev => rule.dev_handling.as_str(),
                Environment::Prod => rule.prod_handling.as_str(),
            };
            Decision::Handled {
                rule,
                environment,
                handling,
                forward: forwards(handling),
            }
        }
    }
}

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
/// `source_hostname`, so the forwarder can give each host its own signature (SPEC §5).
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
