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
