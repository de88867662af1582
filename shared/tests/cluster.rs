//! The connection to a real Redis Cluster (three primaries, three replicas): what the
//! services rely on beyond single commands.

use shared::redis::RedisConn;
use shared::testing::PrivateCluster;
use std::time::{Duration, Instant};

#[tokio::test]
async fn a_blocking_take_may_wait_longer_than_an_ordinary_reply() {
    let cluster = PrivateCluster::start().await;
    let redis = cluster.test_redis(3).await;
    let block = Duration::from_secs(3);
    let mut blocking = redis.blocking_conn(block).await;
    let started = Instant::now();
    // Longer than the 2 s an ordinary reply may take: the blocking connection must wait.
    let taken: Option<String> = redis::cmd("BLMOVE")
        .arg(&redis.keys.ingest_queue)
        .arg(format!("{}:mine", redis.keys.ingest_queue))
        .arg("RIGHT")
        .arg("LEFT")
        .arg(block.as_secs_f64())
        .query_async(&mut blocking)
        .await
        .expect("an empty answer after the block, not a timeout");
    assert_eq!(taken, None);
    assert!(started.elapsed() >= block);
}

#[tokio::test]
async fn a_pipeline_over_many_slots_is_answered_in_order_and_wait_follows_its_write() {
    let cluster = PrivateCluster::start().await;
    let redis = cluster.test_redis(3).await;
    let mut conn = redis.conn().await;
    assert!(matches!(conn, RedisConn::Cluster(_)));
    let shards = redis.keys.shards();
    let mut pipe = redis::pipe();
    for (i, shard) in shards.iter().enumerate() {
        pipe.cmd("LPUSH")
            .arg(&shard.ingest_queue)
            .arg(format!("e{i}"));
        // Waits for that write's replica: on the node of the shard before it.
        pipe.cmd("WAIT").arg(1).arg(2_000);
    }
    pipe.cmd("MGET").arg("{a}x").arg("{b}y").arg("{c}z");
    let (a, wa, b, wb, c, wc, nothing): (u64, u64, u64, u64, u64, u64, Vec<Option<String>>) =
        pipe.query_async(&mut conn).await.expect("the pipeline");
    assert_eq!((a, b, c), (1, 1, 1));
    assert_eq!(
        (wa, wb, wc),
        (1, 1, 1),
        "each write confirmed by its primary's replica"
    );
    assert_eq!(nothing, [None, None, None]);
}

#[tokio::test]
async fn a_dead_letter_to_another_node_is_removed_only_once_a_replica_holds_it() {
    use shared::queue::{Failure, QueueError, ReliableQueue, push_batch};
    use shared::redis::keys::WorkerRole;
    use shared::redis::settings::Replication;

    let cluster = PrivateCluster::start().await;
    let redis = cluster.test_redis(3).await;
    // Shard 1's lists live on another primary than the DLQs (shard 0's slot).
    let shard = redis.keys.shard(1);
    let dlq_primary = cluster
        .primary_of(&redis.keys.alerter_dlq)
        .await
        .expect("a primary");
    assert_ne!(
        cluster.primary_of(&shard.ingest_queue).await,
        Some(dlq_primary)
    );
    // Generous while the replica answers (tests share two cores); short once it cannot.
    let confirmed = |ms| Replication {
        replicas: 1,
        timeout: Duration::from_millis(ms),
    };
    let queue = ReliableQueue::new(&shard, WorkerRole::Alerter, "w", "alerter")
        .confirmed_by(confirmed(10_000));
    let mut conn = redis.conn().await;
    push_batch(
        &mut conn,
        &shard.ingest_queue,
        &[r#"{"n":1}"#, r#"{"n":2}"#],
    )
    .await
    .expect("push");
    let mut blocking = redis.blocking_conn(Duration::from_secs(1)).await;
    let items = queue
        .take_batch(&mut blocking, 2, Duration::from_secs(1))
        .await
        .expect("take");
    assert_eq!(items.len(), 2);
    let reader = conn.clone();
    let length = |key: String| {
        let mut conn = reader.clone();
        async move {
            redis::cmd("LLEN")
                .arg(key)
                .query_async::<u64>(&mut conn)
                .await
                .expect("LLEN")
        }
    };

    queue
        .dead_letter(&mut conn, &items[0], &Failure::new("poison", 1))
        .await
        .expect("confirmed by the DLQs' replica");
    assert_eq!(length(queue.processing_list().to_owned()).await, 1);

    // The DLQs' replica stops confirming: the push is refused as unsafe and the item stays.
    let replica = cluster.replica_of(dlq_primary).await;
    cluster.node(replica).pause();
    let queue = queue.confirmed_by(confirmed(500));
    let refused = queue
        .dead_letter(&mut conn, &items[1], &Failure::new("poison", 1))
        .await;
    cluster.node(replica).resume();
    assert!(
        matches!(
            refused,
            Err(QueueError::NotReplicated {
                confirmed: 0,
                wanted: 1
            })
        ),
        "{refused:?}"
    );
    assert_eq!(
        length(queue.processing_list().to_owned()).await,
        1,
        "not removed from the processing list"
    );
    assert_eq!(
        length(redis.keys.alerter_dlq.clone()).await,
        2,
        "at worst twice, never lost"
    );
}
