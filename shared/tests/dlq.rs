//! DLQ tooling against a real Redis.

use serde_json::{Value, json};
use shared::queue::dead_letter::{Dlq, DlqName, ReplayReport};
use shared::queue::{Failure, ReliableQueue, push_batch};
use shared::redis::keys::WorkerRole;
use shared::testing::TestRedis;
use std::time::Duration;

async fn dead_letter(redis: &TestRedis, role: WorkerRole, items: &[&str]) {
    let mut conn = redis.conn().await;
    let queue = ReliableQueue::new(&redis.keys, role, "w", "test");
    push_batch(&mut conn, queue.source(), items)
        .await
        .expect("push");
    let taken = queue
        .take_batch(
            &mut redis.blocking_conn(Duration::from_millis(200)).await,
            items.len(),
            Duration::from_millis(200),
        )
        .await
        .expect("take");
    for item in &taken {
        queue
            .dead_letter(
                &mut conn,
                item,
                &Failure {
                    reason: "boom".into(),
                    attempts: 4,
                    last_http_status: Some(500),
                },
            )
            .await
            .expect("dlq");
    }
}

async fn lrange(redis: &TestRedis, key: &str) -> Vec<Value> {
    let items: Vec<String> = redis::cmd("LRANGE")
        .arg(key)
        .arg(0)
        .arg(-1)
        .query_async(&mut redis.conn().await)
        .await
        .expect("LRANGE");
    items
        .iter()
        .map(|i| serde_json::from_str(i).expect("json"))
        .collect()
}

#[tokio::test]
async fn list_pages_oldest_first_and_purge_empties() {
    let redis = TestRedis::new().await;
    let items: Vec<String> = (0..5)
        .map(|i| json!({"hostname": "h", "n": i}).to_string())
        .collect();
    let refs: Vec<&str> = items.iter().map(String::as_str).collect();
    dead_letter(&redis, WorkerRole::Alerter, &refs).await;
    let dlq = Dlq::new(&redis.keys);
    let mut conn = redis.conn().await;
    let page: Vec<i64> = dlq
        .list(&mut conn, DlqName::Alerter, 1, 2)
        .await
        .expect("list")
        .iter()
        .map(|v| v["n"].as_i64().expect("n"))
        .collect();
    assert_eq!(page, [1, 2]);
    // Found by schemathesis: an offset past i64::MAX panicked (an overflowing negation).
    for offset in [5, i64::MAX as u64, i64::MAX as u64 + 1, u64::MAX] {
        let page = dlq.list(&mut conn, DlqName::Alerter, offset, 200).await;
        assert_eq!(
            page.expect("list"),
            Vec::<serde_json::Value>::new(),
            "{offset}"
        );
    }
    assert_eq!(
        dlq.list(&mut conn, DlqName::Alerter, 0, 1)
            .await
            .expect("list")[0]["failure_reason"],
        "boom"
    );
    assert_eq!(
        dlq.purge(&mut conn, DlqName::Alerter).await.expect("purge"),
        5
    );
    assert_eq!(
        dlq.depth(&mut conn, DlqName::Alerter).await.expect("depth"),
        0
    );
}

#[tokio::test]
async fn replay_restores_items_to_their_queue_and_caps_poison() {
    let redis = TestRedis::new().await;
    dead_letter(
        &redis,
        WorkerRole::Moog,
        &[
            r#"{"hostname":"r1","_moog_retry_count":5}"#,
            r#"{"hostname":"r2"}"#,
        ],
    )
    .await;
    dead_letter(&redis, WorkerRole::Alerter, &["not json"]).await;
    let dlq = Dlq::new(&redis.keys);
    let mut conn = redis.conn().await;

    let report = dlq
        .replay(&mut conn, DlqName::Moog, Some(1), 2)
        .await
        .expect("replay");
    assert_eq!(
        report,
        ReplayReport {
            replayed: 1,
            dead: 0
        }
    );
    let alerts = lrange(&redis, &redis.keys.alert_queue).await;
    assert_eq!(
        alerts,
        [json!({"hostname": "r1", "_replay_count": 1})],
        "oldest first; metadata and retry count gone"
    );

    // Round trips through the DLQ until the poison cap sends it to dead.
    let queue = ReliableQueue::new(&redis.keys, WorkerRole::Moog, "w", "test");
    let blocking = &mut redis.blocking_conn(Duration::from_millis(200)).await;
    for expected_dead in [0, 1] {
        let taken = queue
            .take_batch(blocking, 10, Duration::from_millis(200))
            .await
            .expect("take");
        for item in taken
            .iter()
            .filter(|i| serde_json::from_slice::<Value>(i).expect("json")["hostname"] == "r1")
        {
            queue
                .dead_letter(&mut conn, item, &Failure::new("again", 1))
                .await
                .expect("dlq");
        }
        let report = dlq
            .replay(&mut conn, DlqName::Moog, None, 2)
            .await
            .expect("replay");
        assert_eq!(report.dead, expected_dead);
    }
    let dead = lrange(&redis, &redis.keys.dead_letter_queue).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0]["hostname"], "r1");
    assert_eq!(
        dead[0]["_replay_count"], 2,
        "replayed twice (the cap) before being retired"
    );

    let report = dlq
        .replay(&mut conn, DlqName::Alerter, None, 3)
        .await
        .expect("replay");
    assert_eq!(
        report,
        ReplayReport {
            replayed: 0,
            dead: 1
        },
        "invalid JSON cannot be replayed"
    );
    assert!(matches!(
        dlq.replay(&mut conn, DlqName::Dead, None, 3).await,
        Err(shared::queue::dead_letter::DlqError::NotReplayable)
    ));
}
