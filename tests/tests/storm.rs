//! Storm control end to end (issue #18): a storm of events from two hosts through the
//! sandbox (ingestor, two alerters, two forwarders with `MOOG_COALESCE_WINDOW` and a low
//! Moog limit): every event is audited, Moog gets far fewer alerts than events, and every
//! event id can be found from the delivered alerts.

mod support;

use serde_json::Value;
use shared::testing::eventually;
use std::collections::HashSet;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_is_audited_event_by_event_and_delivered_coalesced() {
    let sandbox = Sandbox::start_configured(
        true,
        Settings {
            forwarder: &[("MOOG_COALESCE_WINDOW", "600"), ("MOOG_RATE_LIMIT", "2")],
            ..Settings::default()
        },
    )
    .await;
    let events: Vec<Value> = (0..200)
        .map(|i| {
            event(
                &format!("storm-{}", i % 2),
                &format!("%LINK-3-UPDOWN: LINK-DOWN on Gi0/{i}"),
            )
        })
        .collect();
    for chunk in events.chunks(50) {
        let answer: Value = sandbox
            .client
            .post(format!("http://{}/ingest", sandbox.http))
            .header("X-API-KEY", INGEST_KEY)
            .json(&chunk)
            .send()
            .await
            .expect("ingest")
            .json()
            .await
            .expect("json");
        assert_eq!(answer["queued"], 50, "{answer}");
    }
    for host in ["storm-0", "storm-1"] {
        let audits = sandbox.audited(host, 100).await;
        assert!(audits.iter().all(|(_, forwarded, _)| *forwarded));
    }
    // Every event id, from the delivered alerts: their own, or folded into them.
    let stood_for = || {
        sandbox
            .delivered(|b| {
                b["source_id"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("storm-"))
            })
            .iter()
            .filter(|r| (200..300).contains(&r.answered))
            .flat_map(|r| {
                let body = &r.body;
                match body["custom_info"]["mutt_coalesced"]["event_ids"].as_array() {
                    Some(ids) => ids
                        .iter()
                        .map(|id| id.as_str().expect("id").to_owned())
                        .collect(),
                    None => vec![body["external_id"].as_str().expect("id").to_owned()],
                }
            })
            .collect::<Vec<String>>()
    };
    let ids = eventually(WAIT, "every event delivered, coalesced", || async {
        let ids = stood_for();
        (ids.len() >= events.len()).then_some(ids)
    })
    .await;
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), 200, "each event once");
    let posts = sandbox.delivered(|b| {
        b["source_id"]
            .as_str()
            .is_some_and(|s| s.starts_with("storm-"))
    });
    assert!(
        posts.len() < 40,
        "200 events at 2 alerts/s went in {} alerts",
        posts.len()
    );
    sandbox.stop().await;
}
