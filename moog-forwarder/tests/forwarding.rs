//! Delivery, classification, retries and the DLQ against a real Redis and a local Moog.

mod support;

use shared::testing::{TestRedis, eventually};
use std::collections::HashSet;
use std::time::Duration;
use support::*;

#[tokio::test]
async fn payload_and_headers_are_exactly_as_specified_and_every_2xx_is_success() {
    let (redis, moog) = (TestRedis::new().await, Moog::start().await);
    let forwarder = start(config(&redis, &moog, "f1", &[])).await;
    let mut sent = Vec::new();
    for status in [200, 201, 202, 204] {
        moog.answer(status);
        let a = alert(status as usize);
        push(&redis, std::slice::from_ref(&a)).await;
        let id = a.event_id.expect("id").to_string();
        eventually(WAIT, "the alert to be delivered", || {
            let (moog, id) = (&moog, id.clone());
            async move { moog.delivered().contains(&id).then_some(()) }
        })
        .await;
        sent.push(a);
    }
    let received = moog.state.received();
    assert_eq!(received.len(), 4, "one request each, no retries");
    let first = &received[0];
    assert_eq!(
        first.authorization.as_deref(),
        Some(format!("Bearer {MOOG_KEY}").as_str())
    );
    assert_eq!(first.content_type.as_deref(), Some("application/json"));
    assert_eq!(
        first.body,
        moog_forwarder::webhook::payload_for(&sent[0], "{hostname}:{rule_id}", 0)
    );
    assert!(dlq(&redis).await.is_empty());
    forwarder.stop().await;
}

#[tokio::test]
async fn a_4xx_goes_to_the_dlq_at_once_with_its_metadata() {
    let (redis, moog) = (TestRedis::new().await, Moog::start().await);
    moog.answer(422);
    let forwarder = start(config(&redis, &moog, "f1", &[])).await;
    let a = alert(1);
    push(&redis, std::slice::from_ref(&a)).await;
    let entries = eventually(WAIT, "the alert in the DLQ", || async {
        let entries = dlq(&redis).await;
        (!entries.is_empty()).then_some(entries)
    })
    .await;
    let entry = &entries[0];
    assert_eq!(entry["event_id"], a.event_id.expect("id").to_string());
    assert_eq!(entry["last_http_status"], 422);
    assert_eq!(entry["attempts"], 1);
    assert_eq!(entry["failed_service"], "moog-forwarder");
    assert!(
        entry["failure_reason"]
            .as_str()
            .expect("reason")
            .contains("422")
    );
    assert_eq!(moog.state.received().len(), 1, "not retried");
    forwarder.stop().await;
}

#[tokio::test]
async fn a_failing_webhook_is_retried_and_the_alert_delivered_once_it_recovers() {
    let (redis, moog) = (TestRedis::new().await, Moog::start().await);
    moog.answer(500);
    let forwarder = start(config(
        &redis,
        &moog,
        "f1",
        &[
            ("MOOG_MAX_RETRIES", "50"),
            ("CIRCUIT_BREAKER_ENABLED", "false"),
        ],
    ))
    .await;
    let a = alert(1);
    push(&redis, std::slice::from_ref(&a)).await;
    eventually(WAIT, "a few failed attempts", || async {
        (moog.state.received().len() >= 3).then_some(())
    })
    .await;
    moog.answer(200);
    let id = a.event_id.expect("id").to_string();
    eventually(WAIT, "delivery after recovery", || {
        let (moog, id) = (&moog, id.clone());
        async move { moog.delivered().contains(&id).then_some(()) }
    })
    .await;
    assert_eq!(moog.delivered(), [id], "delivered once");
    assert!(dlq(&redis).await.is_empty());
    forwarder.stop().await;
}

#[tokio::test]
async fn retries_are_bounded_then_the_alert_is_dead_lettered() {
    let (redis, moog) = (TestRedis::new().await, Moog::start().await);
    moog.answer(503);
    let forwarder = start(config(
        &redis,
        &moog,
        "f1",
        &[
            ("MOOG_MAX_RETRIES", "2"),
            ("CIRCUIT_BREAKER_ENABLED", "false"),
        ],
    ))
    .await;
    push(&redis, &[alert(1)]).await;
    let entries = eventually(WAIT, "the alert in the DLQ", || async {
        let entries = dlq(&redis).await;
        (!entries.is_empty()).then_some(entries)
    })
    .await;
    assert_eq!(
        entries[0]["attempts"], 3,
        "first try and MOOG_MAX_RETRIES retries"
    );
    assert_eq!(entries[0]["last_http_status"], 503);
    assert_eq!(moog.state.received().len(), 3);
    forwarder.stop().await;
}

#[tokio::test]
async fn an_open_breaker_holds_alerts_back_sends_one_trial_and_loses_nothing() {
    let (redis, moog) = (TestRedis::new().await, Moog::start().await);
    moog.answer(500);
    let cfg = config(
        &redis,
        &moog,
        "f1",
        &[
            ("CIRCUIT_BREAKER_THRESHOLD", "3"),
            ("CIRCUIT_BREAKER_TIMEOUT", "1"),
            ("MOOG_MAX_IN_FLIGHT", "4"),
        ],
    );
    let forwarder = start(cfg).await;
    let alerts: Vec<_> = (0..6).map(alert).collect();
    push(&redis, &alerts).await;
    let state_key = redis.keys.circuit_breaker("moogsoft", "state");
    eventually(WAIT, "the breaker to open", || async {
        let state: Option<String> = redis::cmd("GET")
            .arg(&state_key)
            .query_async(&mut redis.conn().await)
            .await
            .expect("GET");
        (state.as_deref() == Some("OPEN")).then_some(())
    })
    .await;
    // Requests already on their way when it opened may still arrive; none may start after.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let when_opened = moog.state.received().len();
    // Failures free delivery slots one by one, so alerts taken before the third failure
    // are sent too: at most threshold + in flight − 1.
    assert!(
        (3..=6).contains(&when_opened),
        "between the threshold and what could be in flight before it: {when_opened}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await; // still within the 1 s timeout
    assert_eq!(
        moog.state.received().len(),
        when_opened,
        "no requests while open"
    );
    moog.answer(200);
    eventually(
        WAIT,
        "every alert delivered after the breaker closed",
        || async {
            let delivered: HashSet<String> = moog.delivered().into_iter().collect();
            ids(&alerts)
                .iter()
                .all(|id| delivered.contains(id))
                .then_some(())
        },
    )
    .await;
    assert!(
        dlq(&redis).await.is_empty(),
        "nothing dead-lettered because of the breaker"
    );
    forwarder.stop().await;
}

#[tokio::test]
async fn a_killed_forwarder_s_alerts_are_delivered_by_another() {
    let (redis, moog) = (TestRedis::new().await, Moog::start().await);
    moog.state.set_behaviour(mutt_tools::receiver::Behaviour {
        delay_ms: 300,
        ..Default::default()
    });
    let alerts: Vec<_> = (0..20).map(alert).collect();
    push(&redis, &alerts).await;
    let victim = start(config(
        &redis,
        &moog,
        "victim",
        &[("MOOG_MAX_IN_FLIGHT", "8")],
    ))
    .await;
    eventually(WAIT, "some alerts in flight", || async {
        (!moog.state.received().is_empty()).then_some(())
    })
    .await;
    victim.task.abort(); // a crash: in-flight alerts stay in its processing list
    let _ = victim.task.await;
    let survivor = start(config(&redis, &moog, "survivor", &[])).await;
    eventually(WAIT, "every alert delivered at least once", || async {
        let delivered: HashSet<String> = moog.delivered().into_iter().collect();
        ids(&alerts)
            .iter()
            .all(|id| delivered.contains(id))
            .then_some(())
    })
    .await;
    survivor.stop().await;
}

#[tokio::test]
async fn an_alert_in_its_processing_list_that_it_never_took_knowingly_is_delivered() {
    let (redis, moog) = (TestRedis::new().await, Moog::start().await);
    let forwarder = start(config(&redis, &moog, "f1", &[])).await;
    // What a BLMOVE whose reply was lost (a Redis restart) leaves behind.
    let orphan = alert(42);
    let _: () = redis::cmd("LPUSH")
        .arg(
            redis
                .keys
                .processing_list(shared::redis::keys::WorkerRole::Moog, "f1"),
        )
        .arg(serde_json::to_string(&orphan).expect("json"))
        .query_async(&mut redis.conn().await)
        .await
        .expect("plant");
    let id = orphan.event_id.expect("id").to_string();
    eventually(WAIT, "the orphaned alert to be delivered", || {
        let (moog, id) = (&moog, id.clone());
        async move { moog.delivered().contains(&id).then_some(()) }
    })
    .await;
    forwarder.stop().await;
}
