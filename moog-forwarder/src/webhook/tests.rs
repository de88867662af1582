use super::*;
use serde_json::{Map, json};
use shared::event::{EventId, MoogSeverity};

fn alert(rule_id: Option<i32>) -> Alert {
    let mut extra = Map::new();
    if rule_id.is_none() {
        extra.insert("source_hostname".into(), "fw1".into());
    }
    Alert {
        hostname: if rule_id.is_some() {
            "router1".into()
        } else {
            "MUTT_Alerter".into()
        },
        team_assignment: "NetOps".into(),
        severity: MoogSeverity::Critical,
        message_body: "LINK-DOWN".into(),
        raw_json: json!({"hostname": "router1", "timestamp": "2026-11-22T10:00:00Z", "site": "dc1"}),
        correlation_id: "c-1".into(),
        event_id: Some(EventId(uuid::Uuid::from_u128(7))),
        rule_id,
        moog_retry_count: 0,
        extra,
    }
}

#[test]
fn the_payload_is_v25s_with_spec_corrections() {
    let body = payload_for(&alert(Some(3)), DEFAULT_SIGNATURE_TEMPLATE, 1);
    assert_eq!(
        body,
        json!({
            "signature": "router1:3", "source_id": "router1", "external_id": "00000000-0000-0000-0000-000000000007",
            "manager": "MUTT", "source": "MUTT Alerter", "class": "NetOps", "agent": "MUTT v2.3",
            "agent_location": "Alerter Service", "type": "Alert", "severity": 5, "description": "LINK-DOWN",
            "agent_time": 1_795_341_600, "custom_info": {"hostname": "router1", "timestamp": "2026-11-22T10:00:00Z", "site": "dc1"}
        })
    );
}

#[test]
fn meta_alerts_get_one_signature_per_source_host_and_templates_apply() {
    assert_eq!(
        payload_for(&alert(None), DEFAULT_SIGNATURE_TEMPLATE, 1)["signature"],
        "MUTT_Alerter:fw1"
    );
    assert_eq!(
        payload_for(&alert(Some(3)), "{team}/{hostname}", 1)["signature"],
        "NetOps/router1"
    );
    let mut bare = alert(Some(3));
    bare.raw_json = json!({"timestamp": "not a time"});
    bare.team_assignment.clear();
    bare.event_id = None;
    let body = payload_for(&bare, DEFAULT_SIGNATURE_TEMPLATE, 42);
    assert_eq!(
        body["agent_time"], 42,
        "send time when the event time is unreadable"
    );
    assert_eq!(body["class"], "Unknown");
    assert_eq!(
        body["external_id"], "c-1",
        "correlation id when there is no event id"
    );
}

#[test]
fn answers_are_classified_as_specified() {
    for status in [200, 201, 202, 204, 299] {
        assert_eq!(classify(status, None), Delivery::Accepted, "{status}");
    }
    for status in [408, 429, 500, 502, 503, 599] {
        assert!(
            matches!(classify(status, None), Delivery::Retry { status: Some(s), after: None } if s == status),
            "{status}"
        );
    }
    for status in [300, 304, 400, 401, 403, 404, 409, 422] {
        assert_eq!(
            classify(status, None),
            Delivery::Rejected { status },
            "{status}"
        );
    }
    assert_eq!(
        classify(429, Some("7")),
        Delivery::Retry {
            status: Some(429),
            after: Some(Duration::from_secs(7))
        }
    );
    assert_eq!(
        classify(503, Some("Wed, 21 Oct 2015 07:28:00 GMT")),
        Delivery::Retry {
            status: Some(503),
            after: None
        }
    );
    assert_eq!(
        transport_failure(),
        Delivery::Retry {
            status: None,
            after: None
        }
    );
}

#[test]
fn backoff_doubles_caps_jitters_and_honours_retry_after() {
    let (base, max) = (Duration::from_secs(1), Duration::from_secs(60));
    assert_eq!(
        retry_delay(0, base, max, 1.0, None),
        Duration::from_secs(1).mul_f64(1.0)
    );
    assert_eq!(retry_delay(3, base, max, 0.999_999, None).as_secs(), 7);
    assert_eq!(
        retry_delay(3, base, max, 0.0, None),
        Duration::from_secs(4),
        "jitter floor is half"
    );
    assert_eq!(
        retry_delay(10, base, max, 1.0, None),
        Duration::from_secs(60),
        "capped"
    );
    assert_eq!(
        retry_delay(40, base, max, 1.0, None),
        Duration::from_secs(60),
        "no overflow"
    );
    assert_eq!(
        retry_delay(0, base, max, 0.0, Some(Duration::from_secs(30))),
        Duration::from_secs(30),
        "Retry-After is a floor"
    );
}

#[test]
fn the_event_goes_into_custom_info_byte_for_byte() {
    let item = br#"{"hostname":"h1","team_assignment":"NetOps","severity":"Major","message_body":"m","raw_json":{"z":1,"a":"caf\u00e9","n":[1,2]},"_correlation_id":"c-9","extra_field":true}"#;
    let view: AlertView = serde_json::from_slice(item).expect("an alert");
    let body = serde_json::to_string(&payload(&view, DEFAULT_SIGNATURE_TEMPLATE, 5)).expect("json");
    assert!(
        body.contains(r#""custom_info":{"z":1,"a":"caf\u00e9","n":[1,2]}"#),
        "{body}"
    );
    assert!(body.starts_with(r#"{"agent":"MUTT v2.3","agent_location":"Alerter Service","agent_time":5,"class":"NetOps","#), "{body}");
}

#[test]
fn what_is_not_an_alert_is_not_a_view_either() {
    for item in [
        r#"{"hostname":"h","severity":"Major","message_body":"m","raw_json":{},"_correlation_id":"c"}"#,
        r#"{"hostname":"h","team_assignment":"t","severity":"Loud","message_body":"m","raw_json":{},"_correlation_id":"c"}"#,
        r#"{"hostname":"h","team_assignment":"t","severity":"Major","message_body":"m","_correlation_id":"c"}"#,
        r#"["not", "an", "object"]"#,
    ] {
        assert!(serde_json::from_str::<Alert>(item).is_err(), "{item}");
        assert!(serde_json::from_str::<AlertView>(item).is_err(), "{item}");
    }
}
