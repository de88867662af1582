//! Key management end to end: a key revoked in the web UI's API stops working at the
//! ingestor within 10 s, and a rotated key's successor works at once while the old key
//! keeps working through its grace period.

mod support;

use serde_json::{Value, json};
use shared::testing::{TestDatabase, TestRedis, eventually};
use std::time::{Duration, Instant};
use support::*;

async fn ingest_with(sandbox: &Sandbox, key: &str) -> u16 {
    sandbox
        .client
        .post(format!("http://{}/ingest", sandbox.http))
        .header("X-API-KEY", key)
        .json(&event("core-r1", "%LINK-3-UPDOWN: LINK-DOWN on Gi0/1"))
        .send()
        .await
        .expect("ingest")
        .status()
        .as_u16()
}

async fn call(sandbox: &Sandbox, method: reqwest::Method, path: &str, body: Value) -> Value {
    let response = sandbox
        .api(method, path)
        .json(&body)
        .send()
        .await
        .expect("api");
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    response.json().await.expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_key_stops_at_the_ingestor_within_ten_seconds_and_a_rotated_one_hands_over() {
    let db = TestDatabase::new().await;
    let sandbox = Sandbox::start_with(TestRedis::new().await, db, false, Settings::default()).await;
    let made = call(
        &sandbox,
        reqwest::Method::POST,
        "/api/v2/keys",
        json!({"name": "relay", "scopes": ["ingest"]}),
    )
    .await;
    let old = made["key"].as_str().expect("key").to_owned();
    assert_eq!(ingest_with(&sandbox, &old).await, 200);

    let rotated = call(
        &sandbox,
        reqwest::Method::POST,
        "/api/v2/keys/relay/rotate",
        json!({"grace_seconds": 3600}),
    )
    .await;
    let new = rotated["key"].as_str().expect("key").to_owned();
    assert_eq!(
        ingest_with(&sandbox, &new).await,
        200,
        "the new key works at once"
    );
    assert_eq!(
        ingest_with(&sandbox, &old).await,
        200,
        "the old one through its grace"
    );

    let revoked_at = Instant::now();
    call(
        &sandbox,
        reqwest::Method::DELETE,
        "/api/v2/keys/relay",
        json!({}),
    )
    .await;
    eventually(Duration::from_secs(10), "both keys refused", || async {
        (ingest_with(&sandbox, &new).await == 401 && ingest_with(&sandbox, &old).await == 401)
            .then_some(())
    })
    .await;
    println!(
        "refused {:.1}s after the revocation",
        revoked_at.elapsed().as_secs_f64()
    );
    sandbox.stop().await;
}
