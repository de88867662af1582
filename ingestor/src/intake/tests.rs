use super::*;
use serde_json::json;

fn limits() -> IngestLimits {
    IngestLimits {
        max_body_bytes: 1 << 20,
        max_event_bytes: 64 << 10,
        max_message_bytes: 16 << 10,
        max_batch_events: 10_000,
    }
}

fn required() -> Vec<String> {
    ["hostname", "message", "timestamp"]
        .map(String::from)
        .to_vec()
}

fn ok(item: Value) -> Value {
    let valid = validate(item, &required(), &limits(), "corr-1").expect("valid event");
    let v: Value = serde_json::from_str(&valid.payload).expect("json");
    assert_eq!(v["_event_id"], valid.event_id.to_string());
    v
}

fn refused(item: Value) -> ItemError {
    validate(item, &required(), &limits(), "corr-1").expect_err("must be refused")
}

fn event() -> Value {
    json!({"hostname": "r1", "message": "LINK-DOWN", "timestamp": "2025-11-12T10:00:00Z"})
}

/// A file of the project's sample corpus (`data/corpus/`, made by `scripts/gen-corpus`).
fn corpus(file: &str) -> Vec<Value> {
    let path = format!("{}/../data/corpus/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).expect("corpus file is a JSON array")
}

#[test]
fn every_corpus_event_is_accepted_with_its_severity_normalised() {
    let events = corpus("events.json");
    assert!(events.len() >= 1000);
    let (mut named, mut numbered) = (0, 0);
    for item in events {
        let given = item["syslog_severity"].clone();
        let v = ok(item);
        let level = v["syslog_severity"].as_u64().expect("stored as an integer");
        match given {
            Value::String(name) => {
                named += 1;
                assert_eq!(
                    Severity::parse(&name).map(Severity::level),
                    Ok(level as u8),
                    "{name}"
                );
            }
            Value::Number(n) => {
                numbered += 1;
                assert_eq!(n.as_u64(), Some(level), "a number is kept");
            }
            other => panic!("unexpected severity {other}"),
        }
        assert_eq!(v["_correlation_id"], "corr-1");
    }
    assert!(named > 0 && numbered > 0, "both forms occur in the corpus");
}

#[test]
fn raw_snmp_traps_without_hostname_or_message_are_refused_naming_the_fields() {
    let trap = corpus("traps.json").remove(0);
    let e = refused(trap);
    assert_eq!(e.status, 400);
    assert_eq!(
        e.message,
        r#"Missing required fields: ["hostname", "message"]"#
    );
}

#[test]
fn system_fields_from_the_client_are_dropped_and_unknown_fields_kept() {
    let mut item = event();
    item["_retry_count"] = json!(99);
    item["_event_id"] = json!("forged");
    item["_correlation_id"] = json!("forged");
    item["site"] = json!({"dc": 1});
    let v = ok(item);
    assert!(v.get("_retry_count").is_none());
    assert_ne!(v["_event_id"], "forged");
    assert_eq!(v["_correlation_id"], "corr-1");
    assert_eq!(v["site"], json!({"dc": 1}));
}

#[test]
fn ill_typed_and_empty_fields_are_refused_naming_the_field() {
    let cases = [
        (
            "hostname",
            json!(""),
            "Invalid field 'hostname': must not be empty",
        ),
        (
            "hostname",
            json!(42),
            "Invalid field 'hostname': expected a string, got a number",
        ),
        (
            "hostname",
            json!("router\u{0}1"),
            "Invalid field 'hostname': must not contain a NUL character",
        ),
        (
            "message",
            json!(null),
            "Invalid field 'message': expected a string, got null",
        ),
        (
            "message",
            json!("   "),
            "Invalid field 'message': must not be empty",
        ),
        (
            "timestamp",
            json!("yesterday"),
            "Invalid field 'timestamp': expected RFC 3339 text or epoch seconds/milliseconds",
        ),
        (
            "timestamp",
            json!(true),
            "Invalid field 'timestamp': expected RFC 3339 text or epoch seconds/milliseconds",
        ),
        (
            "trap_oid",
            json!("1.3.x"),
            "Invalid field 'trap_oid': expected a dotted OID such as 1.3.6.1.4.1.9",
        ),
        (
            "trap_oid",
            json!(1.3),
            "Invalid field 'trap_oid': expected a dotted OID such as 1.3.6.1.4.1.9",
        ),
    ];
    for (field, value, message) in cases {
        let mut item = event();
        item[field] = value.clone();
        assert_eq!(refused(item).message, message, "{field}={value}");
    }
    let mut item = event();
    item["syslog_severity"] = json!("loud");
    assert!(
        refused(item)
            .message
            .starts_with("Invalid field 'syslog_severity'")
    );
    assert_eq!(
        refused(json!([1])).message,
        "Invalid event: expected a JSON object"
    );
}

#[test]
fn epoch_timestamps_and_leading_dot_oids_are_accepted() {
    let mut item = event();
    item["timestamp"] = json!(1_762_941_600_000_i64);
    item["trap_oid"] = json!(".1.3.6.1.4.1.9.9.41.2");
    item["syslog_severity"] = json!("3");
    let v = ok(item);
    assert_eq!(v["syslog_severity"], 3);
    assert_eq!(v["trap_oid"], ".1.3.6.1.4.1.9.9.41.2", "kept verbatim");
}

#[test]
fn size_limits_give_413_naming_the_limit() {
    let mut item = event();
    item["message"] = json!("x".repeat((16 << 10) + 1));
    let e = refused(item);
    assert_eq!(e.status, 413);
    assert!(
        e.message.contains("INGEST_MAX_MESSAGE_BYTES"),
        "{}",
        e.message
    );

    let mut item = event();
    item["blob"] = json!("y".repeat(64 << 10));
    let e = refused(item);
    assert_eq!(e.status, 413);
    assert!(
        e.message.contains("INGEST_MAX_EVENT_BYTES"),
        "{}",
        e.message
    );

    let many = Value::Array(vec![event(); 10_001]).to_string();
    let e = decode_body(many.as_bytes(), false, &limits()).expect_err("too many");
    assert_eq!(e.status(), 413);
    assert!(e.to_string().contains("INGEST_MAX_BATCH_EVENTS"));
}

#[test]
fn bodies_decode_as_single_array_or_ndjson() {
    let one = event().to_string();
    assert!(matches!(
        decode_body(one.as_bytes(), false, &limits()),
        Ok(Body::Single(_))
    ));

    let array = json!([event(), 5]).to_string();
    let Ok(Body::Batch(items)) = decode_body(array.as_bytes(), false, &limits()) else {
        panic!("array is a batch")
    };
    assert_eq!(items.len(), 2);

    // rsyslog omhttp batch.format="newline" posts NDJSON labelled application/json.
    let ndjson = format!("{}\n{{bad\n\n{}\n", event(), event());
    for declared in [true, false] {
        let Ok(Body::Batch(items)) = decode_body(ndjson.as_bytes(), declared, &limits()) else {
            panic!("ndjson is a batch (declared: {declared})")
        };
        assert_eq!(items.len(), 3);
        assert!(items[0].is_ok() && items[1].is_err() && items[2].is_ok());
    }

    for (body, status) in [
        (&b"{oops"[..], 400),
        (b"null", 400),
        (b"\"text\"", 400),
        (b"[]", 400),
        (b"\xff\xfe", 400),
    ] {
        let e = decode_body(body, false, &limits()).expect_err("refused");
        assert_eq!(e.status(), status, "{:?}", String::from_utf8_lossy(body));
    }
}

proptest::proptest! {
    #[test]
    fn any_bytes_yield_a_verdict_never_a_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512), declared: bool) {
        if let Ok(Body::Batch(items)) = decode_body(&bytes, declared, &limits()) {
            for item in items.into_iter().flatten() {
                let _ = validate(item, &required(), &limits(), "c");
            }
        }
    }

    #[test]
    fn any_json_object_yields_a_verdict_never_a_panic(
        keys in proptest::collection::vec("[_a-z]{1,12}", 0..8),
        text in "\\PC{0,40}",
        n in proptest::num::i64::ANY,
    ) {
        let mut object = serde_json::Map::new();
        for (i, key) in keys.into_iter().enumerate() {
            let value = match i % 3 { 0 => json!(text.clone()), 1 => json!(n), _ => json!(null) };
            object.insert(key, value);
        }
        let _ = validate(Value::Object(object), &required(), &limits(), "c");
    }
}
