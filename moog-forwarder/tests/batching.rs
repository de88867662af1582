//! Batched delivery (`MOOG_BATCH_SIZE`, issue #18) against a real Redis and the local
//! webhook: up to N alerts per POST in the events-array form, each delivered once; a batch
//! Moog refuses is sent again alert by alert, so that only the refused alert is
//! dead-lettered; a batch that fails is retried alert by alert, and nothing is lost.

mod support;

use shared::testing::{TestRedis, eventually};
use std::collections::HashSet;
use support::*;

#[tokio::test]
async fn alerts_go_in_batches_of_at_most_the_batch_size_each_delivered_once() {
    let (redis, moog) = (TestRedis::new().await, Moog::start().await);
    let forwarder = start(config(&redis, &moog, "f1", &[("MOOG_BATCH_SIZE", "10")])).await;
    let alerts: Vec<_> = (0..95).map(alert).collect();
    push(&redis, &alerts).await;
    eventually(WAIT, "every alert delivered", || async {
        (moog.delivered().len() >= alerts.len()).then_some(())
    })
    .await;
    let delivered = moog.delivered();
    let unique: HashSet<_> = delivered.iter().collect();
    assert_eq!(delivered.len(), 95, "each once");
    assert_eq!(unique.len(), 95);
    let requests = moog.state.requests();
    assert!(
        (10..95).contains(&requests),
        "95 alerts in {requests} POSTs of at most 10"
    );
    let received = moog.state.received();
    assert_eq!(
        received[0].authorization.as_deref(),
        Some("Bearer moog-test-key")
    );
    assert_eq!(
        received[0].content_type.as_deref(),
        Some("application/json")
    );
    assert!(dlq(&redis).await.is_empty());
    forwarder.stop().await;
}

#[tokio::test]
async fn a_refused_batch_is_sent_again_alert_by_alert_and_only_the_refused_one_dead_lettered() {
    let (redis, moog) = (TestRedis::new().await, Moog::start().await);
    moog.state.set_behaviour(mutt_tools::receiver::Behaviour {
        refuse_containing: Some("POISON".into()),
        ..Default::default()
    });
    let mut alerts: Vec<_> = (0..20).map(alert).collect();
    alerts[7].message_body = "POISON in this one".into();
    push(&redis, &alerts).await;
    let forwarder = start(config(&redis, &moog, "f1", &[("MOOG_BATCH_SIZE", "20")])).await;
    let entries = eventually(WAIT, "the refused alert in the DLQ", || async {
        let entries = dlq(&redis).await;
        (!entries.is_empty()).then_some(entries)
    })
    .await;
    eventually(WAIT, "the other 19 delivered", || async {
        (moog.delivered().len() >= 19).then_some(())
    })
    .await;
    assert_eq!(entries.len(), 1);
    assert_eq!(
        entries[0]["event_id"],
        alerts[7].event_id.expect("id").to_string()
    );
    assert_eq!(entries[0]["last_http_status"], 400);
    let delivered: HashSet<String> = moog.delivered().into_iter().collect();
    let expected: HashSet<String> = alerts
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 7)
        .map(|(_, a)| a.event_id.expect("id").to_string())
        .collect();
    assert_eq!(delivered, expected);
    assert_eq!(moog.delivered().len(), 19, "each once");
    forwarder.stop().await;
}

#[tokio::test]
async fn a_failing_batch_is_retried_alert_by_alert_and_nothing_is_lost() {
    let (redis, moog) = (TestRedis::new().await, Moog::start().await);
    moog.answer(503);
    let forwarder = start(config(
        &redis,
        &moog,
        "f1",
        &[
            ("MOOG_BATCH_SIZE", "25"),
            ("MOOG_MAX_RETRIES", "50"),
            ("CIRCUIT_BREAKER_ENABLED", "false"),
        ],
    ))
    .await;
    let alerts: Vec<_> = (0..50).map(alert).collect();
    push(&redis, &alerts).await;
    eventually(WAIT, "a few failed batches", || async {
        (moog.state.requests() >= 4).then_some(())
    })
    .await;
    moog.answer(200);
    eventually(WAIT, "every alert delivered after recovery", || async {
        (moog.delivered().len() >= alerts.len()).then_some(())
    })
    .await;
    let delivered: HashSet<String> = moog.delivered().into_iter().collect();
    assert_eq!(delivered.len(), 50);
    assert_eq!(moog.delivered().len(), 50, "each delivered once");
    // Each alert carries its own retry count.
    let retried = moog
        .state
        .received()
        .iter()
        .filter(|r| r.answered == 503)
        .count();
    assert!(retried >= 50, "{retried} failed deliveries of 50 alerts");
    assert!(dlq(&redis).await.is_empty());
    forwarder.stop().await;
}
