//! Turning a request body into events ready for the queue, without IO.
//!
//! A body is one JSON object, a JSON array of objects, or NDJSON (one object per line, as
//! rsyslog `omhttp` posts it, often labelled `application/json`). Each item is validated on
//! its own: a batch queues its valid items and reports the rest by index.

use serde_json::{Map, Value};
use shared::config::IngestLimits;
use shared::event::{EventId, Severity, parse_timestamp};

/// The fields every event must have, whatever `REQUIRED_FIELDS` says: the alerter cannot
/// route an event without them.
const CORE_FIELDS: [&str; 3] = ["hostname", "message", "timestamp"];

/// One event, as `POST /ingest` takes it (alone, in an array, or as a line of NDJSON).
/// Fields besides these are kept and forwarded; fields starting with `_` belong to the
/// system and are dropped. `REQUIRED_FIELDS` may require more fields than these three.
// A schema for the OpenAPI document: `validate` reads the event field by field.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct IngestEvent {
    #[schema(pattern = "\\S")]
    hostname: String,
    /// At most `INGEST_MAX_MESSAGE_BYTES` bytes (413 beyond).
    #[schema(pattern = "\\S")]
    message: String,
    #[schema(schema_with = timestamp_schema)]
    timestamp: Value,
    #[schema(schema_with = severity_schema)]
    syslog_severity: Option<Value>,
    /// A dotted OID such as `1.3.6.1.4.1.9`, with an optional leading dot.
    #[schema(pattern = "^\\.?[0-9]+(\\.[0-9]+)*$")]
    trap_oid: Option<String>,
}

/// RFC 3339 text, or epoch seconds or milliseconds (as a number or numeric text).
fn timestamp_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
    OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::String))
        .item(ObjectBuilder::new().schema_type(Type::Number).minimum(Some(0)))
        .description(Some(
            "RFC 3339 text, or epoch seconds or milliseconds (numbers above 10^11 are milliseconds)",
        ))
        .into()
}

/// `null`, a level 0 to 7, or a syslog severity name in any case (`error`, `WARN` …).
fn severity_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
    OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0))
                .maximum(Some(7)),
        )
        .item(ObjectBuilder::new().schema_type(Type::String))
        .description(Some(
            "A level 0 (emergency) to 7 (debug), or its name in any case (`error`, `WARN` …)",
        ))
        .into()
}

/// How the body was shaped: a single object gets v2.5's single-event response.
#[derive(Clone, Debug, PartialEq)]
pub enum Body {
    Single(Value),
    Batch(Vec<Result<Value, ItemError>>),
}

/// Why a whole request is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("Invalid JSON: {0}")]
    Json(String),
    #[error("Invalid JSON: expected an object, an array of objects, or NDJSON")]
    NotObjectOrArray,
    #[error("Invalid body: not UTF-8 text")]
    NotUtf8,
    #[error("batch too large: {count} events, the limit is {limit} (INGEST_MAX_BATCH_EVENTS)")]
    TooManyEvents { count: usize, limit: usize },
    #[error("empty batch: no events")]
    Empty,
}

impl BodyError {
    /// 413 for the size limits, 400 for the rest.
    pub fn status(&self) -> u16 {
        match self {
            BodyError::TooManyEvents { .. } => 413,
            _ => 400,
        }
    }
}

/// Why one event is refused; the message names the field or the limit.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ItemError {
    pub message: String,
    /// 413 when a size limit was exceeded, else 400.
    pub status: u16,
}

impl ItemError {
    fn invalid(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            status: 400,
        }
    }
}

/// Decodes `bytes`. `ndjson_declared` is true for `Content-Type: application/x-ndjson`.
pub fn decode_body(
    bytes: &[u8],
    ndjson_declared: bool,
    limits: &IngestLimits,
) -> Result<Body, BodyError> {
    let text = std::str::from_utf8(bytes).map_err(|_| BodyError::NotUtf8)?;
    let items = if ndjson_declared {
        ndjson(text)
    } else {
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Array(items)) => items.into_iter().map(Ok).collect(),
            Ok(value @ Value::Object(_)) => return Ok(Body::Single(value)),
            Ok(_) => return Err(BodyError::NotObjectOrArray),
            // Several values on separate lines: NDJSON sent as application/json.
            Err(e) if e.is_syntax() && text.trim().contains('\n') && looks_like_ndjson(text) => {
                ndjson(text)
            }
            Err(e) => return Err(BodyError::Json(e.to_string())),
        }
    };
    if items.is_empty() {
        return Err(BodyError::Empty);
    }
    if items.len() > limits.max_batch_events {
        return Err(BodyError::TooManyEvents {
            count: items.len(),
            limit: limits.max_batch_events,
        });
    }
    Ok(Body::Batch(items))
}

fn looks_like_ndjson(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .is_some_and(|l| l.starts_with('{'))
}

fn ndjson(text: &str) -> Vec<Result<Value, ItemError>> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(|line| {
            serde_json::from_str(line).map_err(|e| ItemError::invalid(format!("Invalid JSON: {e}")))
        })
        .collect()
}

/// An event ready for the queue.
#[derive(Clone, Debug, PartialEq)]
pub struct ValidEvent {
    pub event_id: EventId,
    /// The JSON written to the queue.
    pub payload: String,
}

/// Validates one item and stamps it. `required` is `REQUIRED_FIELDS`.
pub fn validate(
    item: Value,
    required: &[String],
    limits: &IngestLimits,
    correlation_id: &str,
) -> Result<ValidEvent, ItemError> {
    let Value::Object(input) = item else {
        return Err(ItemError::invalid("Invalid event: expected a JSON object"));
    };
    // Fields starting with `_` belong to the system: a client cannot set them.
    let mut event: Map<String, Value> = input
        .into_iter()
        .filter(|(k, _)| !k.starts_with('_'))
        .collect();

    let mut missing: Vec<&str> = Vec::new();
    for field in CORE_FIELDS
        .iter()
        .copied()
        .chain(required.iter().map(String::as_str))
    {
        if !event.contains_key(field) && !missing.contains(&field) {
            missing.push(field);
        }
    }
    if !missing.is_empty() {
        return Err(ItemError::invalid(format!(
            "Missing required fields: {missing:?}"
        )));
    }
    for field in ["hostname", "message"] {
        match &event[field] {
            // The hostname is a column of the audit table, and PostgreSQL cannot store a
            // NUL character: refused here rather than dead-lettered by the alerter.
            Value::String(s) if field == "hostname" && s.contains('\0') => {
                return Err(ItemError::invalid(
                    "Invalid field 'hostname': must not contain a NUL character",
                ));
            }
            Value::String(s) if !s.trim().is_empty() => {}
            Value::String(_) => {
                return Err(ItemError::invalid(format!(
                    "Invalid field '{field}': must not be empty"
                )));
            }
            other => {
                return Err(ItemError::invalid(format!(
                    "Invalid field '{field}': expected a string, got {}",
                    shared::event::json_kind(other)
                )));
            }
        }
    }
    if parse_timestamp(&event["timestamp"]).is_none() {
        return Err(ItemError::invalid(
            "Invalid field 'timestamp': expected RFC 3339 text or epoch seconds/milliseconds",
        ));
    }
    if let Some(severity) = event.get("syslog_severity").filter(|v| !v.is_null()) {
        let level = Severity::from_json(severity)
            .map_err(|e| ItemError::invalid(format!("Invalid field 'syslog_severity': {e}")))?;
        event.insert("syslog_severity".into(), level.level().into());
    }
    if let Some(oid) = event.get("trap_oid").filter(|v| !v.is_null()) {
        let valid = oid.as_str().is_some_and(is_oid);
        if !valid {
            return Err(ItemError::invalid(
                "Invalid field 'trap_oid': expected a dotted OID such as 1.3.6.1.4.1.9",
            ));
        }
    }
    let message_len = event["message"].as_str().map_or(0, str::len);
    if message_len > limits.max_message_bytes {
        return Err(ItemError {
            message: format!(
                "Field 'message' is {message_len} bytes, the limit is {} (INGEST_MAX_MESSAGE_BYTES)",
                limits.max_message_bytes
            ),
            status: 413,
        });
    }

    let event_id = EventId::new();
    event.insert("_correlation_id".into(), correlation_id.into());
    event.insert("_event_id".into(), event_id.to_string().into());
    let payload = Value::Object(event).to_string();
    if payload.len() > limits.max_event_bytes {
        return Err(ItemError {
            message: format!(
                "Event is {} bytes, the limit is {} (INGEST_MAX_EVENT_BYTES)",
                payload.len(),
                limits.max_event_bytes
            ),
            status: 413,
        });
    }
    Ok(ValidEvent { event_id, payload })
}

/// Digits separated by single dots, with an optional leading dot.
fn is_oid(text: &str) -> bool {
    let body = text.strip_prefix('.').unwrap_or(text);
    !body.is_empty()
        && body
            .split('.')
            .all(|arc| !arc.is_empty() && arc.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests;
