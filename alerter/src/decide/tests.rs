use super::*;
use crate::cache::Snapshot;
use serde_json::json;
use shared::event::Severity;
use shared::rules::routing::{Environment, forwards};
use shared::rules::{MatchType, RuleSet, Silence, SilenceSet};

fn rule(id: i32, text: &str, priority: i32, prod: &str, dev: &str) -> Rule {
    Rule {
        id,
        match_string: Some(text.into()),
        trap_oid: None,
        syslog_severity: None,
        match_type: MatchType::Contains,
        priority,
        prod_handling: prod.into(),
        dev_handling: dev.into(),
        team_assignment: "NetOps".into(),
        is_active: true,
    }
}

fn snapshot() -> Snapshot {
    Snapshot {
        rules: RuleSet::compile([
            rule(1, "LINK-DOWN", 5, "Page_and_ticket", "Ticket_only"),
            rule(2, "ERROR", 20, "Ticket_only", "Ignore"),
        ])
        .expect("compiles"),
        dev_hosts: ["dev-router1".to_owned()].into(),
        teams: [("router1".to_owned(), "Core".to_owned())].into(),
        silences: SilenceSet::empty(),
    }
}

fn event(host: &str, message: &str) -> Event {
    serde_json::from_value(
        json!({"hostname": host, "message": message, "timestamp": "2026-11-22T10:00:00Z",
        "syslog_severity": 3, "_correlation_id": "c-1"}),
    )
    .expect("event")
}

#[test]
fn prod_and_dev_take_their_own_handling_verbatim() {
    let s = snapshot();
    match decide(&s, &event("router1", "x LINK-DOWN y")) {
        Decision::Handled {
            rule,
            environment,
            handling,
            forward,
        } => {
            assert_eq!(
                (rule.id, environment, handling, forward),
                (1, Environment::Prod, "Page_and_ticket", true)
            );
        }
        other => panic!("{other:?}"),
    }
    match decide(&s, &event("dev-router1", "an ERROR")) {
        Decision::Handled {
            environment,
            handling,
            forward,
            ..
        } => {
            assert_eq!(
                (environment, handling, forward),
                (Environment::Dev, "Ignore", false)
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        decide(&s, &event("DEV-ROUTER1", "an ERROR")),
        decide(&s, &event("router1", "an ERROR")),
        "case-sensitive host"
    );
    assert_eq!(
        decide(&s, &event("router1", "all quiet")),
        Decision::Unhandled
    );
}

#[test]
fn only_the_three_forwarding_handlings_forward_in_any_case() {
    for h in [
        "Page_and_ticket",
        "page_only",
        "TICKET_ONLY",
        " ticket_only ",
    ] {
        assert!(forwards(h), "{h}");
    }
    for h in ["Ignore", "page", "", "page_and_ticket_later"] {
        assert!(!forwards(h), "{h}");
    }
}

#[test]
fn alerts_carry_ids_mapped_severity_and_no_api_key() {
    let e = event("router1", "LINK-DOWN");
    let id = EventId::new();
    let raw = json!({"hostname": "router1"});
    let alert = alert_for(&e, id, &snapshot().rules.rules()[0], &raw);
    let v = serde_json::to_value(&alert).expect("json");
    assert_eq!(v["severity"], "Major", "syslog 3 maps to Major");
    assert_eq!(v["rule_id"], 1);
    assert_eq!(v["event_id"], id.to_string());
    assert_eq!(v["_correlation_id"], "c-1");
    assert_eq!(v["team_assignment"], "NetOps");
    assert!(v.get("api_key").is_none());

    let mut quiet = e.clone();
    quiet.syslog_severity = None;
    assert_eq!(
        alert_for(&quiet, id, &snapshot().rules.rules()[0], &raw).severity,
        MoogSeverity::Warning
    );
    let _ = Severity::new(3);
}

#[test]
fn a_meta_alert_names_the_host_and_keeps_v25_text() {
    let e = event("router1", &"z".repeat(300));
    let alert = meta_alert(&e, EventId::new(), "Core", 100, 86_400, &json!({}));
    assert_eq!(alert.hostname, "MUTT_Alerter");
    assert_eq!(alert.severity, MoogSeverity::Warning);
    assert_eq!(alert.extra["source_hostname"], "router1");
    assert!(alert.message_body.starts_with(
        "[MUTT] Detected 100 unhandled messages in 86400s from 'router1'. Sample message: zzz"
    ));
    assert!(
        alert.message_body.ends_with(&"z".repeat(200)),
        "sample cut at 200 characters"
    );
    assert_eq!(alert.rule_id, None);
}

#[test]
fn the_unhandled_key_is_v25s() {
    // sha1("hello") = aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d
    assert_eq!(
        unhandled_key(&RedisKeys::default(), "r1", "hello"),
        "mutt:unhandled:r1:aaf4c61ddcc5e8a2"
    );
}

fn item(value: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&value).expect("serialises")
}

#[test]
fn an_item_that_is_not_an_event_goes_to_the_dlq_with_why() {
    let s = snapshot();
    let bad_json = plan(0, b"{not json", &s, 3, Utc::now()).expect_err("not JSON");
    assert!(bad_json.reason.starts_with("invalid JSON"), "{bad_json:?}");
    assert_eq!(bad_json.attempts, 1);
    let no_host =
        plan(0, &item(json!({"message": "x"})), &s, 3, Utc::now()).expect_err("no hostname");
    assert!(no_host.reason.starts_with("not an event"), "{no_host:?}");
    let tired = item(
        json!({"hostname": "h", "message": "x", "timestamp": "2026-11-22T10:00:00Z",
        "_retry_count": 4}),
    );
    let tired = plan(0, &tired, &s, 3, Utc::now()).expect_err("retried too often");
    assert_eq!(
        (tired.reason.as_str(), tired.attempts),
        ("exceeded ALERTER_MAX_RETRIES", 4)
    );
}

#[test]
fn a_v25_item_without_an_event_id_gets_the_same_id_each_time() {
    let s = snapshot();
    let v25 = item(json!({"hostname": "router1", "message": "LINK-DOWN",
        "timestamp": "2026-11-22T10:00:00Z"}));
    let first = plan(0, &v25, &s, 3, Utc::now()).expect("an event");
    let again = plan(7, &v25, &s, 3, Utc::now()).expect("an event");
    assert_eq!(first.event_id, again.event_id);
    assert_eq!(again.item, 7);
    let other = item(json!({"hostname": "router2", "message": "LINK-DOWN",
        "timestamp": "2026-11-22T10:00:00Z"}));
    assert_ne!(
        plan(0, &other, &s, 3, Utc::now())
            .expect("an event")
            .event_id,
        first.event_id
    );
}

#[test]
fn the_audit_row_says_what_was_decided() {
    let s = snapshot();
    let handled = plan(
        0,
        &item(json!({"hostname": "router1", "message": "x LINK-DOWN",
        "timestamp": "2026-11-22T10:00:00Z"})),
        &s,
        3,
        Utc::now(),
    )
    .expect("an event");
    let row = handled
        .audit_row(false)
        .expect("handled events are audited");
    assert_eq!(
        (
            row.matched_rule_id,
            row.handling_decision.as_str(),
            row.forwarded_to_moog
        ),
        (Some(1), "Page_and_ticket", true)
    );
    assert_eq!(row.hostname, "router1");
    assert_eq!(row.raw_message, handled.raw.to_string());

    let ignored = plan(
        0,
        &item(json!({"hostname": "dev-router1", "message": "an ERROR",
        "timestamp": "2026-11-22T10:00:00Z"})),
        &s,
        3,
        Utc::now(),
    )
    .expect("an event");
    let row = ignored.audit_row(false).expect("audited");
    assert_eq!(
        (row.handling_decision.as_str(), row.forwarded_to_moog),
        ("Ignore", false)
    );

    let unhandled = plan(
        0,
        &item(json!({"hostname": "router1", "message": "nothing matches",
        "timestamp": "2026-11-22T10:00:00Z"})),
        &s,
        3,
        Utc::now(),
    )
    .expect("an event");
    assert!(matches!(unhandled.action, Action::Unhandled));
    assert!(unhandled.audit_row(false).is_none(), "unaudited by default");
    let row = unhandled.audit_row(true).expect("AUDIT_UNHANDLED");
    assert_eq!(
        (row.matched_rule_id, row.handling_decision.as_str()),
        (None, "unhandled")
    );
}

#[test]
fn a_silenced_event_is_audited_with_its_silence_and_not_forwarded() {
    let mut s = snapshot();
    let now: DateTime<Utc> = "2026-12-07T10:00:00Z".parse().expect("a time");
    let window = |id: i32| Silence {
        id,
        hostname: None,
        team: None,
        rule_id: None,
        message_regex: None,
        starts_at: now - chrono::Duration::hours(1),
        ends_at: now + chrono::Duration::hours(1),
    };
    s.silences = SilenceSet::compile([
        Silence {
            hostname: Some("router*".into()),
            rule_id: Some(1),
            ..window(4)
        },
        Silence {
            team: Some("Core".into()),
            ..window(5)
        },
    ])
    .expect("compiles");
    let at = |message: &str, when| {
        let event = json!({"hostname": "router1", "message": message,
            "timestamp": "2026-12-07T09:59:00Z"});
        plan(0, &item(event), &s, 3, when).expect("an event")
    };

    let silenced = at("x LINK-DOWN", now);
    assert!(
        matches!(
            silenced.action,
            Action::Silenced {
                rule_id: Some(1),
                silence_id: 4
            }
        ),
        "{:?}",
        silenced.action
    );
    let row = silenced.audit_row(false).expect("always audited");
    assert_eq!(
        (
            row.matched_rule_id,
            row.handling_decision.as_str(),
            row.forwarded_to_moog,
            row.silence_id
        ),
        (Some(1), SILENCED, false, Some(4))
    );

    // Unmatched: the host's device team (Core) is the event's team; audited even without
    // AUDIT_UNHANDLED, and not an unhandled event.
    let unmatched = at("nothing matches", now);
    assert!(matches!(
        unmatched.action,
        Action::Silenced {
            rule_id: None,
            silence_id: 5
        }
    ));
    assert_eq!(
        unmatched.audit_row(false).expect("audited").silence_id,
        Some(5)
    );

    // After the end, the same event is forwarded again.
    let later = at("x LINK-DOWN", now + chrono::Duration::hours(1));
    assert!(matches!(
        later.action,
        Action::Handled { alert: Some(_), .. }
    ));
    assert_eq!(later.audit_row(false).expect("audited").silence_id, None);
}
