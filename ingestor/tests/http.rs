//! The HTTP intake against a real Redis: every v2.5 status path, batches, NDJSON.

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use shared::testing::{TestRedis, eventually};
use std::time::Duration;
use support::{KEY, config, queued, start};

fn event() -> Value {
    json!({"hostname": "core-rtr1", "message": "%LINK-3-UPDOWN: Gi0/1 down", "timestamp": "2026-11-22T10:00:00Z",
           "syslog_severity": "Critical", "site": "dc1", "_retry_count": 7})
}

async fn post(
    url: &str,
    body: impl Into<reqwest::Body>,
    content_type: &str,
    key: Option<&str>,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("content-type", content_type)
        .body(body);
    if let Some(key) = key {
        request = request.header("x-api-key", key);
    }
    let response = request.send().await.expect("request");
    let (status, headers) = (response.status(), response.headers().clone());
    (
        status,
        headers,
        response.json().await.unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn a_valid_event_is_queued_stamped_and_counted() {
    let redis = TestRedis::new().await;
    let app = start(config(&redis, &[])).await;
    let client = reqwest::Client::new();
    let response = client
        .post(app.url("/ingest"))
        .header("x-api-key", KEY)
        .header("x-correlation-id", "corr-42")
        .json(&event())
        .send()
        .await
        .expect("request");
    // The dashboard buckets the write fell into (the counters are written up to a second
    // later, into the buckets of the write's time).
    let counted_at = chrono::Utc::now();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["status"], "queued");
    assert_eq!(body["correlation_id"], "corr-42");

    let items = queued(&redis).await;
    assert_eq!(items.len(), 1);
    let item = &items[0];
    assert_eq!(item["_correlation_id"], "corr-42");
    assert_eq!(item["_event_id"], body["event_id"]);
    assert!(
        uuid::Uuid::parse_str(item["_event_id"].as_str().expect("id"))
            .expect("uuid")
            .get_version_num()
            == 7
    );
    assert_eq!(
        item["syslog_severity"], 2,
        "severity name stored as its number"
    );
    assert_eq!(item["site"], "dc1", "unknown fields kept");
    assert!(
        item.get("_retry_count").is_none(),
        "client cannot set system fields"
    );

    let conn = redis.conn().await;
    for (key, ttl) in redis.keys.ingest_counters(counted_at) {
        let (count, remaining): (Option<i64>, i64) =
            eventually(Duration::from_secs(5), &format!("{key} written"), || {
                let (mut conn, key) = (conn.clone(), key.clone());
                async move {
                    let read: (Option<i64>, i64) = redis::pipe()
                        .get(&key)
                        .ttl(&key)
                        .query_async(&mut conn)
                        .await
                        .expect("counter");
                    read.0.is_some().then_some(read)
                }
            })
            .await;
        assert_eq!(count, Some(1), "{key}");
        assert!(
            remaining > ttl - 60 && remaining <= ttl,
            "{key} ttl {remaining}"
        );
    }
    for path in ["/api/v1/ingest", "/api/v2/ingest"] {
        assert_eq!(
            post(
                &app.url(path),
                event().to_string(),
                "application/json",
                Some(KEY)
            )
            .await
            .0,
            StatusCode::OK,
            "{path}"
        );
    }
    assert_eq!(queued(&redis).await.len(), 3);
    app.stop().await;
}

#[tokio::test]
async fn a_missing_or_wrong_key_is_401_and_queues_nothing() {
    let redis = TestRedis::new().await;
    let app = start(config(&redis, &[])).await;
    for key in [None, Some("wrong"), Some("")] {
        let (status, _, body) = post(
            &app.url("/ingest"),
            event().to_string(),
            "application/json",
            key,
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{key:?}");
        assert_eq!(body["message"], "Unauthorized");
    }
    assert_eq!(
        post(&app.url("/nowhere"), "", "application/json", None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        post(&app.url("/nowhere"), "", "application/json", Some(KEY))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    for path in ["/health", "/metrics", "/", "/openapi.json"] {
        assert_eq!(
            reqwest::get(app.url(path)).await.expect("get").status(),
            StatusCode::OK,
            "{path} needs no key"
        );
    }
    assert!(queued(&redis).await.is_empty());
    app.stop().await;
}

/// Found by schemathesis (issue #17): a method a path does not take fell through to the
/// unknown-path answer (401 or 404); v2.5's Flask answered 405, as this does now.
#[tokio::test]
async fn a_method_a_path_does_not_take_is_a_405_naming_the_one_it_does() {
    let redis = TestRedis::new().await;
    let app = start(config(&redis, &[])).await;
    let client = reqwest::Client::new();
    for (method, path, allow) in [
        (reqwest::Method::GET, "/ingest", "POST"),
        (reqwest::Method::TRACE, "/api/v2/ingest", "POST"),
        (reqwest::Method::PUT, "/api/v1/ingest", "POST"),
        (reqwest::Method::POST, "/", "GET"),
        (reqwest::Method::DELETE, "/ready", "GET"),
    ] {
        for key in [None, Some(KEY)] {
            let mut request = client.request(method.clone(), app.url(path));
            if let Some(key) = key {
                request = request.header("x-api-key", key);
            }
            let response = request.send().await.expect("request");
            assert_eq!(
                response.status(),
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}"
            );
            assert_eq!(response.headers()["allow"], allow, "{method} {path}");
        }
    }
    assert!(queued(&redis).await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn bad_input_is_400_or_413_with_a_message_and_changes_nothing() {
    let redis = TestRedis::new().await;
    let app = start(config(&redis, &[("INGEST_MAX_BODY_BYTES", "2048")])).await;
    let url = app.url("/ingest");
    let mut missing = event();
    missing.as_object_mut().expect("object").remove("hostname");
    let mut empty = event();
    empty["message"] = json!("");
    let mut typed = event();
    typed["hostname"] = json!(12);
    let cases: Vec<(Vec<u8>, StatusCode, &str)> = vec![
        (
            b"{not json".to_vec(),
            StatusCode::BAD_REQUEST,
            "Invalid JSON",
        ),
        (
            b"42".to_vec(),
            StatusCode::BAD_REQUEST,
            "expected an object",
        ),
        (
            b"null".to_vec(),
            StatusCode::BAD_REQUEST,
            "expected an object",
        ),
        (b"\xff\xfe{}".to_vec(), StatusCode::BAD_REQUEST, "UTF-8"),
        (
            missing.to_string().into_bytes(),
            StatusCode::BAD_REQUEST,
            r#"Missing required fields: ["hostname"]"#,
        ),
        (
            empty.to_string().into_bytes(),
            StatusCode::BAD_REQUEST,
            "'message': must not be empty",
        ),
        (
            typed.to_string().into_bytes(),
            StatusCode::BAD_REQUEST,
            "'hostname': expected a string",
        ),
        (
            vec![b' '; 4096],
            StatusCode::PAYLOAD_TOO_LARGE,
            "INGEST_MAX_BODY_BYTES",
        ),
    ];
    for (body, status, message) in cases {
        let (got, _, json) = post(&url, body, "application/json", Some(KEY)).await;
        assert_eq!(got, status, "{json}");
        assert_eq!(json["status"], "error");
        assert!(
            json["message"].as_str().expect("message").contains(message),
            "{json}"
        );
    }
    let mut long = event();
    long["message"] = json!("x".repeat(1500));
    let small = start(config(&redis, &[("INGEST_MAX_MESSAGE_BYTES", "1024")])).await;
    let (got, _, json) = post(
        &small.url("/ingest"),
        long.to_string(),
        "application/json",
        Some(KEY),
    )
    .await;
    assert_eq!(got, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        json["message"]
            .as_str()
            .expect("message")
            .contains("INGEST_MAX_MESSAGE_BYTES")
    );
    assert!(
        queued(&redis).await.is_empty(),
        "nothing queued by bad input"
    );
    app.stop().await;
    small.stop().await;
}

#[tokio::test]
async fn a_batch_queues_its_valid_items_once_and_reports_the_rest() {
    let redis = TestRedis::new().await;
    let app = start(config(&redis, &[])).await;
    let mut bad = event();
    bad["timestamp"] = json!("soon");
    let body = json!([event(), bad, "text", event()]);
    let (status, _, json) = post(
        &app.url("/ingest"),
        body.to_string(),
        "application/json",
        Some(KEY),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json["queued"], 2);
    let rejected = json["rejected"].as_array().expect("rejected");
    assert_eq!(
        rejected
            .iter()
            .map(|r| r["index"].as_u64().expect("index"))
            .collect::<Vec<_>>(),
        [1, 2]
    );
    assert!(
        rejected[0]["error"]
            .as_str()
            .expect("error")
            .contains("timestamp")
    );
    assert_eq!(queued(&redis).await.len(), 2);

    let (status, _, json) = post(
        &app.url("/ingest"),
        json!([bad]).to_string(),
        "application/json",
        Some(KEY),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "nothing valid: 400");
    assert_eq!(json["queued"], 0);
    assert_eq!(queued(&redis).await.len(), 2);
    app.stop().await;
}

#[tokio::test]
async fn ndjson_as_rsyslog_omhttp_posts_it_is_accepted_with_either_content_type() {
    let redis = TestRedis::new().await;
    let app = start(config(&redis, &[])).await;
    let lines: String = (0..3)
        .map(|i| {
            format!(
                "{}\n",
                json!({"hostname": format!("h{i}"), "message": "m", "timestamp": 1_763_805_600})
            )
        })
        .collect();
    for content_type in ["application/x-ndjson", "application/json"] {
        let (status, _, json) = post(
            &app.url("/api/v2/ingest"),
            lines.clone(),
            content_type,
            Some(KEY),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{content_type}: {json}");
        assert_eq!(json["queued"], 3);
    }
    let hosts: Vec<Value> = queued(&redis)
        .await
        .iter()
        .map(|e| e["hostname"].clone())
        .collect();
    assert_eq!(hosts, ["h0", "h1", "h2", "h0", "h1", "h2"], "order kept");
    app.stop().await;
}

#[tokio::test]
async fn at_the_queue_cap_ingest_is_503_with_retry_after_until_it_drains() {
    let redis = TestRedis::new().await;
    let mut conn = redis.conn().await;
    let _: () = redis::cmd("SET")
        .arg(redis.keys.config("max_ingest_queue_size"))
        .arg(2)
        .query_async(&mut conn)
        .await
        .expect("SET");
    let app = start(config(&redis, &[("DYNAMIC_CONFIG_ENABLED", "true")])).await;
    let url = app.url("/ingest");
    for _ in 0..2 {
        assert_eq!(
            post(&url, event().to_string(), "application/json", Some(KEY))
                .await
                .0,
            StatusCode::OK
        );
    }
    let metrics_url = app.url("/metrics");
    eventually(
        Duration::from_secs(5),
        "the sampled depth to reach the cap",
        || {
            let url = metrics_url.clone();
            async move {
                let text = reqwest::get(url).await.ok()?.text().await.ok()?;
                text.lines()
                    .any(|l| l == "mutt_ingest_queue_depth 2")
                    .then_some(())
            }
        },
    )
    .await;
    let (status, headers, json) =
        post(&url, event().to_string(), "application/json", Some(KEY)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(json["message"], "Service Unavailable - queue full");
    assert_eq!(json["queue_limit"], 2);
    assert!(json["queue_depth"].as_u64().expect("depth") >= 2);
    assert!(headers.contains_key("retry-after"));
    assert_eq!(
        queued(&redis).await.len(),
        2,
        "the refused event was not queued"
    );

    let _: () = redis::cmd("DEL")
        .arg(&redis.keys.ingest_queue)
        .query_async(&mut conn)
        .await
        .expect("DEL");
    eventually(
        Duration::from_secs(5),
        "ingest to resume once the queue drained",
        || {
            let url = url.clone();
            async move {
                (post(&url, event().to_string(), "application/json", Some(KEY))
                    .await
                    .0
                    == StatusCode::OK)
                    .then_some(())
            }
        },
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn over_the_shared_rate_limit_ingest_is_429_with_retry_after() {
    let redis = TestRedis::new().await;
    let app = start(config(
        &redis,
        &[
            ("RATE_LIMIT_ENABLED", "true"),
            ("INGEST_MAX_RATE", "2"),
            ("INGEST_RATE_WINDOW", "60"),
        ],
    ))
    .await;
    let url = app.url("/ingest");
    assert_eq!(
        post(&url, event().to_string(), "application/json", Some(KEY))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        post(&url, event().to_string(), "application/json", Some(KEY))
            .await
            .0,
        StatusCode::OK
    );
    let (status, headers, json) =
        post(&url, event().to_string(), "application/json", Some(KEY)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(json["message"], "Too Many Requests - rate limit exceeded");
    let retry: u64 = headers["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((55..=60).contains(&retry), "{retry}");
    assert_eq!(json["retry_after"], retry);
    let metrics = shared::process::metrics::render(&app.registry);
    assert!(
        metrics.contains("mutt_ingest_rate_limit_hits_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"mutt_ingest_requests_total{reason="rate_limit",status="fail"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"mutt_ingest_requests_total{reason="",status="success"} 2"#),
        "{metrics}"
    );
    assert_eq!(queued(&redis).await.len(), 2);
    app.stop().await;
}

#[tokio::test]
async fn with_redis_gone_ingest_is_503_quickly_not_a_hang() {
    // A Redis of this test's own, so that stopping it disturbs no other test.
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
        probe.local_addr().expect("addr").port()
    };
    let mut server = std::process::Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("redis-server is installed (scripts/infra installs it)");
    let redis = TestRedis::new().await;
    let mut cfg = config(&redis, &[]);
    cfg.redis.port = port;
    let connected = eventually(
        Duration::from_secs(10),
        "the private redis-server to answer",
        || {
            let cfg = cfg.clone();
            async move {
                shared::redis::connection::RedisConnector::connect(&cfg.redis)
                    .await
                    .ok()
                    .map(|_| ())
            }
        },
    );
    connected.await;
    let app = start(cfg).await;
    assert_eq!(
        post(
            &app.url("/ingest"),
            event().to_string(),
            "application/json",
            Some(KEY)
        )
        .await
        .0,
        StatusCode::OK
    );

    server.kill().expect("kill redis-server");
    server.wait().expect("reaped");
    let started = std::time::Instant::now();
    let (status, _, json) = post(
        &app.url("/ingest"),
        event().to_string(),
        "application/json",
        Some(KEY),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{json}");
    assert_eq!(json["message"], "Service Unavailable - Redis error");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "answered in {:?}",
        started.elapsed()
    );
    assert_eq!(
        reqwest::get(app.url("/ready")).await.expect("get").status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        reqwest::get(app.url("/health"))
            .await
            .expect("get")
            .status(),
        StatusCode::OK
    );
    app.stop().await;
}

#[tokio::test]
async fn named_keys_with_the_ingest_scope_are_accepted_and_others_refused() {
    use shared::store::api_keys::{KeyHolder, Scope, key_hash};
    let redis = TestRedis::new().await;
    // What `webui create-key` mirrors into Redis for the ingestor.
    let holder = |name: &str, scopes: Vec<Scope>| KeyHolder {
        name: name.into(),
        scopes,
    };
    shared::redis::api_key_mirror::publish(
        &mut redis.conn().await,
        &redis.keys,
        &[
            (
                key_hash("mutt_sender"),
                holder("syslog-relay", vec![Scope::Ingest]),
                None,
            ),
            (
                key_hash("mutt_operator"),
                holder("noc", vec![Scope::Read, Scope::Admin]),
                None,
            ),
            // Rotated keys: one still in its grace period, one past it.
            (
                key_hash("mutt_rotated_in_grace"),
                holder("relay-old", vec![Scope::Ingest]),
                Some(chrono::Utc::now() + chrono::Duration::minutes(5)),
            ),
            (
                key_hash("mutt_rotated_past_grace"),
                holder("relay-older", vec![Scope::Ingest]),
                Some(chrono::Utc::now() - chrono::Duration::seconds(1)),
            ),
        ],
    )
    .await
    .expect("publish");
    // Without INGEST_API_KEY: named keys only.
    let mut config = config(&redis, &[]);
    config.ingest_api_key = None;
    let app = start(config).await;
    let send = |key: &'static str| {
        let url = app.url("/ingest");
        async move {
            post(&url, event().to_string(), "application/json", Some(key))
                .await
                .0
        }
    };
    assert_eq!(send("mutt_sender").await, StatusCode::OK);
    assert_eq!(
        send("mutt_operator").await,
        StatusCode::UNAUTHORIZED,
        "admin is not ingest"
    );
    assert_eq!(send("mutt_unknown").await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        send(KEY).await,
        StatusCode::UNAUTHORIZED,
        "no static key configured"
    );
    assert_eq!(send("mutt_rotated_in_grace").await, StatusCode::OK);
    assert_eq!(
        send("mutt_rotated_past_grace").await,
        StatusCode::UNAUTHORIZED,
        "a rotated key stops at the end of its grace period"
    );
    assert_eq!(queued(&redis).await.len(), 2);
    app.stop().await;
}
