use super::*;
use crate::cache::Snapshot;
use serde_json::json;
use shared::event::Severity;
use shared::rules::{MatchType, RuleSet};

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
