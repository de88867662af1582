//! Storm control (`MOOG_COALESCE_WINDOW`, issue #18) against a real Redis and the local
//! webhook: a storm's copies of one signature go as one alert carrying their count, times
//! and event ids, so that a new, different alert is not stuck behind them at the rate
//! limit; every alert is accounted for, and none is folded when coalescing is off.

mod support;

use serde_json::Value;
use shared::event::Alert;
use shared::testing::{TestRedis, eventually};
use std::collections::HashSet;
use std::time::{Duration, Instant};
use support::*;

/// `n` alerts over `signatures` hosts (one rule), their events a second apart.
fn storm(n: usize, signatures: usize) -> Vec<Alert> {
    (0..n)
        .map(|i| {
            let mut a = alert(i);
            a.hostname = format!("storm-{}", i % signatures);
            a.raw_json = serde_json::json!({"hostname": a.hostname,
                "timestamp": format!("2026-12-07T10:{:02}:{:02}Z", (i / 60) % 60, i % 60)});
            a
        })
        .collect()
}

/// Every event id a delivered alert stands for: its own, or those folded into it.
fn stands_for(body: &Value) -> Vec<String> {
    match body["custom_info"]["mutt_coalesced"]["event_ids"].as_array() {
        Some(ids) => ids
            .iter()
            .map(|id| id.as_str().expect("an id").to_owned())
            .collect(),
        None => vec![body["external_id"].as_str().expect("an id").to_owned()],
    }
}

/// Waits until what Moog received stands for `n` alerts.
async fn accounted_for(moog: &Moog, n: usize) {
    eventually(WAIT, "every alert accounted for", || async {
        let ids: usize = moog
            .state
            .received()
            .iter()
            .map(|r| stands_for(&r.body).len())
            .sum();
        (ids >= n).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_storm_goes_as_one_alert_per_signature_and_a_new_alert_is_not_stuck_behind_it() {
    let (redis, moog) = (TestRedis::new().await, Moog::start().await);
    let mut alerts = storm(300, 3);
    let mut new = alert(1000);
    new.hostname = "core-rtr-new".into();
    alerts.push(new.clone());
    push(&redis, &alerts).await;
    let started = Instant::now();
    let forwarder = start(config(
        &redis,
        &moog,
        "f1",
        &[("MOOG_COALESCE_WINDOW", "600"), ("MOOG_RATE_LIMIT", "5")],
    ))
    .await;
    let new_id = new.event_id.expect("id").to_string();
    eventually(WAIT, "the new alert delivered", || {
        let (moog, id) = (&moog, new_id.clone());
        async move { moog.delivered().contains(&id).then_some(()) }
    })
    .await;
    let waited = started.elapsed();
    // 301 alerts at 5 per second would take a minute; coalesced they are 4.
    assert!(
        waited < Duration::from_secs(10),
        "the new alert waited {waited:?}"
    );
    accounted_for(&moog, alerts.len()).await;
    let received = moog.state.received();
    assert_eq!(received.len(), 4, "one POST per signature");
    let mut seen = HashSet::new();
    for body in received.iter().map(|r| &r.body) {
        let ids = stands_for(body);
        if ids.len() > 1 {
            let folded = &body["custom_info"]["mutt_coalesced"];
            assert_eq!(folded["count"], ids.len());
            assert_eq!(
                body["external_id"],
                ids[0].as_str(),
                "the first is the body's"
            );
            assert!(folded["first_time"].as_i64() < folded["last_time"].as_i64());
            // The event itself is still the first alert's.
            assert!(body["custom_info"]["hostname"].is_string());
        }
        for id in ids {
            assert!(seen.insert(id), "each event once");
        }
    }
    let all: HashSet<String> = alerts
        .iter()
        .map(|a| a.event_id.expect("id").to_string())
        .collect();
    assert_eq!(seen, all);
    assert!(dlq(&redis).await.is_empty());
    forwarder.stop().await;
}

#[tokio::test]
async fn alerts_of_one_signature_further_apart_than_the_window_are_not_folded() {
    let (redis, moog) = (TestRedis::new().await, Moog::start().await);
    // One signature, events a second apart over 40 s, window 10 s: groups of at most 11.
    let alerts = storm(40, 1);
    push(&redis, &alerts).await;
    let forwarder = start(config(
        &redis,
        &moog,
        "f1",
        &[("MOOG_COALESCE_WINDOW", "10")],
    ))
    .await;
    accounted_for(&moog, alerts.len()).await;
    for body in moog.state.received().iter().map(|r| &r.body) {
        let folded = &body["custom_info"]["mutt_coalesced"];
        if let (Some(first), Some(last)) =
            (folded["first_time"].as_i64(), folded["last_time"].as_i64())
        {
            assert!(last - first <= 10, "{folded}");
        }
    }
    assert!(moog.state.received().len() >= 4);
    forwarder.stop().await;
}

#[tokio::test]
async fn without_a_window_every_alert_goes_on_its_own() {
    let (redis, moog) = (TestRedis::new().await, Moog::start().await);
    let alerts = storm(30, 1);
    push(&redis, &alerts).await;
    let forwarder = start(config(&redis, &moog, "f1", &[])).await;
    eventually(WAIT, "every alert delivered", || async {
        (moog.delivered().len() >= alerts.len()).then_some(())
    })
    .await;
    assert!(
        moog.state
            .received()
            .iter()
            .all(|r| r.body["custom_info"].get("mutt_coalesced").is_none())
    );
    assert_eq!(moog.delivered().len(), 30);
    forwarder.stop().await;
}
