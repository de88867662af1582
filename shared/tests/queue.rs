//! The reliable queue against a real Redis.

use shared::queue::{Failure, Heartbeat, Janitor, ReliableQueue, push_batch};
use shared::redis::keys::WorkerRole;
use shared::testing::{CountingConnection, PrivateRedis, TestRedis, eventually};
use std::time::Duration;

const BLOCK: Duration = Duration::from_millis(200);

fn alerter(redis: &TestRedis, pod: &str) -> ReliableQueue {
    ReliableQueue::new(&redis.keys, WorkerRole::Alerter, pod, "alerter")
}

async fn lrange(redis: &TestRedis, key: &str) -> Vec<Vec<u8>> {
    let mut conn = redis.conn().await;
    redis::cmd("LRANGE")
        .arg(key)
        .arg(0)
        .arg(-1)
        .query_async(&mut conn)
        .await
        .expect("LRANGE")
}

#[tokio::test]
async fn push_take_ack_preserves_order_and_bytes() {
    let redis = TestRedis::new().await;
    let mut conn = redis.conn().await;
    let mut blocking = redis.blocking_conn(BLOCK).await;
    let queue = alerter(&redis, "w1");
    let items: Vec<Vec<u8>> = vec![
        br#"{"n":1}"#.to_vec(),
        "{\"n\":2,\"text\":\"caf\u{e9} \u{1F680}\"}"
            .as_bytes()
            .to_vec(),
        b"\xff\x00not utf-8".to_vec(),
        br#"{"n":4}"#.to_vec(),
    ];
    push_batch(&mut conn, queue.source(), &items)
        .await
        .expect("push");

    let taken = queue
        .take_batch(&mut blocking, 10, BLOCK)
        .await
        .expect("take");
    assert_eq!(taken, items, "taken oldest first, byte for byte");
    assert_eq!(lrange(&redis, queue.source()).await.len(), 0);
    assert_eq!(queue.processing_depth(&mut conn).await.expect("llen"), 4);

    queue.ack(&mut conn, &taken).await.expect("ack");
    assert_eq!(queue.processing_depth(&mut conn).await.expect("llen"), 0);
    assert!(
        queue
            .take_batch(&mut blocking, 10, BLOCK)
            .await
            .expect("take")
            .is_empty(),
        "times out empty"
    );
}

/// Runs each script of the queue once, so that round trips counted afterwards do not
/// include the one-time `NOSCRIPT` reload a fresh Redis answers to the first `EVALSHA`.
async fn warm_script_cache(redis: &TestRedis, queue: &ReliableQueue) {
    let mut conn = redis.conn().await;
    let mut blocking = redis.blocking_conn(BLOCK).await;
    let items: Vec<String> = (0..8).map(|i| format!("warm-{i}")).collect();
    push_batch(&mut conn, queue.source(), &items)
        .await
        .expect("push");
    let taken = queue
        .take_batch(&mut blocking, 8, BLOCK)
        .await
        .expect("take");
    queue.ack(&mut conn, &taken).await.expect("ack");
}

#[tokio::test]
async fn a_take_costs_redis_commands_by_the_items_moved_not_the_batch_size() {
    // A private server, so that INFO commandstats counts this test's commands only.
    let private = PrivateRedis::start().await;
    let redis = private.test_redis().await;
    let queue = alerter(&redis, "w1");
    let mut conn = redis.conn().await;
    let mut blocking = redis.blocking_conn(BLOCK).await;
    warm_script_cache(&redis, &queue).await;

    let total = |calls: &std::collections::BTreeMap<String, u64>| calls.values().sum::<u64>();
    // One item waiting, a batch of 500 asked for: BLMOVE, then one script (EVALSHA + an
    // LRANGE that finds nothing), not 499 LMOVEs that find nothing.
    push_batch(&mut conn, queue.source(), &["one"])
        .await
        .expect("push");
    let (taken, used) = private
        .commands_during(queue.take_batch(&mut blocking, 500, BLOCK))
        .await;
    assert_eq!(taken.expect("take"), vec![b"one".to_vec()]);
    assert_eq!(total(&used), 3, "{used:?}");

    // 300 waiting, 500 asked for: BLMOVE, EVALSHA, LRANGE, LTRIM, LPUSH.
    let items: Vec<String> = (0..300).map(|i| format!("item-{i}")).collect();
    push_batch(&mut conn, queue.source(), &items)
        .await
        .expect("push");
    let (taken, used) = private
        .commands_during(queue.take_batch(&mut blocking, 500, BLOCK))
        .await;
    let taken = taken.expect("take");
    assert_eq!(taken.len(), 300);
    assert_eq!(total(&used), 5, "{used:?}");

    // Acking them: EVALSHA, LRANGE of the tail window, LTRIM of it, RPUSH of what the
    // window held that was not acked ("one").
    let (acked, used) = private.commands_during(queue.ack(&mut conn, &taken)).await;
    acked.expect("ack");
    assert_eq!(total(&used), 4, "{used:?}");
    assert_eq!(
        queue.processing_depth(&mut conn).await.expect("llen"),
        1,
        "'one' is still held"
    );

    // An idle worker: one BLMOVE per timeout.
    let (taken, used) = private
        .commands_during(queue.take_batch(&mut blocking, 500, BLOCK))
        .await;
    assert!(taken.expect("take").is_empty());
    assert_eq!(total(&used), 1, "{used:?}");
}

#[tokio::test]
async fn acks_in_any_order_remove_exactly_those_items_and_keep_the_rest_in_order() {
    let redis = TestRedis::new().await;
    let queue = alerter(&redis, "w1");
    let mut conn = redis.conn().await;
    let mut blocking = redis.blocking_conn(BLOCK).await;
    // Duplicates on purpose: an ack removes one copy per acked item.
    let items: Vec<String> = (0..40).map(|i| format!("item-{}", i % 30)).collect();
    push_batch(&mut conn, queue.source(), &items)
        .await
        .expect("push");
    let first = queue
        .take_batch(&mut blocking, 25, BLOCK)
        .await
        .expect("take");
    let second = queue
        .take_batch(&mut blocking, 25, BLOCK)
        .await
        .expect("take");
    assert_eq!((first.len(), second.len()), (25, 15));

    // The second batch is acked first (it sits at the list's left, outside the tail window
    // of a small ack), then every other item of the first, then a few one by one.
    queue.ack(&mut conn, &second).await.expect("ack second");
    let odd: Vec<&Vec<u8>> = first.iter().skip(1).step_by(2).collect();
    queue.ack(&mut conn, &odd).await.expect("ack odd");
    let mut expected_left: Vec<Vec<u8>> = first.iter().step_by(2).cloned().collect();
    expected_left.reverse(); // the list holds the newest taken at its left
    assert_eq!(lrange(&redis, queue.processing_list()).await, expected_left);
    let even: Vec<&Vec<u8>> = first.iter().step_by(2).collect();
    queue.ack(&mut conn, &even[..2]).await.expect("ack two");
    queue
        .ack(&mut conn, &even[2..])
        .await
        .expect("ack the rest");
    assert!(lrange(&redis, queue.processing_list()).await.is_empty());
    assert!(lrange(&redis, queue.source()).await.is_empty());
}

#[tokio::test]
async fn a_batch_of_1000_costs_constant_round_trips() {
    let redis = TestRedis::new().await;
    let queue = alerter(&redis, "w1");
    let items: Vec<String> = (0..1000).map(|i| format!(r#"{{"seq":{i}}}"#)).collect();
    warm_script_cache(&redis, &queue).await;

    let mut conn = CountingConnection::new(redis.conn().await);
    push_batch(&mut conn, queue.source(), &items)
        .await
        .expect("push");
    assert_eq!(conn.round_trips(), 1, "push of 1000 is one round trip");

    let mut blocking = CountingConnection::new(redis.blocking_conn(BLOCK).await);
    let taken = queue
        .take_batch(&mut blocking, 1000, BLOCK)
        .await
        .expect("take");
    assert_eq!(taken.len(), 1000);
    assert_eq!(
        blocking.round_trips(),
        2,
        "take of 1000 is BLMOVE plus one script"
    );

    conn.reset();
    queue.ack(&mut conn, &taken).await.expect("ack");
    assert_eq!(conn.round_trips(), 1, "ack of 1000 is one round trip");
    assert_eq!(queue.processing_depth(&mut conn).await.expect("llen"), 0);
    println!("round trips per 1000-item batch: push 1, take 2, ack 1");
}

#[tokio::test]
async fn a_dead_workers_items_are_returned_once_and_a_live_workers_are_left_alone() {
    let redis = TestRedis::new().await;
    let mut conn = redis.conn().await;
    let mut blocking = redis.blocking_conn(BLOCK).await;
    let keys = &redis.keys;
    let ttl = Duration::from_millis(300);

    // Two workers take batches; "dead" stops beating, "live" keeps beating.
    let items: Vec<String> = (0..6).map(|i| format!(r#"{{"seq":{i}}}"#)).collect();
    push_batch(&mut conn, &keys.ingest_queue, &items)
        .await
        .expect("push");
    let dead = alerter(&redis, "dead");
    let live = alerter(&redis, "live");
    let dead_batch = dead
        .take_batch(&mut blocking, 3, BLOCK)
        .await
        .expect("take");
    let live_batch = live
        .take_batch(&mut blocking, 3, BLOCK)
        .await
        .expect("take");
    assert_eq!(dead_batch.len() + live_batch.len(), 6);

    let dead_beat = Heartbeat::new(
        keys,
        WorkerRole::Alerter,
        "dead",
        Duration::from_millis(100),
        ttl,
    );
    dead_beat.beat(&mut conn).await.expect("beat");
    let live_beat = Heartbeat::new(
        keys,
        WorkerRole::Alerter,
        "live",
        Duration::from_millis(500),
        Duration::from_secs(30),
    );
    let stop = tokio_util::sync::CancellationToken::new();
    // Beat once before sweeping: the spawned loop may not have run yet.
    live_beat.beat(&mut conn).await.expect("beat");
    tokio::spawn(live_beat.run(redis.conn().await, stop.clone()));

    // While the dead worker's heartbeat is still fresh, nothing moves.
    let janitor = Janitor::new(keys, WorkerRole::Alerter, "third");
    let report = janitor.sweep(&mut conn).await.expect("sweep");
    assert_eq!(report.items_returned, 0);
    assert_eq!(report.lists_checked, 2);

    // Once it expires, its items come back, oldest at the consumers' end, exactly once,
    // even with two janitors sweeping at the same time.
    let other = Janitor::new(keys, WorkerRole::Alerter, "fourth");
    let returned = eventually(
        Duration::from_secs(5),
        "the dead worker's heartbeat to expire",
        || {
            let (j1, j2) = (janitor.clone(), other.clone());
            let (mut c1, mut c2) = (conn.clone(), conn.clone());
            async move {
                let (a, b) = tokio::join!(j1.sweep(&mut c1), j2.sweep(&mut c2));
                let moved = a.expect("sweep").items_returned + b.expect("sweep").items_returned;
                (moved > 0).then_some(moved)
            }
        },
    )
    .await;
    assert_eq!(returned, 3);
    assert_eq!(
        lrange(&redis, &keys.processing_list(WorkerRole::Alerter, "dead"))
            .await
            .len(),
        0
    );
    assert_eq!(
        lrange(&redis, &keys.processing_list(WorkerRole::Alerter, "live"))
            .await
            .len(),
        3,
        "live list untouched"
    );

    let again = alerter(&redis, "third")
        .take_batch(&mut blocking, 10, BLOCK)
        .await
        .expect("take");
    assert_eq!(again, dead_batch, "returned in their original order, once");
    assert_eq!(
        janitor
            .sweep(&mut conn)
            .await
            .expect("sweep")
            .items_returned,
        0
    );
    stop.cancel();
}

#[tokio::test]
async fn dead_lettered_items_carry_their_metadata() {
    let redis = TestRedis::new().await;
    let mut conn = redis.conn().await;
    let mut blocking = redis.blocking_conn(BLOCK).await;
    let queue = alerter(&redis, "w1");
    push_batch(
        &mut conn,
        queue.source(),
        &[r#"{"hostname":"r1"}"#, "not json"],
    )
    .await
    .expect("push");
    let taken = queue
        .take_batch(&mut blocking, 2, BLOCK)
        .await
        .expect("take");

    let failure = Failure {
        reason: "value refused by postgresql".into(),
        attempts: 4,
        last_http_status: None,
    };
    for item in &taken {
        queue
            .dead_letter(&mut conn, item, &failure)
            .await
            .expect("dead-letter");
    }
    assert_eq!(
        queue.processing_depth(&mut conn).await.expect("llen"),
        0,
        "removed from processing"
    );
    let dlq = lrange(&redis, queue.dlq()).await;
    assert_eq!(dlq.len(), 2);
    let entries: Vec<serde_json::Value> = dlq
        .iter()
        .map(|d| serde_json::from_slice(d).expect("json"))
        .collect();
    let object = entries
        .iter()
        .find(|e| e.get("hostname").is_some())
        .expect("object entry");
    let raw = entries
        .iter()
        .find(|e| e.get("raw").is_some())
        .expect("raw entry");
    assert_eq!(raw["raw"], "not json");
    for entry in [object, raw] {
        assert_eq!(entry["failure_reason"], "value refused by postgresql");
        assert_eq!(entry["failed_service"], "alerter");
        assert_eq!(entry["attempts"], 4);
        let failed_at = entry["failed_at"].as_str().expect("failed_at");
        assert!(
            chrono::DateTime::parse_from_rfc3339(failed_at).is_ok(),
            "{failed_at}"
        );
    }
}

#[tokio::test]
async fn requeue_counts_retries_and_recover_own_returns_a_restarted_workers_items() {
    let redis = TestRedis::new().await;
    let mut conn = redis.conn().await;
    let mut blocking = redis.blocking_conn(BLOCK).await;
    let queue = alerter(&redis, "w1");
    push_batch(&mut conn, queue.source(), &[r#"{"n":1}"#, r#"{"n":2}"#])
        .await
        .expect("push");
    let taken = queue
        .take_batch(&mut blocking, 2, BLOCK)
        .await
        .expect("take");

    assert_eq!(
        queue
            .requeue(&mut conn, &taken[0], "_retry_count")
            .await
            .expect("requeue"),
        1
    );
    let back = lrange(&redis, queue.source()).await;
    let v: serde_json::Value = serde_json::from_slice(&back[0]).expect("json");
    assert_eq!(v, serde_json::json!({"n": 1, "_retry_count": 1}));
    assert!(matches!(
        queue.requeue(&mut conn, b"[]", "_retry_count").await,
        Err(shared::queue::QueueError::NotAnObject)
    ));

    // The same POD_NAME restarts: its previous life's item is taken again, first.
    assert_eq!(queue.recover_own(&mut conn).await.expect("recover"), 1);
    let next = queue
        .take_batch(&mut blocking, 1, BLOCK)
        .await
        .expect("take");
    assert_eq!(next, vec![taken[1].clone()]);
}

#[tokio::test]
async fn a_test_prefix_keeps_every_key_and_is_cleaned_on_drop() {
    let keys;
    {
        let redis = TestRedis::new().await;
        keys = redis.keys.clone();
        let mut conn = redis.conn().await;
        push_batch(&mut conn, &keys.ingest_queue, &["x"])
            .await
            .expect("push");
        Heartbeat::new(
            &keys,
            WorkerRole::Moog,
            "m",
            Duration::from_secs(1),
            Duration::from_secs(30),
        )
        .beat(&mut conn)
        .await
        .expect("beat");
        let mut present = redis.keys_present().await;
        present.sort();
        assert_eq!(
            present,
            [
                keys.heartbeat(WorkerRole::Moog, "m"),
                keys.ingest_queue.clone()
            ]
        );
    }
    let check = TestRedis::new().await;
    let mut conn = check.conn().await;
    let n: u64 = redis::cmd("EXISTS")
        .arg(&keys.ingest_queue)
        .query_async(&mut conn)
        .await
        .expect("EXISTS");
    assert_eq!(n, 0, "dropped TestRedis removed its keys");
}

#[tokio::test]
async fn items_a_live_worker_took_without_knowing_go_back_after_two_passes() {
    use shared::queue::InFlight;
    let redis = TestRedis::new().await;
    let queue = alerter(&redis, "w1");
    let mut conn = redis.conn().await;
    push_batch(&mut conn, queue.source(), &["a", "b"])
        .await
        .expect("push");
    let taken = queue
        .take_batch(
            &mut redis.blocking_conn(Duration::from_secs(2)).await,
            10,
            Duration::from_secs(1),
        )
        .await
        .expect("take");
    assert_eq!(taken.len(), 2);
    let in_flight = InFlight::default();
    in_flight.hold(&taken);
    // What a take whose reply was lost leaves behind: an item nobody in the process knows.
    let _: () = redis::cmd("LPUSH")
        .arg(queue.processing_list())
        .arg("orphan")
        .query_async(&mut conn)
        .await
        .expect("plant");
    // And one taken just now, not yet recorded when the first pass looks.
    let _: () = redis::cmd("LPUSH")
        .arg(queue.processing_list())
        .arg("just-taken")
        .query_async(&mut conn)
        .await
        .expect("plant");

    let mut suspects = Default::default();
    let first = queue
        .return_orphans(&mut conn, &in_flight, &mut suspects)
        .await
        .expect("first pass");
    assert_eq!(first, 0, "nothing goes back on the first sight");
    in_flight.hold(&[b"just-taken".to_vec()]);
    let second = queue
        .return_orphans(&mut conn, &in_flight, &mut suspects)
        .await
        .expect("second pass");
    assert_eq!(second, 1);
    assert_eq!(lrange(&redis, queue.source()).await, [b"orphan".to_vec()]);
    let mut left = lrange(&redis, queue.processing_list()).await;
    left.sort();
    assert_eq!(
        left,
        [b"a".to_vec(), b"b".to_vec(), b"just-taken".to_vec()],
        "held items stay"
    );
    in_flight.release(taken.iter().map(|i| i.as_slice()));
    assert_eq!(in_flight.len(), 1);
}
