//! Nothing is lost: crashes mid-batch, a PostgreSQL outage, values PostgreSQL refuses,
//! and items that are not events.

mod support;

use serde_json::{Value, json};
use shared::redis::keys::WorkerRole;
use shared::store::audit::{AuditRow, insert_batch};
use shared::testing::{TcpProxy, eventually};
use std::collections::HashMap;
use std::time::Duration;
use support::*;

fn ids(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["_event_id"].as_str().expect("id").to_owned())
        .collect()
}

async fn assert_each_audited_once_and_alerted(
    redis: &shared::testing::TestRedis,
    db: &shared::testing::TestDatabase,
    events: &[Value],
) {
    let mut per_event: HashMap<String, usize> = HashMap::new();
    for (id, ..) in audit_rows(db).await {
        *per_event.entry(id).or_default() += 1;
    }
    for id in ids(events) {
        assert_eq!(
            per_event.get(&id),
            Some(&1),
            "event {id} must have exactly one audit row"
        );
    }
    let alerted: std::collections::HashSet<String> = list(redis, &redis.keys.alert_queue)
        .await
        .iter()
        .map(|a| a["event_id"].as_str().expect("id").to_owned())
        .collect();
    for id in ids(events) {
        assert!(
            alerted.contains(&id),
            "event {id} must have at least one alert"
        );
    }
}

#[tokio::test]
async fn a_batch_left_by_a_worker_that_died_after_auditing_is_finished_once_by_another() {
    let (redis, db) = seeded().await;
    let events: Vec<Value> = (0..5)
        .map(|i| event("router1", &format!("LINK-DOWN #{i}")))
        .collect();
    // The dead worker had taken the batch and committed its audit rows, then died.
    let link = rule_id(&db, "LINK-DOWN").await;
    let rows: Vec<AuditRow> = events
        .iter()
        .map(|e| AuditRow {
            event_id: e["_event_id"].as_str().expect("id").parse().expect("uuid"),
            event_timestamp: "2026-11-22T10:00:00Z".parse().expect("time"),
            hostname: "router1".into(),
            matched_rule_id: Some(link),
            handling_decision: "Page_and_ticket".into(),
            forwarded_to_moog: true,
            raw_message: e.to_string(),
            silence_id: None,
        })
        .collect();
    insert_batch(&db.pool, &rows)
        .await
        .expect("the dead worker's audit");
    let dead_list = redis.keys.processing_list(WorkerRole::Alerter, "dead");
    let items: Vec<String> = events.iter().map(Value::to_string).collect();
    shared::queue::push_batch(&mut redis.conn().await, &dead_list, &items)
        .await
        .expect("dead worker's list");

    let alerter = start(config(&redis, &db, "survivor", &[])).await;
    drained(&redis, Duration::from_secs(10)).await;
    assert_each_audited_once_and_alerted(&redis, &db, &events).await;
    alerter.stop().await;
}

#[tokio::test]
async fn a_worker_killed_mid_stream_loses_nothing_and_duplicates_no_audit_row() {
    let (redis, db) = seeded().await;
    let events: Vec<Value> = (0..3000)
        .map(|i| event("router1", &format!("LINK-DOWN #{i}")))
        .collect();
    push(&redis, &events).await;
    // No forwarder drains the alerts here, so lift the backpressure threshold.
    let roomy = [
        ("ALERTER_BATCH_SIZE", "100"),
        ("ALERTER_QUEUE_SHED_THRESHOLD", "1000000"),
    ];
    let first = start(config(&redis, &db, "victim", &roomy)).await;
    eventually(
        Duration::from_secs(10),
        "the first worker to audit something",
        || async { (!audit_rows(&db).await.is_empty()).then_some(()) },
    )
    .await;
    first.task.abort(); // a crash: no shutdown path runs
    let _ = first.task.await;

    let second = start(config(&redis, &db, "survivor", &roomy[1..])).await;
    drained(&redis, Duration::from_secs(30)).await;
    assert_each_audited_once_and_alerted(&redis, &db, &events).await;
    second.stop().await;
}

#[tokio::test]
async fn a_postgresql_outage_delays_events_and_loses_none() {
    let (redis, db) = seeded().await;
    let target = format!("{}:{}", db.config.host, db.config.port)
        .parse()
        .expect("address");
    let proxy = TcpProxy::start(target).await;
    let mut cfg = config(&redis, &db, "a1", &[]);
    cfg.db.host = proxy.addr().ip().to_string();
    cfg.db.port = proxy.addr().port();
    let alerter = start(cfg).await;

    proxy.break_connections();
    let events: Vec<Value> = (0..50)
        .map(|i| event("router1", &format!("LINK-DOWN #{i}")))
        .collect();
    push(&redis, &events).await;
    tokio::time::sleep(Duration::from_secs(2)).await; // the outage itself
    assert!(
        audit_rows(&db).await.is_empty(),
        "nothing can be audited during the outage"
    );
    let in_flight: u64 = redis::cmd("LLEN")
        .arg(redis.keys.processing_list(WorkerRole::Alerter, "a1"))
        .query_async(&mut redis.conn().await)
        .await
        .expect("LLEN");
    assert!(in_flight > 0, "the batch waits in the processing list");
    assert!(
        list(&redis, redis.keys.dlq(WorkerRole::Alerter))
            .await
            .is_empty(),
        "an outage is not poison"
    );

    proxy.restore();
    drained(&redis, Duration::from_secs(30)).await;
    assert_each_audited_once_and_alerted(&redis, &db, &events).await;
    alerter.stop().await;
}

#[tokio::test]
async fn a_value_postgresql_refuses_is_retried_then_dead_lettered_alone() {
    let (redis, db) = seeded().await;
    let alerter = start(config(&redis, &db, "a1", &[("ALERTER_MAX_RETRIES", "2")])).await;
    let good = event("router1", "LINK-DOWN fine");
    let poison = event("bad\u{0}host", "LINK-DOWN with a NUL in the hostname");
    push(&redis, &[good.clone(), poison.clone()]).await;
    let dlq_key = redis.keys.dlq(WorkerRole::Alerter).to_owned();
    let dlq = eventually(
        Duration::from_secs(20),
        "the poison event in the DLQ",
        || {
            let (redis, key) = (&redis, dlq_key.clone());
            async move {
                let items = list(redis, &key).await;
                (!items.is_empty()).then_some(items)
            }
        },
    )
    .await;
    drained(&redis, Duration::from_secs(10)).await;
    assert_eq!(dlq.len(), 1);
    let entry = &dlq[0];
    assert_eq!(entry["_event_id"], poison["_event_id"]);
    assert_eq!(
        entry["attempts"], 3,
        "first try plus ALERTER_MAX_RETRIES retries"
    );
    assert_eq!(entry["failed_service"], "alerter");
    assert!(
        entry["failure_reason"]
            .as_str()
            .expect("reason")
            .contains("postgresql refused"),
        "{entry}"
    );
    assert!(entry["failed_at"].is_string());
    let rows = audit_rows(&db).await;
    assert_eq!(rows.len(), 1, "the good event of the same batch is audited");
    assert_eq!(rows[0].0, good["_event_id"]);
    alerter.stop().await;
}

#[tokio::test]
async fn items_that_are_not_events_go_to_the_dlq_whole() {
    let (redis, db) = seeded().await;
    let alerter = start(config(&redis, &db, "a1", &[])).await;
    let items = [
        "{broken json",
        r#"{"hostname":"h"}"#,
        r#"{"hostname":"h","message":"m","timestamp":"never"}"#,
    ];
    shared::queue::push_batch(&mut redis.conn().await, &redis.keys.ingest_queue, &items)
        .await
        .expect("push");
    drained(&redis, Duration::from_secs(10)).await;
    let dlq = list(&redis, redis.keys.dlq(WorkerRole::Alerter)).await;
    assert_eq!(dlq.len(), 3);
    assert_eq!(
        dlq.iter()
            .filter(|d| d["raw"] == json!("{broken json"))
            .count(),
        1,
        "invalid JSON kept as raw"
    );
    for d in &dlq {
        assert_eq!(d["failed_service"], "alerter");
        assert!(d["failure_reason"].is_string());
    }
    assert!(audit_rows(&db).await.is_empty());
    alerter.stop().await;
}

#[tokio::test]
async fn over_the_alert_queue_threshold_the_alerter_defers_and_resumes_without_shedding() {
    // One loop, so that no second loop is already waiting in BLMOVE when the threshold is
    // crossed (each loop may take one more batch then; see docs/architecture.md).
    let (redis, db) = seeded().await;
    let alerter = start(config(
        &redis,
        &db,
        "a1",
        &[
            ("ALERTER_QUEUE_SHED_THRESHOLD", "5"),
            ("ALERTER_DEFER_SLEEP_MS", "50"),
            ("ALERTER_CONCURRENCY", "1"),
        ],
    ))
    .await;
    let first: Vec<Value> = (0..10)
        .map(|i| event("router1", &format!("LINK-DOWN #{i}")))
        .collect();
    push(&redis, &first).await;
    drained(&redis, Duration::from_secs(10)).await;
    let later: Vec<Value> = (0..5)
        .map(|i| event("router1", &format!("LINK-DOWN later #{i}")))
        .collect();
    push(&redis, &later).await;
    tokio::time::sleep(Duration::from_millis(500)).await; // long enough for several deferrals
    let waiting: u64 = redis::cmd("LLEN")
        .arg(&redis.keys.ingest_queue)
        .query_async(&mut redis.conn().await)
        .await
        .expect("LLEN");
    assert_eq!(waiting, 5, "over the threshold nothing is taken");
    assert!(
        list(&redis, redis.keys.dlq(WorkerRole::Alerter))
            .await
            .is_empty(),
        "and nothing is shed"
    );

    let _: () = redis::cmd("DEL")
        .arg(&redis.keys.alert_queue)
        .query_async(&mut redis.conn().await)
        .await
        .expect("DEL");
    drained(&redis, Duration::from_secs(10)).await;
    assert_eq!(audit_rows(&db).await.len(), 15);
    alerter.stop().await;
}

#[tokio::test]
async fn the_alerter_dlq_is_replayed_periodically_once_dependencies_are_healthy() {
    let (redis, db) = seeded().await;
    let failed = event("router1", "LINK-DOWN that failed earlier");
    let entry = shared::queue::dead_letter_payload(
        failed.to_string().as_bytes(),
        &shared::queue::Failure::new("postgresql was down", 4),
        "alerter",
        chrono::Utc::now(),
    );
    shared::queue::push_batch(
        &mut redis.conn().await,
        redis.keys.dlq(WorkerRole::Alerter),
        &[entry],
    )
    .await
    .expect("push");
    let alerter = start(config(
        &redis,
        &db,
        "a1",
        &[("REMEDIATION_INTERVAL", "0.3")],
    ))
    .await;
    eventually(
        Duration::from_secs(10),
        "the replayed event to be audited",
        || async {
            audit_rows(&db)
                .await
                .iter()
                .any(|r| r.0 == failed["_event_id"])
                .then_some(())
        },
    )
    .await;
    assert!(
        list(&redis, redis.keys.dlq(WorkerRole::Alerter))
            .await
            .is_empty()
    );
    alerter.stop().await;
}

#[tokio::test]
async fn an_event_in_its_processing_list_that_it_never_took_knowingly_is_processed() {
    let (redis, db) = seeded().await;
    let alerter = start(config(&redis, &db, "a1", &[])).await;
    // What a BLMOVE whose reply was lost (a Redis restart) leaves behind.
    let orphan = event("router9", "LINK-DOWN orphaned");
    let _: () = redis::cmd("LPUSH")
        .arg(redis.keys.processing_list(WorkerRole::Alerter, "a1"))
        .arg(orphan.to_string())
        .query_async(&mut redis.conn().await)
        .await
        .expect("plant");
    eventually(
        Duration::from_secs(15),
        "the orphaned event to be audited",
        || async {
            audit_rows(&db)
                .await
                .iter()
                .any(|row| orphan["_event_id"] == row.0.as_str())
                .then_some(())
        },
    )
    .await;
    alerter.stop().await;
}
