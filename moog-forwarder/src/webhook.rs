//! The Moog webhook request and what its answer means, without IO.

use serde_json::{Value, json};
use shared::event::{Alert, parse_timestamp};
use std::time::Duration;

/// How the signature of a handled alert is built; placeholders `{hostname}`, `{rule_id}`,
/// `{team}`. v2.5 used the bare hostname, which merged every alert of a host into one.
pub const DEFAULT_SIGNATURE_TEMPLATE: &str = "{hostname}:{rule_id}";

/// The JSON body POSTed to Moog for `alert`. `now` stands in for `agent_time` when the
/// event's own time cannot be read.
pub fn payload(alert: &Alert, signature_template: &str, now_epoch_secs: i64) -> Value {
    let or_unknown = |s: &str, fallback: &str| {
        if s.is_empty() {
            fallback.to_owned()
        } else {
            s.to_owned()
        }
    };
    let hostname = or_unknown(&alert.hostname, "unknown");
    let signature = match alert.rule_id {
        Some(rule_id) => signature_template
            .replace("{hostname}", &hostname)
            .replace("{rule_id}", &rule_id.to_string())
            .replace("{team}", &alert.team_assignment),
        // Meta-alerts: one signature per source host, not one for all.
        None => {
            let source = alert
                .extra
                .get("source_hostname")
                .and_then(Value::as_str)
                .unwrap_or("unknown");
            format!("{hostname}:{source}")
        }
    };
    let external_id = alert
        .event_id
        .map_or_else(|| alert.correlation_id.clone(), |id| id.to_string());
    let agent_time = alert
        .raw_json
        .get("timestamp")
        .and_then(parse_timestamp)
        .map_or(now_epoch_secs, |t| t.timestamp());
    let mut body = json!({
        "signature": signature,
        "source_id": hostname,
        "external_id": external_id,
        "manager": "MUTT",
        "source": "MUTT Alerter",
        "class": or_unknown(&alert.team_assignment, "Unknown"),
        "agent": "MUTT v2.3",
        "agent_location": "Alerter Service",
        "type": "Alert",
        "severity": alert.severity.moog_level(),
        "description": alert.message_body,
        "agent_time": agent_time,
    });
    if !alert.raw_json.is_null() {
        body["custom_info"] = alert.raw_json.clone();
    }
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
