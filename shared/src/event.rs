//! The queue wire types: `Event` (on `mutt:ingest_queue`) and `Alert` (on
//! `mutt:alert_queue`), with the value types they are made of.
//!
//! Both keep fields they do not know (`extra`), because senders attach whatever they like
//! and v2.5 forwarded all of it in `raw_json`. Fields starting with `_` belong to the
//! system: the ingestor strips them from input and sets `_correlation_id` and
//! `_event_id`; workers set the retry counters.

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use std::fmt;
use uuid::Uuid;

/// An event's idempotency key: a UUIDv7, unique per event, used as the audit log's
/// `event_id` and as Moog's `external_id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventId(pub Uuid);

impl EventId {
    /// A new time-ordered id.
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }
}

impl Default for EventId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A syslog severity, 0 (emergency) to 7 (debug). On the wire it is the integer; on input
/// it may also be its decimal string or a name in any case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Severity(u8);

/// Why a value is not a syslog severity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("syslog_severity must be an integer 0-7 or a syslog severity name, got {0}")]
pub struct InvalidSeverity(pub String);

impl Severity {
    pub const EMERGENCY: Severity = Severity(0);
    pub const CRITICAL: Severity = Severity(2);
    pub const ERROR: Severity = Severity(3);
    pub const WARNING: Severity = Severity(4);
    pub const NOTICE: Severity = Severity(5);
    pub const INFO: Severity = Severity(6);
    pub const DEBUG: Severity = Severity(7);

    pub fn new(level: u8) -> Option<Self> {
        (level <= 7).then_some(Self(level))
    }

    pub fn level(self) -> u8 {
        self.0
    }

    /// A syslog keyword or a decimal string, case-insensitive.
    pub fn parse(text: &str) -> Result<Self, InvalidSeverity> {
        let t = text.trim();
        if let Ok(n) = t.parse::<u8>() {
            return Self::new(n).ok_or_else(|| InvalidSeverity(format!("{text:?}")));
        }
        let level = match t.to_ascii_lowercase().as_str() {
            "emerg" | "emergency" | "panic" => 0,
            "alert" => 1,
            "crit" | "critical" => 2,
            "err" | "error" => 3,
            "warning" | "warn" => 4,
            "notice" => 5,
            "info" | "informational" => 6,
            "debug" => 7,
            _ => return Err(InvalidSeverity(format!("{text:?}"))),
        };
        Ok(Self(level))
    }

    /// From any JSON value a sender may use: an integer or a string.
    pub fn from_json(value: &Value) -> Result<Self, InvalidSeverity> {
        match value {
            Value::Number(n) => n
                .as_u64()
                .and_then(|n| u8::try_from(n).ok())
                .and_then(Self::new)
                .ok_or_else(|| InvalidSeverity(n.to_string())),
            Value::String(s) => Self::parse(s),
            other => Err(InvalidSeverity(other.to_string())),
        }
    }

    /// The Moog severity of an alert for an event of this severity.
    pub fn moog_severity(self) -> MoogSeverity {
        match self.0 {
            0..=2 => MoogSeverity::Critical,
            3 => MoogSeverity::Major,
            4 => MoogSeverity::Warning,
            5 => MoogSeverity::Minor,
            _ => MoogSeverity::Info,
        }
    }
}

impl<'de> Deserialize<'de> for Severity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Self::from_json(&value).map_err(serde::de::Error::custom)
    }
}

/// The severity names of v2.5's alert and webhook payloads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MoogSeverity {
    Clear,
    Info,
    Minor,
    Warning,
    Major,
    Critical,
}

impl MoogSeverity {
    /// The number Moog's webhook expects (Critical 5 … Clear 0).
    pub fn moog_level(self) -> u8 {
        match self {
            MoogSeverity::Clear => 0,
            MoogSeverity::Info => 1,
            MoogSeverity::Minor => 2,
            MoogSeverity::Warning => 3,
            MoogSeverity::Major => 4,
            MoogSeverity::Critical => 5,
        }
    }
}

/// An event on the ingest queue.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub hostname: String,
    pub message: String,
    /// As the sender wrote it: an RFC 3339 string or epoch seconds/milliseconds.
    pub timestamp: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub syslog_severity: Option<Severity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trap_oid: Option<String>,
    #[serde(
        rename = "_correlation_id",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub correlation_id: Option<String>,
    /// Absent only on events queued by a v2.5 ingestor.
    #[serde(rename = "_event_id", default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<EventId>,
    #[serde(rename = "_retry_count", default, skip_serializing_if = "is_zero")]
    pub retry_count: u32,
    /// Every other field, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Event {
    /// The event's own time, if its `timestamp` can be read.
    pub fn time(&self) -> Option<DateTime<Utc>> {
        parse_timestamp(&self.timestamp)
    }
}

/// Reads an event timestamp: RFC 3339 (any number of fractional digits), or epoch seconds
/// or milliseconds as a number or a numeric string. Numbers above 10^11 are taken as
/// milliseconds (10^11 seconds is the year 5138).
pub fn parse_timestamp(value: &Value) -> Option<DateTime<Utc>> {
    const MILLIS_THRESHOLD: f64 = 1e11;
    let epoch = |n: f64| -> Option<DateTime<Utc>> {
        if !n.is_finite() || n < 0.0 {
            return None;
        }
        let millis = if n >= MILLIS_THRESHOLD { n } else { n * 1000.0 };
        Utc.timestamp_millis_opt(millis as i64).single()
    };
    match value {
        Value::Number(n) => n.as_f64().and_then(epoch),
        Value::String(s) => DateTime::parse_from_rfc3339(s.trim())
            .map(|t| t.with_timezone(&Utc))
            .ok()
            .or_else(|| s.trim().parse::<f64>().ok().and_then(epoch)),
        _ => None,
    }
}

/// An alert on the alert queue: v2.5's shape without `api_key`, plus `event_id`,
/// `rule_id` and a mapped `severity`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub hostname: String,
    pub team_assignment: String,
    pub severity: MoogSeverity,
    pub message_body: String,
    /// The whole ingest-queue event.
    pub raw_json: Value,
    #[serde(rename = "_correlation_id")]
    pub correlation_id: String,
    /// The triggering event's id: the webhook's `external_id`, for de-duplication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<EventId>,
    /// The matched rule; absent on unhandled-event meta-alerts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_id: Option<i32>,
    #[serde(rename = "_moog_retry_count", default, skip_serializing_if = "is_zero")]
    pub moog_retry_count: u32,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A correlation id from `X-Correlation-ID` when it is valid (at most 64 characters of
/// `[A-Za-z0-9._:-]`), else a new UUID. Both the ingest API and the management API keep
/// a caller's id this way.
pub fn correlation_id(header: Option<&str>) -> String {
    header
        .filter(|h| !h.is_empty() && h.len() <= 64)
        .filter(|h| {
            h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| Uuid::new_v4().to_string())
}

/// A JSON value's type as a 400 names it ("must be a string, not a number").
pub fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn severity_names_from_v25_senders_are_read_in_any_case() {
        for (name, level) in [
            ("Critical", 2),
            ("Notice", 5),
            ("Info", 6),
            ("WARNING", 4),
            ("warn", 4),
            ("err", 3),
            ("emerg", 0),
            ("informational", 6),
            ("7", 7),
            (" 3 ", 3),
        ] {
            assert_eq!(Severity::parse(name), Ok(Severity(level)), "{name}");
        }
        assert!(Severity::parse("8").is_err());
        assert!(Severity::parse("loud").is_err());
        assert_eq!(Severity::from_json(&json!(0)), Ok(Severity(0)));
        assert!(Severity::from_json(&json!(-1)).is_err());
        assert!(Severity::from_json(&json!(3.5)).is_err());
        assert!(Severity::from_json(&json!(true)).is_err());
    }

    #[test]
    fn syslog_severity_maps_to_moog_severity_as_specified() {
        let names: Vec<_> = (0..=7).map(|l| Severity(l).moog_severity()).collect();
        use MoogSeverity::*;
        assert_eq!(
            names,
            [
                Critical, Critical, Critical, Major, Warning, Minor, Info, Info
            ]
        );
    }

    #[test]
    fn an_event_keeps_unknown_fields_through_a_round_trip() {
        let text = r#"{"hostname":"r1","message":"LINK-DOWN","timestamp":"2025-11-12T10:00:00.1234567Z",
            "syslog_severity":"Critical","source_type":"syslog","nested":{"a":[1,2]},
            "_correlation_id":"c-1","_event_id":"0190b6f0-0000-7000-8000-000000000001","_retry_count":2}"#;
        let event: Event = serde_json::from_str(text).expect("valid event");
        assert_eq!(event.syslog_severity, Some(Severity::CRITICAL));
        assert_eq!(event.retry_count, 2);
        assert_eq!(event.extra["source_type"], "syslog");
        let back: Value = serde_json::to_value(&event).expect("serializable");
        assert_eq!(back["nested"], json!({"a": [1, 2]}));
        assert_eq!(back["syslog_severity"], 2);
        assert_eq!(back["_event_id"], "0190b6f0-0000-7000-8000-000000000001");
        assert_eq!(back["_retry_count"], 2);
    }

    #[test]
    fn timestamps_in_every_accepted_form_are_read() {
        let expect = Utc
            .with_ymd_and_hms(2025, 11, 12, 10, 0, 0)
            .single()
            .expect("valid");
        assert_eq!(
            parse_timestamp(&json!("2025-11-12T10:00:00Z")),
            Some(expect)
        );
        assert_eq!(
            parse_timestamp(&json!("2025-11-12T11:00:00+01:00")),
            Some(expect)
        );
        assert_eq!(
            parse_timestamp(&json!("2025-11-12T10:00:00.1234567Z")).map(|t| t.timestamp()),
            Some(expect.timestamp())
        );
        assert_eq!(parse_timestamp(&json!(expect.timestamp())), Some(expect));
        assert_eq!(
            parse_timestamp(&json!(expect.timestamp_millis())),
            Some(expect)
        );
        assert_eq!(parse_timestamp(&json!("1762941600")), Some(expect));
        assert_eq!(parse_timestamp(&json!("yesterday")), None);
        assert_eq!(parse_timestamp(&json!(-5)), None);
        assert_eq!(parse_timestamp(&json!(null)), None);
    }

    #[test]
    fn an_alert_has_no_api_key_and_carries_event_and_rule_ids() {
        let alert = Alert {
            hostname: "r1".into(),
            team_assignment: "NetOps".into(),
            severity: MoogSeverity::Critical,
            message_body: "LINK-DOWN".into(),
            raw_json: json!({"hostname": "r1"}),
            correlation_id: "c-1".into(),
            event_id: Some(EventId::new()),
            rule_id: Some(3),
            moog_retry_count: 0,
            extra: Map::new(),
        };
        let v = serde_json::to_value(&alert).expect("serializable");
        assert!(v.get("api_key").is_none());
        assert_eq!(v["severity"], "Critical");
        assert_eq!(v["rule_id"], 3);
        assert!(v["event_id"].is_string());
        assert!(v.get("_moog_retry_count").is_none());
    }

    #[test]
    fn correlation_ids_are_honoured_only_when_valid() {
        assert_eq!(correlation_id(Some("abc-123:x.y_z")), "abc-123:x.y_z");
        for bad in [Some(""), Some("has space"), Some("ü"), None] {
            let generated = correlation_id(bad);
            assert!(
                uuid::Uuid::parse_str(&generated).is_ok(),
                "{bad:?} -> {generated}"
            );
        }
        assert_ne!(correlation_id(Some(&"a".repeat(65))), "a".repeat(65));
    }
}
