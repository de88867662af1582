//! The whole pipeline in one process (issue #7's sandbox): events in over HTTP and syslog,
//! audit rows in PostgreSQL, alerts delivered to the (local) Moog webhook, rules changed
//! through the web UI's API, webhook failures retried or dead-lettered and replayed.

mod support;

use reqwest::Method;
use serde_json::json;
use shared::testing::eventually;
use std::time::Duration;
use support::*;
use tokio::io::AsyncWriteExt;

#[tokio::test]
async fn an_http_event_is_audited_and_forwarded_with_the_specified_payload() {
    let sandbox = Sandbox::start().await;
    let answer = sandbox
        .ingest(&event("core-r1", "%LINK-3-UPDOWN: LINK-DOWN on Gi0/1"))
        .await;
    let event_id = answer["event_id"].as_str().expect("event id").to_owned();

    let audits = sandbox.audited("core-r1", 1).await;
    assert_eq!(audits[0].0, "Page_and_ticket");
    assert!(audits[0].1, "forwarded");
    let delivered = sandbox.delivered_for("core-r1").await;
    assert_eq!(
        delivered.authorization.as_deref(),
        Some(format!("Bearer {MOOG_KEY}").as_str())
    );
    let body = &delivered.body;
    assert_eq!(
        body["external_id"],
        event_id.as_str(),
        "the event id, for de-duplication"
    );
    assert_eq!(body["severity"], 4, "Error maps to Major (4)");
    assert_eq!(
        body["signature"],
        format!("core-r1:{}", audits[0].2.expect("rule id")),
        "{{hostname}}:{{rule_id}}"
    );
    assert_eq!(body["description"], "%LINK-3-UPDOWN: LINK-DOWN on Gi0/1");
    assert_eq!(body["custom_info"]["_event_id"], event_id.as_str());

    // The web UI shows the rule's hit, counted by the alerter (written once a second).
    let rule_id = audits[0].2.expect("rule id");
    let rule: serde_json::Value = eventually(WAIT, "the rule's hit counted", || async {
        let rule: serde_json::Value = sandbox
            .api(Method::GET, &format!("/api/v2/rules/{rule_id}"))
            .send()
            .await
            .expect("get rule")
            .json()
            .await
            .expect("json");
        (rule["hit_count"] != 0).then_some(rule)
    })
    .await;
    assert_eq!(rule["hit_count"], 1, "{rule}");
    assert!(rule["last_matched_at"].as_str().is_some(), "{rule}");
    sandbox.stop().await;
}

#[tokio::test]
async fn dev_hosts_get_dev_handling_and_ignore_is_audited_but_not_forwarded() {
    let sandbox = Sandbox::start().await;
    // CRITICAL: prod Page_and_ticket, dev Ticket_only. ERROR: prod Ticket_only, dev Ignore.
    sandbox
        .ingest(&event("dev-router1", "CRITICAL fan failure"))
        .await;
    sandbox.ingest(&event("test-switch1", "ERROR parity")).await;
    sandbox
        .ingest(&event("marker-host", "CRITICAL marker"))
        .await;

    assert_eq!(
        sandbox.audited("dev-router1", 1).await[0].0,
        "Ticket_only",
        "dev handling of the CRITICAL rule"
    );
    let ignored = sandbox.audited("test-switch1", 1).await;
    assert_eq!((ignored[0].0.as_str(), ignored[0].1), ("Ignore", false));
    sandbox.delivered_for("dev-router1").await;
    // Events are processed in order: once the later marker is delivered, an Ignore alert
    // would have been too.
    sandbox.delivered_for("marker-host").await;
    assert!(
        sandbox
            .delivered(|b| b["source_id"] == "test-switch1")
            .is_empty()
    );
    sandbox.stop().await;
}

#[tokio::test]
async fn syslog_lines_over_udp_and_tcp_go_the_same_way() {
    let sandbox = Sandbox::start().await;
    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("udp");
    udp.send_to(
        b"<11>Nov 22 10:00:00 udp-r1 kernel: LINK-DOWN on xe-0/0/1",
        sandbox.udp,
    )
    .await
    .expect("send");
    let mut tcp = tokio::net::TcpStream::connect(sandbox.tcp)
        .await
        .expect("tcp");
    tcp.write_all(b"<11>1 2026-11-22T10:00:00Z tcp-r1 ifmgr - - - LINK-DOWN on et-1/0/0\n")
        .await
        .expect("write");
    tcp.flush().await.expect("flush");

    for host in ["udp-r1", "tcp-r1"] {
        let audits = sandbox.audited(host, 1).await;
        assert_eq!(audits[0].0, "Page_and_ticket", "{host}");
        let delivered = sandbox.delivered_for(host).await;
        assert!(
            delivered.body["description"]
                .as_str()
                .is_some_and(|d| d.contains("LINK-DOWN")),
            "{host}: {}",
            delivered.body
        );
    }
    sandbox.stop().await;
}

#[tokio::test]
async fn unhandled_events_past_the_threshold_raise_one_meta_alert() {
    let sandbox = Sandbox::start().await;
    // v2.5 counts per host and exact message.
    for _ in 0..UNHANDLED_THRESHOLD * 2 {
        sandbox
            .ingest(&event("quiet-r1", "nothing matches this"))
            .await;
    }
    let is_meta = |b: &serde_json::Value| b["signature"] == "MUTT_Alerter:quiet-r1";
    eventually(WAIT, "a meta-alert for quiet-r1", || async {
        (!sandbox.delivered(is_meta).is_empty()).then_some(())
    })
    .await;
    // Give any (wrong) second meta-alert time to arrive.
    sandbox
        .ingest(&event("marker-host", "CRITICAL marker"))
        .await;
    sandbox.delivered_for("marker-host").await;
    let meta = sandbox.delivered(is_meta);
    assert_eq!(
        meta.len(),
        1,
        "one meta-alert for {} events",
        UNHANDLED_THRESHOLD * 2
    );
    assert!(
        sandbox.audits("quiet-r1").await.is_empty(),
        "unhandled events are not audited by default"
    );
    sandbox.stop().await;
}

#[tokio::test]
async fn a_rule_created_through_the_api_applies_to_the_next_event() {
    let sandbox = Sandbox::start().await;
    let response = sandbox
        .api(Method::POST, "/api/v2/rules")
        .json(&json!({
            "match_string": "BGP-5-ADJCHANGE",
            "prod_handling": "Page_only",
            "dev_handling": "Ignore",
            "team_assignment": "Routing",
            "priority": 1
        }))
        .send()
        .await
        .expect("create rule");
    assert_eq!(response.status(), 201);
    let id = response.json::<serde_json::Value>().await.expect("json")["id"]
        .as_i64()
        .expect("id") as i32;

    // The alerter reloads on the web UI's notice; allow it that second.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    sandbox
        .ingest(&event(
            "edge-r9",
            "%BGP-5-ADJCHANGE: neighbor 10.0.0.1 Down",
        ))
        .await;
    let audits = sandbox.audited("edge-r9", 1).await;
    assert_eq!(audits[0], ("Page_only".to_owned(), true, Some(id)));
    let delivered = sandbox.delivered_for("edge-r9").await;
    assert_eq!(delivered.body["class"], "Routing");
    sandbox.stop().await;
}

#[tokio::test]
async fn a_failing_webhook_is_retried_until_it_recovers() {
    let sandbox = Sandbox::start().await;
    sandbox.answer(500);
    sandbox
        .ingest(&event("flaky-r1", "CRITICAL power supply"))
        .await;
    eventually(WAIT, "at least two refused attempts", || async {
        (sandbox.delivered(|b| b["source_id"] == "flaky-r1").len() >= 2).then_some(())
    })
    .await;
    sandbox.answer(200);
    sandbox.delivered_for("flaky-r1").await;
    let attempts = sandbox.delivered(|b| b["source_id"] == "flaky-r1");
    assert_eq!(
        attempts.iter().filter(|r| r.answered == 200).count(),
        1,
        "delivered once it recovered"
    );
    assert_eq!(
        sandbox.audited("flaky-r1", 1).await.len(),
        1,
        "audited once"
    );
    sandbox.stop().await;
}

#[tokio::test]
async fn a_rejected_alert_is_dead_lettered_and_replayed_from_the_api() {
    let sandbox = Sandbox::start().await;
    sandbox.answer(400);
    sandbox
        .ingest(&event("reject-r1", "CRITICAL temperature"))
        .await;
    let dlq = eventually(WAIT, "the alert in the moog DLQ", || async {
        let listed: serde_json::Value = sandbox
            .api(Method::GET, "/api/v2/dlq/moog")
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (listed["depth"] == 1).then_some(listed)
    })
    .await;
    assert_eq!(dlq["items"][0]["last_http_status"], 400);

    sandbox.answer(200);
    let replayed: serde_json::Value = sandbox
        .api(Method::POST, "/api/v2/dlq/moog/replay")
        .json(&json!({"all": true}))
        .send()
        .await
        .expect("replay")
        .json()
        .await
        .expect("json");
    assert_eq!(replayed, json!({"replayed": 1, "dead": 0}));
    sandbox.delivered_for("reject-r1").await;
    sandbox.stop().await;
}
