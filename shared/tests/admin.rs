//! The admin listener: liveness, readiness against real Redis, and metrics.

use shared::process::admin::{AdminServer, ReadyCheck, redis_and_db_ready};
use shared::testing::{TestDatabase, TestRedis};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

const ANY_PORT: ([u8; 4], u16) = ([127, 0, 0, 1], 0);

async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    shared::tls::install_crypto_provider();
    let response = reqwest::get(format!("http://{addr}{path}"))
        .await
        .expect("request");
    (
        response.status().as_u16(),
        response.text().await.expect("body"),
    )
}

#[tokio::test]
async fn both_ports_answer_health_ready_and_metrics() {
    let redis = TestRedis::new().await;
    let db = TestDatabase::new().await;
    let registry = shared::process::metrics::new_registry();
    let counter = prometheus::IntCounter::new("mutt_test_things_total", "things").expect("counter");
    shared::process::metrics::register(&registry, &counter).inc_by(3);
    let ready = redis_and_db_ready(redis.conn().await, Some(db.pool.clone()));
    let server = AdminServer::bind(
        &[SocketAddr::from(ANY_PORT), SocketAddr::from(ANY_PORT)],
        "mutt-test",
        registry,
        ready,
    )
    .expect("bind");
    let addrs = server.addrs().to_vec();
    assert_eq!(addrs.len(), 2);
    let stop = CancellationToken::new();
    let running = tokio::spawn(server.run_until(stop.clone()));

    for addr in addrs {
        let (status, body) = get(addr, "/health").await;
        assert_eq!(status, 200);
        assert!(body.contains(r#""service":"mutt-test""#), "{body}");
        assert_eq!(get(addr, "/ready").await.0, 200);
        let (status, metrics) = get(addr, "/metrics").await;
        assert_eq!(status, 200);
        assert!(metrics.contains("mutt_test_things_total 3"), "{metrics}");
        assert!(
            metrics.contains("process_resident_memory_bytes"),
            "{metrics}"
        );
    }
    stop.cancel();
    running.await.expect("join").expect("clean stop");
}

#[tokio::test]
async fn ready_is_503_with_the_reason_when_a_dependency_fails() {
    let failing: ReadyCheck =
        Arc::new(|| Box::pin(async { Err("redis: connection refused".to_owned()) }));
    let server = AdminServer::bind(
        &[SocketAddr::from(ANY_PORT)],
        "mutt-test",
        prometheus::Registry::new(),
        failing,
    )
    .expect("bind");
    let addr = server.addrs()[0];
    let stop = CancellationToken::new();
    let running = tokio::spawn(server.run_until(stop.clone()));
    let (status, body) = get(addr, "/ready").await;
    assert_eq!(status, 503);
    assert!(body.contains("connection refused"), "{body}");
    assert_eq!(
        get(addr, "/health").await.0,
        200,
        "liveness does not depend on dependencies"
    );
    stop.cancel();
    running.await.expect("join").expect("clean stop");
}
