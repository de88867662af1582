//! Changing QUEUE_SHARDS: what the old layout left (queues, retry sets, DLQs, a crashed
//! run's holding list, dead workers' processing lists) ends up in the new layout, in order,
//! nothing lost; a live worker's list is left and reported. On one Redis and on a real
//! Redis Cluster, where the old and new keys are in different slots.

use shared::queue::reshard::{Reshard, ReshardReport};
use shared::queue::{Heartbeat, push_batch};
use shared::redis::RedisConn;
use shared::redis::keys::{RedisKeys, WorkerRole};
use shared::testing::{PrivateCluster, TestRedis};
use std::time::Duration;

async fn list(conn: &mut RedisConn, key: &str) -> Vec<String> {
    redis::cmd("LRANGE")
        .arg(key)
        .arg(0)
        .arg(-1)
        .query_async(conn)
        .await
        .expect("LRANGE")
}

/// Takes everything from the consumers' end of `queue`, in the order a worker would.
async fn drain(conn: &mut RedisConn, queue: &str) -> Vec<String> {
    let mut taken = Vec::new();
    while let Some(item) = redis::cmd("RPOP")
        .arg(queue)
        .query_async::<Option<String>>(conn)
        .await
        .expect("RPOP")
    {
        taken.push(item);
    }
    taken
}

async fn leftovers_move(conn: &mut RedisConn, old: &RedisKeys, new: &RedisKeys) {
    let last_old = old.shard(old.shard_count() - 1);
    // 1,200 events waiting on the last old shard (more than one chunk), oldest pushed first.
    let events: Vec<String> = (0..1_200).map(|i| format!("event-{i}")).collect();
    push_batch(conn, &last_old.ingest_queue, &events)
        .await
        .expect("push");
    push_batch(conn, &last_old.alert_queue, &["alert-0", "alert-1"])
        .await
        .expect("push");
    let _: () = redis::cmd("ZADD")
        .arg(&last_old.moog_retry_queue)
        .arg(1234)
        .arg("retry-0")
        .query_async(conn)
        .await
        .expect("ZADD");
    push_batch(conn, &old.alerter_dlq, &["dead-letter-0"])
        .await
        .expect("push");
    // A dead alerter's list (no heartbeat) and a live one's.
    push_batch(
        conn,
        &last_old.processing_list(WorkerRole::Alerter, "gone"),
        &["held-0"],
    )
    .await
    .expect("push");
    let live = last_old.processing_list(WorkerRole::Alerter, "alive");
    push_batch(conn, &live, &["held-1"]).await.expect("push");
    Heartbeat::new(
        old,
        WorkerRole::Alerter,
        "alive",
        Duration::from_secs(1),
        Duration::from_secs(60),
    )
    .beat(conn)
    .await
    .expect("beat");

    let reshard = Reshard { old, new };
    let report = reshard.run(conn).await.expect("reshard");
    // The DLQs live with shard 0; its tag may be the same in both layouts.
    let dlq_moves = u64::from(old.alerter_dlq != new.alerter_dlq);
    assert_eq!(
        report,
        ReshardReport {
            queued: 1_200 + 2 + 1 + dlq_moves,
            held_by_gone_workers: 1,
            lists_of_live_workers: vec![live.clone()],
        }
    );
    let target = new.shard((old.shard_count() - 1) % new.shard_count());
    let mut taken = drain(conn, &target.ingest_queue).await;
    assert_eq!(
        taken.pop().as_deref(),
        Some("held-0"),
        "the dead worker's item last"
    );
    assert_eq!(taken, events, "the waiting events, oldest first");
    assert_eq!(
        drain(conn, &target.alert_queue).await,
        ["alert-0", "alert-1"]
    );
    let retries: Vec<(String, f64)> = redis::cmd("ZRANGE")
        .arg(&target.moog_retry_queue)
        .arg(0)
        .arg(-1)
        .arg("WITHSCORES")
        .query_async(conn)
        .await
        .expect("ZRANGE");
    assert_eq!(retries, [("retry-0".to_owned(), 1234.0)]);
    let _: () = redis::cmd("DEL")
        .arg(&target.moog_retry_queue)
        .query_async(conn)
        .await
        .expect("DEL");
    assert_eq!(drain(conn, &new.alerter_dlq).await, ["dead-letter-0"]);
    for shard in old.shards() {
        for key in [&shard.ingest_queue, &shard.alert_queue] {
            if !new
                .shards()
                .iter()
                .any(|n| &n.ingest_queue == key || &n.alert_queue == key)
            {
                assert!(list(conn, key).await.is_empty(), "{key} emptied");
            }
        }
    }
    assert_eq!(
        list(conn, &live).await,
        ["held-1"],
        "a live worker's list is left"
    );

    // Once that worker is gone, a second run takes its list; a third finds nothing.
    let _: () = redis::cmd("DEL")
        .arg(last_old.heartbeat(WorkerRole::Alerter, "alive"))
        .query_async(conn)
        .await
        .expect("DEL");
    let again = reshard.run(conn).await.expect("reshard");
    assert_eq!(again.held_by_gone_workers, 1);
    assert_eq!(drain(conn, &target.ingest_queue).await, ["held-1"]);
    assert_eq!(
        reshard.run(conn).await.expect("reshard"),
        ReshardReport::default()
    );
}

#[tokio::test]
async fn from_one_shard_to_two_on_one_redis_and_back() {
    let redis = TestRedis::new().await;
    let mut conn = redis.conn().await;
    let one = redis.keys.clone();
    let two = one.with_shards(2);
    leftovers_move(&mut conn, &one, &two).await;
    leftovers_move(&mut conn, &two, &one).await;
}

#[tokio::test]
async fn from_three_shards_to_two_on_a_cluster() {
    let cluster = PrivateCluster::start().await;
    let redis = cluster.test_redis(3).await;
    let mut conn = redis.conn().await;
    let three = redis.keys.clone();
    leftovers_move(&mut conn, &three, &three.with_shards(2)).await;
}
