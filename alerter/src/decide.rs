//! What the alerter does with each event, without IO: decode the queue item, decide
//! (which rule and handling apply is `shared::rules::routing`, shared with the web UI's
//! rule test), the audit row, and the alerts and meta-alerts it produces.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use shared::event::{Alert, Event, EventId, MoogSeverity};
use shared::queue::Failure;
use shared::redis::keys::RedisKeys;
use shared::rules::Rule;
use shared::rules::routing::{Decision, Snapshot, decide, silenced_by};
use shared::store::audit::AuditRow;

/// Ids for events queued by a v2.5 ingestor (no `_event_id`): derived from the item's
/// bytes, so that re-processing the same item gives the same id.
const LEGACY_EVENT_NAMESPACE: uuid::Uuid =
    uuid::Uuid::from_u128(0x6d75_7474_2d72_732d_6576_656e_7400_0001);

/// The audit decision of an event a silence quieted.
pub const SILENCED: &str = "silenced";

/// An event that decoded, with what to do about it.
#[derive(Debug)]
pub struct Plan {
    /// Its index in the batch.
    pub item: usize,
    pub event: Event,
    pub raw: Value,
    pub event_id: EventId,
    pub time: DateTime<Utc>,
    pub action: Action,
}

#[derive(Debug)]
pub enum Action {
    Handled {
        rule_id: i32,
        handling: String,
        /// The alert to forward, when the handling forwards.
        alert: Option<Box<Alert>>,
    },
    /// A silence quiets it: audited, not forwarded, not counted as unhandled.
    Silenced {
        /// The rule it matched, if any.
        rule_id: Option<i32>,
        silence_id: i32,
    },
    Unhandled,
}

impl Action {
    /// The rule the event matched, silenced or not.
    pub fn rule_id(&self) -> Option<i32> {
        match self {
            Action::Handled { rule_id, .. } => Some(*rule_id),
            Action::Silenced { rule_id, .. } => *rule_id,
            Action::Unhandled => None,
        }
    }
}

/// Decodes and decides item `index` of a batch at `now` (which silences are active);
/// `Err` is why it must go to the DLQ now (not JSON, not an event, retried more than
/// `max_retries` times, no readable time).
pub fn plan(
    index: usize,
    item: &[u8],
    snapshot: &Snapshot,
    max_retries: u32,
    now: DateTime<Utc>,
) -> Result<Plan, Failure> {
    let raw: Value =
        serde_json::from_slice(item).map_err(|e| Failure::new(format!("invalid JSON: {e}"), 1))?;
    let event: Event = serde_json::from_value(raw.clone())
        .map_err(|e| Failure::new(format!("not an event: {e}"), 1))?;
    if event.retry_count > max_retries {
        return Err(Failure::new(
            "exceeded ALERTER_MAX_RETRIES",
            event.retry_count,
        ));
    }
    let time = event
        .time()
        .ok_or_else(|| Failure::new("unreadable timestamp", event.retry_count + 1))?;
    let event_id = event
        .event_id
        .unwrap_or_else(|| EventId(uuid::Uuid::new_v5(&LEGACY_EVENT_NAMESPACE, item)));
    let decision = decide(snapshot, &event);
    let silence = silenced_by(snapshot, &event, &decision, now);
    let action = match (silence, decision) {
        (Some(silence_id), decision) => Action::Silenced {
            rule_id: decision.rule().map(|r| r.id),
            silence_id,
        },
        (
            None,
            Decision::Handled {
                rule,
                handling,
                forward,
                ..
            },
        ) => Action::Handled {
            rule_id: rule.id,
            handling: handling.to_owned(),
            alert: forward.then(|| Box::new(alert_for(&event, event_id, rule, &raw))),
        },
        (None, Decision::Unhandled) => Action::Unhandled,
    };
    Ok(Plan {
        item: index,
        event,
        raw,
        event_id,
        time,
        action,
    })
}

impl Plan {
    /// The event's audit row; none for an unhandled event unless `AUDIT_UNHANDLED`. A
    /// silenced event is always audited, so that what a silence quieted can be found.
    pub fn audit_row(&self, audit_unhandled: bool) -> Option<AuditRow> {
        let (rule, handling, forwarded, silence) = match &self.action {
            Action::Handled {
                rule_id,
                handling,
                alert,
            } => (Some(*rule_id), handling.clone(), alert.is_some(), None),
            Action::Silenced {
                rule_id,
                silence_id,
            } => (*rule_id, SILENCED.to_owned(), false, Some(*silence_id)),
            Action::Unhandled if audit_unhandled => (None, "unhandled".to_owned(), false, None),
            Action::Unhandled => return None,
        };
        Some(AuditRow {
            event_id: self.event_id.0,
            event_timestamp: self.time,
            hostname: self.event.hostname.clone(),
            matched_rule_id: rule,
            handling_decision: handling,
            forwarded_to_moog: forwarded,
            raw_message: self.raw.to_string(),
            silence_id: silence,
        })
    }
}

fn severity(event: &Event) -> MoogSeverity {
    event
        .syslog_severity
        .map_or(MoogSeverity::Warning, |s| s.moog_severity())
}

/// v2.5's `unknown` for an event that carried no correlation id.
fn correlation_of(event: &Event) -> String {
    event
        .correlation_id
        .clone()
        .unwrap_or_else(|| "unknown".into())
}

/// The alert for a handled event.
pub fn alert_for(event: &Event, event_id: EventId, rule: &Rule, raw: &Value) -> Alert {
    Alert {
        hostname: event.hostname.clone(),
        team_assignment: rule.team_assignment.clone(),
        severity: severity(event),
        message_body: event.message.clone(),
        raw_json: raw.clone(),
        correlation_id: correlation_of(event),
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
        correlation_id: correlation_of(event),
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
