//! Silences end to end (issue #18): a silence made through the API quiets matching events
//! in the running pipeline (two alerters, two forwarders) within a second: they are
//! audited as `silenced` with the silence's id, not forwarded, and not counted towards an
//! unhandled meta-alert; other hosts are untouched; once the silence is expired, the same
//! host's events are forwarded again within a second.

mod support;

use reqwest::Method;
use serde_json::{Value, json};
use shared::testing::eventually;
use std::time::Duration;
use support::*;

/// How soon a change to silences must apply.
const TAKES_EFFECT: Duration = Duration::from_secs(1);

/// (decision, forwarded, rule, silence) of every audit row of `host`.
async fn rows(sandbox: &Sandbox, host: &str) -> Vec<(String, bool, Option<i32>, Option<i32>)> {
    let conn = sandbox.db.pool.get().await.expect("connection");
    conn.query(
        "SELECT handling_decision, forwarded_to_moog, matched_rule_id, silence_id \
         FROM event_audit_log WHERE hostname = $1 ORDER BY id",
        &[&host],
    )
    .await
    .expect("audit rows")
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silence_quiets_its_events_within_a_second_and_expiring_it_restores_them() {
    let sandbox = Sandbox::start_configured(true, Settings::default()).await;
    let made: Value = sandbox
        .api(Method::POST, "/api/v2/silences")
        .json(&json!({"hostname": "maint-*", "duration_seconds": 3600,
                      "reason": "CHG-100 line card swap"}))
        .send()
        .await
        .expect("POST")
        .json()
        .await
        .expect("json");
    let id = made["id"].as_i64().expect("a silence id") as i32;
    tokio::time::sleep(TAKES_EFFECT).await;

    // A forwarding rule's event, and unhandled ones past the meta-alert threshold.
    sandbox.ingest(&event("maint-r1", "CRITICAL fan")).await;
    for _ in 0..UNHANDLED_THRESHOLD * 2 {
        sandbox
            .ingest(&event("maint-r1", "nothing matches this"))
            .await;
    }
    let audited = eventually(WAIT, "every maint-r1 event audited", || async {
        let rows = rows(&sandbox, "maint-r1").await;
        (rows.len() > UNHANDLED_THRESHOLD * 2).then_some(rows)
    })
    .await;
    assert!(
        audited
            .iter()
            .all(|(decision, forwarded, _, silence)| decision == "silenced"
                && !forwarded
                && *silence == Some(id)),
        "{audited:?}"
    );
    assert_eq!(
        audited.iter().filter(|r| r.2.is_some()).count(),
        1,
        "the CRITICAL event keeps its rule on its row: {audited:?}"
    );

    // Another host is forwarded as ever; by then nothing of maint-r1 has gone to Moog.
    sandbox.ingest(&event("other-r1", "CRITICAL fan")).await;
    sandbox.delivered_for("other-r1").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        sandbox
            .delivered(|b| b.to_string().contains("maint-r1"))
            .is_empty(),
        "neither the silenced alert nor a meta-alert went to Moog"
    );
    let mut silenced = 0.0;
    for pod in ALERTERS {
        let metrics = sandbox.worker_metrics(pod);
        silenced += sandbox
            .counter(
                metrics,
                "mutt_alerter_events_processed_total",
                "status=\"silenced\"",
            )
            .await;
    }
    assert_eq!(silenced as usize, UNHANDLED_THRESHOLD * 2 + 1);

    // Expired: the next event is forwarded again.
    let expired = sandbox
        .api(Method::POST, &format!("/api/v2/silences/{id}/expire"))
        .send()
        .await
        .expect("expire");
    assert_eq!(expired.status(), 200);
    tokio::time::sleep(TAKES_EFFECT).await;
    sandbox
        .ingest(&event("maint-r1", "CRITICAL fan again"))
        .await;
    sandbox.delivered_for("maint-r1").await;
    let last = rows(&sandbox, "maint-r1").await.pop().expect("a row");
    assert_eq!(
        (last.0.as_str(), last.1, last.3),
        ("Page_and_ticket", true, None)
    );

    // Deleting the silence keeps what it quieted findable.
    let deleted = sandbox
        .api(Method::DELETE, &format!("/api/v2/silences/{id}"))
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.status(), 200);
    let found: Value = sandbox
        .api(
            Method::GET,
            &format!("/api/v2/audit-logs?silence_id={id}&limit=200"),
        )
        .send()
        .await
        .expect("search")
        .json()
        .await
        .expect("json");
    assert_eq!(
        found["pagination"]["total"],
        UNHANDLED_THRESHOLD * 2 + 1,
        "{found}"
    );
    sandbox.stop().await;
}
