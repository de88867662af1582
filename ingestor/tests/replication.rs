//! Replicated acknowledgements (`INGEST_ACK_REPLICAS`) against a real primary and replica:
//! a sender is answered 200 only once the replica holds its events, with one `WAIT` per
//! coalesced write; without the replica it is answered 503 and the timeout is counted;
//! and with the default of 0 no `WAIT` is sent at all.

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use shared::testing::PrivateRedis;
use support::{KEY, config, start};

fn event(n: usize) -> Value {
    json!({"hostname": "core-rtr1", "message": format!("event {n}"), "timestamp": "2026-11-22T10:00:00Z"})
}

async fn post(url: &str, body: &Value) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(url)
        .header("x-api-key", KEY)
        .json(body)
        .send()
        .await
        .expect("request");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn queue_length(server: &PrivateRedis, queue: &str) -> u64 {
    let redis = server.test_redis().await;
    redis::cmd("LLEN")
        .arg(queue)
        .query_async(&mut redis.conn().await)
        .await
        .expect("LLEN")
}

fn counter(registry: &prometheus::Registry, name: &str) -> f64 {
    registry
        .gather()
        .iter()
        .filter(|family| family.name() == name)
        .flat_map(|family| family.get_metric())
        .map(|metric| metric.get_counter().get_value())
        .sum()
}

/// A primary and its replica, and an ingestor on the primary that waits for the replica.
struct Replicated {
    primary: PrivateRedis,
    replica: PrivateRedis,
    queue: String,
    app: support::Running,
}

async fn replicated(ack_timeout_ms: u64) -> Replicated {
    let primary = PrivateRedis::start().await;
    let replica = PrivateRedis::start().await;
    replica.replicate(&primary).await;
    let redis = primary.test_redis().await;
    let queue = redis.keys.ingest_queue.clone();
    let timeout = ack_timeout_ms.to_string();
    let app = start(config(
        &redis,
        &[
            ("INGEST_ACK_REPLICAS", "1"),
            ("INGEST_ACK_TIMEOUT_MS", &timeout),
        ],
    ))
    .await;
    Replicated {
        primary,
        replica,
        queue,
        app,
    }
}

#[tokio::test]
async fn an_event_is_acknowledged_only_once_a_replica_holds_it() {
    let Replicated {
        primary,
        replica,
        queue,
        app,
    } = replicated(500).await;

    let ((status, body), calls) = primary
        .commands_during(post(&app.url("/ingest"), &event(1)))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        queue_length(&replica, &queue).await,
        1,
        "answered 200 only once the replica holds the event"
    );
    assert_eq!(
        calls.get("wait"),
        Some(&1),
        "one WAIT for the write: {calls:?}"
    );

    // A batch is one coalesced write: still one WAIT.
    let batch: Vec<Value> = (2..12).map(event).collect();
    let ((status, _), calls) = primary
        .commands_during(post(&app.url("/ingest"), &json!(batch)))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(calls.get("wait"), Some(&1), "{calls:?}");
    assert_eq!(queue_length(&replica, &queue).await, 11);

    // The replica is gone: the write reaches the primary but is not confirmed, so the
    // sender is told to retry (it may queue the event twice, never lose it).
    drop(replica);
    let started = std::time::Instant::now();
    let (status, body) = post(&app.url("/ingest"), &event(12)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("replicas")),
        "{body}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "answered within the WAIT timeout, not a hang"
    );
    assert_eq!(
        counter(&app.registry, "mutt_ingest_replication_timeouts_total"),
        1.0
    );
    assert_eq!(queue_length(&primary, &queue).await, 12);
    app.stop().await;
}

#[tokio::test]
async fn by_default_no_wait_is_sent() {
    let server = PrivateRedis::start().await;
    let redis = server.test_redis().await;
    let app = start(config(&redis, &[])).await;
    let ((status, _), calls) = server
        .commands_during(post(&app.url("/ingest"), &event(1)))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(calls.get("wait"), None, "{calls:?}");
    assert_eq!(calls.get("lpush"), Some(&1), "{calls:?}");
    app.stop().await;
}

#[tokio::test]
async fn tcp_syslog_is_written_again_until_a_replica_holds_it() {
    use tokio::io::AsyncWriteExt;
    let Replicated {
        primary,
        replica,
        queue,
        app,
    } = replicated(200).await;
    // No replica: the line reaches the primary but is not confirmed, so it is written
    // again and again (queued more than once, never lost) while the replica is away.
    drop(replica);
    let mut stream = tokio::net::TcpStream::connect(app.tcp.expect("tcp"))
        .await
        .expect("connect");
    stream
        .write_all(b"<13>Nov 22 10:00:00 core-rtr1 kept through a replica outage\n")
        .await
        .expect("write");
    shared::testing::eventually(
        std::time::Duration::from_secs(10),
        "the line written twice, unconfirmed",
        || async { (queue_length(&primary, &queue).await >= 2).then_some(()) },
    )
    .await;
    // Counted once each unconfirmed write's WAIT has timed out.
    shared::testing::eventually(
        std::time::Duration::from_secs(5),
        "the unconfirmed writes counted",
        || async {
            (counter(&app.registry, "mutt_ingest_replication_timeouts_total") >= 2.0).then_some(())
        },
    )
    .await;
    // A replica again: the next write is confirmed, and writing stops.
    let replica = PrivateRedis::start().await;
    replica.replicate(&primary).await;
    let settled = shared::testing::eventually(
        std::time::Duration::from_secs(15),
        "the writes to stop once confirmed",
        || async {
            let before = queue_length(&primary, &queue).await;
            tokio::time::sleep(std::time::Duration::from_secs(3)).await;
            let after = queue_length(&primary, &queue).await;
            (before == after).then_some(after)
        },
    )
    .await;
    assert!(settled >= 2);
    assert_eq!(
        queue_length(&replica, &queue).await,
        settled,
        "the replica holds every copy"
    );
    app.stop().await;
}
