//! Dead letters: what a dead-lettered message looks like (the original JSON object plus
//! top-level metadata, or `{"raw": "<text>", …metadata}` when it was not a JSON object),
//! and the operators' tools over the DLQs ([`Dlq`]).

mod dlq;

pub use dlq::{Dlq, DlqError, DlqName, ExpiryReport, REPLAY_CHUNK, ReplayReport};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};

/// Why a message is being given up on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub reason: String,
    /// How many times processing was attempted.
    pub attempts: u32,
    /// The webhook's last answer, where there was one.
    pub last_http_status: Option<u16>,
}

impl Failure {
    pub fn new(reason: impl Into<String>, attempts: u32) -> Self {
        Self {
            reason: reason.into(),
            attempts,
            last_http_status: None,
        }
    }
}

/// The DLQ entry for `item`. Metadata keys overwrite same-named keys of the original, so
/// that the entry always says truthfully why and when it failed.
pub fn dead_letter_payload(
    item: &[u8],
    failure: &Failure,
    service: &str,
    now: DateTime<Utc>,
) -> String {
    let mut object = match serde_json::from_slice::<Value>(item) {
        Ok(Value::Object(map)) => map,
        _ => {
            let mut map = Map::new();
            map.insert(
                "raw".into(),
                Value::String(String::from_utf8_lossy(item).into_owned()),
            );
            map
        }
    };
    object.insert(
        "failed_at".into(),
        now.to_rfc3339_opts(SecondsFormat::Millis, true).into(),
    );
    object.insert("failure_reason".into(), failure.reason.clone().into());
    object.insert("failed_service".into(), service.into());
    object.insert("attempts".into(), failure.attempts.into());
    if let Some(status) = failure.last_http_status {
        object.insert("last_http_status".into(), status.into());
    }
    Value::Object(object).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0)
            .single()
            .expect("valid")
    }

    #[test]
    fn an_object_keeps_its_fields_and_gains_metadata() {
        let failure = Failure {
            reason: "webhook 400".into(),
            attempts: 1,
            last_http_status: Some(400),
        };
        let out = dead_letter_payload(
            br#"{"hostname":"r1","attempts":"x"}"#,
            &failure,
            "moog-forwarder",
            now(),
        );
        let v: Value = serde_json::from_str(&out).expect("json");
        assert_eq!(
            v,
            json!({"hostname": "r1", "failed_at": "2026-11-22T12:00:00.000Z", "failure_reason": "webhook 400",
                   "failed_service": "moog-forwarder", "attempts": 1, "last_http_status": 400})
        );
    }

    #[test]
    fn invalid_json_and_non_objects_are_wrapped_as_raw() {
        let failure = Failure::new("invalid JSON", 1);
        for (item, raw) in [
            (&b"{not json"[..], "{not json"),
            (&b"[1,2]"[..], "[1,2]"),
            (&b"\xff\xfe"[..], "\u{fffd}\u{fffd}"),
        ] {
            let v: Value =
                serde_json::from_str(&dead_letter_payload(item, &failure, "alerter", now()))
                    .expect("json");
            assert_eq!(v["raw"], raw);
            assert_eq!(v["failed_service"], "alerter");
            assert!(v.get("last_http_status").is_none());
        }
    }
}
