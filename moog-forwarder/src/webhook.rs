//! The Moog webhook request and what its answer means, without IO.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use shared::event::{Alert, EventId, MoogSeverity, parse_timestamp};
use std::borrow::Cow;
use std::time::Duration;

/// How the signature of a handled alert is built; placeholders `{hostname}`, `{rule_id}`,
/// `{team}`. v2.5 used the bare hostname, which merged every alert of a host into one.
pub const DEFAULT_SIGNATURE_TEMPLATE: &str = "{hostname}:{rule_id}";

/// What delivery reads of an alert, borrowed from the queue item's bytes. Building no
/// tree of the embedded event (`raw_json` stays raw text, copied into `custom_info` as it
/// is) halved the forwarder's JSON work per alert (docs/benchmarks.md, "Explain the gap").
/// It requires what [`Alert`] requires, so an item is "not an alert" for both alike.
#[derive(Debug, Deserialize)]
pub struct AlertView<'a> {
    #[serde(borrow)]
    pub hostname: Cow<'a, str>,
    #[serde(borrow)]
    pub team_assignment: Cow<'a, str>,
    pub severity: MoogSeverity,
    #[serde(borrow)]
    pub message_body: Cow<'a, str>,
    #[serde(borrow)]
    pub raw_json: &'a RawValue,
    #[serde(rename = "_correlation_id", borrow)]
    pub correlation_id: Cow<'a, str>,
    #[serde(default)]
    pub event_id: Option<EventId>,
    #[serde(default)]
    pub rule_id: Option<i32>,
    #[serde(rename = "_moog_retry_count", default)]
    pub moog_retry_count: u32,
    /// Meta-alerts name the host whose events went unhandled.
    #[serde(default, borrow)]
    pub source_hostname: Option<Cow<'a, str>>,
}

/// The JSON body POSTed to Moog. Fields in alphabetical order: the bytes are those v2.5's
/// (and this project's earlier) map-built body had.
#[derive(Debug, Serialize)]
pub struct Payload<'a> {
    agent: &'static str,
    agent_location: &'static str,
    agent_time: i64,
    class: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    custom_info: Option<&'a RawValue>,
    description: &'a str,
    external_id: String,
    manager: &'static str,
    severity: u8,
    signature: String,
    source: &'static str,
    source_id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
}

/// The body for `alert`. `now` stands in for `agent_time` when the event's own time cannot
/// be read.
pub fn payload<'a>(
    alert: &'a AlertView<'a>,
    signature_template: &str,
    now_epoch_secs: i64,
) -> Payload<'a> {
    let or = |s: &'a str, fallback: &'static str| if s.is_empty() { fallback } else { s };
    let hostname = or(&alert.hostname, "unknown");
    Payload {
        agent: "MUTT v2.3",
        agent_location: "Alerter Service",
        agent_time: agent_time(alert, now_epoch_secs),
        class: or(&alert.team_assignment, "Unknown"),
        custom_info: (alert.raw_json.get() != "null").then_some(alert.raw_json),
        description: &alert.message_body,
        external_id: external_id(alert),
        manager: "MUTT",
        severity: alert.severity.moog_level(),
        signature: signature(alert, signature_template),
        source: "MUTT Alerter",
        source_id: hostname,
        kind: "Alert",
    }
}

/// Moog's `signature` of `alert`: alerts with the same one are one Moog alert.
pub fn signature(alert: &AlertView<'_>, signature_template: &str) -> String {
    let hostname = if alert.hostname.is_empty() {
        "unknown"
    } else {
        &alert.hostname
    };
    match alert.rule_id {
        Some(rule_id) => signature_template
            .replace("{hostname}", hostname)
            .replace("{rule_id}", &rule_id.to_string())
            .replace("{team}", &alert.team_assignment),
        // Meta-alerts: one signature per source host, not one for all.
        None => format!(
            "{hostname}:{}",
            alert.source_hostname.as_deref().unwrap_or("unknown")
        ),
    }
}

/// The event's own time (epoch seconds), `now` when it cannot be read.
pub fn agent_time(alert: &AlertView<'_>, now_epoch_secs: i64) -> i64 {
    /// The one field of the event the body needs; the rest is skipped, not built.
    #[derive(Deserialize)]
    struct Stamp {
        #[serde(default)]
        timestamp: Option<Value>,
    }
    serde_json::from_str::<Stamp>(alert.raw_json.get())
        .ok()
        .and_then(|s| s.timestamp)
        .as_ref()
        .and_then(parse_timestamp)
        .map_or(now_epoch_secs, |t| t.timestamp())
}

/// The id Moog de-duplicates on: the event's id (its correlation id for v2.5's alerts).
pub fn external_id(alert: &AlertView<'_>) -> String {
    alert
        .event_id
        .map_or_else(|| alert.correlation_id.to_string(), |id| id.to_string())
}

/// The body for alerts of one signature sent once (`MOOG_COALESCE_WINDOW`): the first
/// alert's body, its `custom_info` carrying `mutt_coalesced`: how many, the first and last
/// event times, and every event id (the first is the body's `external_id`).
pub fn coalesced(first: Payload<'_>, members: &[(String, i64)]) -> Value {
    let mut body = serde_json::to_value(first).expect("payloads serialise");
    let times = members.iter().map(|(_, t)| *t);
    let folded = serde_json::json!({
        "count": members.len(),
        "first_time": times.clone().min(),
        "last_time": times.max(),
        "event_ids": members.iter().map(|(id, _)| id).collect::<Vec<_>>(),
    });
    match body.get_mut("custom_info") {
        Some(Value::Object(info)) => {
            info.insert("mutt_coalesced".into(), folded);
        }
        _ => body["custom_info"] = serde_json::json!({ "mutt_coalesced": folded }),
    }
    body
}

/// The body delivery sends for `alert`, as JSON: the same path as delivery (serialised
/// alert → [`AlertView`] → [`Payload`]), for tests and tools that hold an [`Alert`].
pub fn payload_for(alert: &Alert, signature_template: &str, now_epoch_secs: i64) -> Value {
    let bytes = serde_json::to_vec(alert).expect("alerts serialise");
    let view: AlertView = serde_json::from_slice(&bytes).expect("an alert reads as a view");
    serde_json::to_value(payload(&view, signature_template, now_epoch_secs))
        .expect("payloads serialise")
}

/// The body of a POST carrying several alerts (`MOOG_BATCH_SIZE` > 1): the Moogsoft
/// events API's array form, `{"events": [payload, …]}`, built from the payloads' bytes.
pub fn batch_body(payloads: &[Vec<u8>]) -> Vec<u8> {
    let length = payloads.iter().map(Vec::len).sum::<usize>() + payloads.len() + 12;
    let mut body = Vec::with_capacity(length);
    body.extend_from_slice(b"{\"events\":[");
    for (i, payload) in payloads.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(payload);
    }
    body.extend_from_slice(b"]}");
    body
}

/// What a delivery attempt came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Any 2xx.
    Accepted,
    /// 408, 429, 5xx, a timeout or a connection failure: try again, after `after` when
    /// the server said so (`Retry-After`).
    Retry {
        status: Option<u16>,
        after: Option<Duration>,
    },
    /// Any other answer: the request itself is wrong; retrying cannot help.
    Rejected { status: u16 },
}

/// Classifies an HTTP answer. `retry_after` is the `Retry-After` header, if any.
pub fn classify(status: u16, retry_after: Option<&str>) -> Delivery {
    match status {
        200..=299 => Delivery::Accepted,
        408 | 429 | 500..=599 => Delivery::Retry {
            status: Some(status),
            after: retry_after.and_then(parse_retry_after),
        },
        _ => Delivery::Rejected { status },
    }
}

/// A timeout or a connection failure.
pub fn transport_failure() -> Delivery {
    Delivery::Retry {
        status: None,
        after: None,
    }
}

/// `Retry-After` in seconds (the HTTP-date form is not used by Moog and is ignored).
fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Exponential backoff with jitter for retry number `attempt` (0 for the first retry):
/// `base · 2^attempt`, capped at `max`, then scaled into [½, 1) by `jitter` ∈ [0, 1) so
/// that forwarders do not retry in lockstep. A server's `Retry-After` is a floor.
pub fn retry_delay(
    attempt: u32,
    base: Duration,
    max: Duration,
    jitter: f64,
    retry_after: Option<Duration>,
) -> Duration {
    let exponential = base
        .saturating_mul(2u32.saturating_pow(attempt.min(31)))
        .min(max);
    let jittered = exponential.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0));
    retry_after.map_or(jittered, |floor| jittered.max(floor))
}

#[cfg(test)]
mod tests;
